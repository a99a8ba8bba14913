// fixed6: the log's "%f" numbers by integer arithmetic must be the very
// characters std::to_chars(fixed, 6) gives, rounding ties to even included.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <random>
#include <string>

#include "log_format.hpp"

namespace {

std::string expected(double v) {
  char b[400];
  return std::string(b, std::to_chars(b, b + sizeof b, v, std::chars_format::fixed, 6).ptr);
}
std::string fast(double v) {
  char b[400];
  return std::string(b, netloom::logs::fixed6(b, b + sizeof b, v));
}

TEST(LogFormat, Fixed6EqualsToCharsOnTimesAndRandomValues) {
  std::mt19937_64 rng(20261123);
  std::uniform_int_distribution<std::uint64_t> ns(1'000'000'000'000'000'000ull, 2'000'000'000'000'000'000ull);
  std::uniform_real_distribution<double> small(0, 5000), wide(0, 9.3e12);
  std::uniform_int_distribution<int> ex(-60, 44);
  for (int i = 0; i < 300000; ++i) {
    const double t = static_cast<double>(ns(rng)) / 1e6;  // an absolute time in ms, as the logs have it
    ASSERT_EQ(fast(t), expected(t)) << t;
    const double s = small(rng);
    ASSERT_EQ(fast(s), expected(s)) << s;
    const double w = wide(rng);
    ASSERT_EQ(fast(w), expected(w)) << w;
    const double e = std::ldexp(small(rng), ex(rng));
    ASSERT_EQ(fast(e), expected(e)) << e;
  }
}

TEST(LogFormat, Fixed6RoundsExactTiesToEven) {
  // odd/128 * 10^6 ends in exactly .5: 1/128 = 0.0078125 prints 0.007812,
  // 3/128 = 0.0234375 prints 0.023438.
  EXPECT_EQ(fast(1.0 / 128), "0.007812");
  EXPECT_EQ(fast(3.0 / 128), "0.023438");
  for (int n = 1; n < 200000; n += 2) {
    const double v = n / 128.0;
    ASSERT_EQ(fast(v), expected(v)) << n;
    const double u = n / 1024.0;  // ties at the 7th decimal and beyond
    ASSERT_EQ(fast(u), expected(u)) << n;
  }
}

TEST(LogFormat, Fixed6EdgeValues) {
  for (double v : {0.0, -0.0, 1e-300, 4.9e-324, 0.0000005, 0.0000015, 1.0, 999999.9999995, 9.2e12, 9.3e12,
                   1e15, 4503599627370496.0, 1e300, -1.5, -1705315499123.456})
    EXPECT_EQ(fast(v), expected(v)) << v;
  EXPECT_EQ(fast(0.0), "0.000000");
  EXPECT_EQ(fast(1705315499123.456789), expected(1705315499123.456789));
}

}  // namespace
