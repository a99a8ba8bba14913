// parse_param_value / format_param_value / param_type_name: good and bad
// values for every type, boundaries, overflow, exact error messages.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "composition/composition.hpp"

using netloom::ConfigError;
using netloom::ParamSpec;
using netloom::ParamType;
using netloom::ParamValue;
using netloom::core::format_param_value;
using netloom::core::param_type_name;
using netloom::core::parse_param_value;

namespace {

ParamSpec spec(const char* name, ParamType t) {
  ParamSpec s;
  s.name = name;
  s.type = t;
  return s;
}

// The ConfigError message, or "" when parsing succeeds.
std::string error_of(const ParamSpec& s, std::string_view text) {
  try {
    parse_param_value(s, text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kSec = 1'000'000'000;

}  // namespace

TEST(ParamTypeName, AllTypes) {
  EXPECT_EQ(param_type_name(ParamType::boolean), "bool");
  EXPECT_EQ(param_type_name(ParamType::integer), "int");
  EXPECT_EQ(param_type_name(ParamType::real), "real");
  EXPECT_EQ(param_type_name(ParamType::string), "string");
  EXPECT_EQ(param_type_name(ParamType::duration), "duration");
  EXPECT_EQ(param_type_name(ParamType::size), "size");
  EXPECT_EQ(param_type_name(ParamType::choice), "choice");
}

TEST(ParamParse, BoolGood) {
  auto s = spec("b", ParamType::boolean);
  for (const char* t : {"true", "TRUE", "True", "yes", "Yes", "on", "ON", "1", " true "}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(parse_param_value(s, t), ParamValue(true));
  }
  for (const char* t : {"false", "FALSE", "no", "NO", "off", "Off", "0", "\tno\n"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(parse_param_value(s, t), ParamValue(false));
  }
}

TEST(ParamParse, BoolBad) {
  auto s = spec("b", ParamType::boolean);
  EXPECT_EQ(error_of(s, "maybe"),
            "parameter 'b': 'maybe' is not a boolean (use true/false, yes/no, on/off or 1/0)");
  for (const char* t : {"", "2", "tru", "yess", "y", "n", "10", "-1"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'b': '" + std::string(t) +
                                  "' is not a boolean (use true/false, yes/no, on/off or 1/0)");
  }
}

TEST(ParamParse, IntGood) {
  auto s = spec("x", ParamType::integer);
  struct {
    const char* text;
    std::int64_t v;
  } cases[] = {{"0", 0},
               {"42", 42},
               {"-42", -42},
               {"+7", 7},
               {"007", 7},
               {"0x10", 16},
               {"0XfF", 255},
               {"-0x10", -16},
               {" 12 ", 12},
               {"9223372036854775807", kMax},
               {"-9223372036854775808", kMin},
               {"0x7fffffffffffffff", kMax},
               {"-0x8000000000000000", kMin}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_param_value(s, c.text), ParamValue(c.v));
  }
}

TEST(ParamParse, IntBad) {
  auto s = spec("x", ParamType::integer);
  EXPECT_EQ(error_of(s, "abc"), "parameter 'x': 'abc' is not an integer");
  for (const char* t :
       {"", "12abc", "1.5", "0x", "--1", "+-1", "-+1", "1 2", "0x-1", "0xg", "1e3", "0b101", "12 kB"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'x': '" + std::string(t) + "' is not an integer");
  }
  for (const char* t : {"9223372036854775808", "-9223372036854775809", "0x8000000000000000",
                        "99999999999999999999999", "0x10000000000000000"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'x': '" + std::string(t) + "' is outside the 64-bit integer range");
  }
  // overflow followed by junk is junk
  EXPECT_EQ(error_of(s, "99999999999999999999x"), "parameter 'x': '99999999999999999999x' is not an integer");
}

TEST(ParamParse, IntRange) {
  auto s = spec("snaplen", ParamType::integer).range(64, 65535);
  EXPECT_EQ(parse_param_value(s, "64"), ParamValue(std::int64_t{64}));
  EXPECT_EQ(parse_param_value(s, "65535"), ParamValue(std::int64_t{65535}));
  EXPECT_EQ(error_of(s, "65536"), "parameter 'snaplen': '65536' is above the maximum 65535");
  EXPECT_EQ(error_of(s, "70000"), "parameter 'snaplen': '70000' is above the maximum 65535");
  EXPECT_EQ(error_of(s, "63"), "parameter 'snaplen': '63' is below the minimum 64");
  EXPECT_EQ(error_of(s, "-1"), "parameter 'snaplen': '-1' is below the minimum 64");
  auto lo = spec("n", ParamType::integer).at_least(1);
  EXPECT_EQ(parse_param_value(lo, "9223372036854775807"), ParamValue(kMax));
  EXPECT_EQ(error_of(lo, "0"), "parameter 'n': '0' is below the minimum 1");
}

TEST(ParamParse, RealGood) {
  auto s = spec("r", ParamType::real);
  struct {
    const char* text;
    double v;
  } cases[] = {{"1.5", 1.5}, {"-2", -2.0},   {"+3.25", 3.25}, {"1e3", 1000.0}, {".5", 0.5},
               {"0", 0.0},   {" 2.5 ", 2.5}, {"1E-2", 0.01},  {"1e-400", 0.0}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_param_value(s, c.text), ParamValue(c.v));
  }
}

TEST(ParamParse, RealBad) {
  auto s = spec("r", ParamType::real);
  for (const char* t : {"abc", "", "1.5x", "1e", "--1", "++1", "+-1", "1,5", "0x1p3", "1 2"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'r': '" + std::string(t) + "' is not a number");
  }
  for (const char* t : {"nan", "NaN", "inf", "-inf", "infinity"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'r': '" + std::string(t) + "' is not a finite number");
  }
  EXPECT_EQ(error_of(s, "1e999"), "parameter 'r': '1e999' is outside the range of a real number");
  EXPECT_EQ(error_of(s, "-1e999"), "parameter 'r': '-1e999' is outside the range of a real number");
}

TEST(ParamParse, RealRange) {
  auto s = spec("ratio", ParamType::real).range(0, 1);
  EXPECT_EQ(parse_param_value(s, "0"), ParamValue(0.0));
  EXPECT_EQ(parse_param_value(s, "1"), ParamValue(1.0));
  EXPECT_EQ(error_of(s, "1.5"), "parameter 'ratio': '1.5' is above the maximum 1");
  EXPECT_EQ(error_of(s, "-0.001"), "parameter 'ratio': '-0.001' is below the minimum 0");
  auto f = spec("f", ParamType::real).range(0.25, 2.5);
  EXPECT_EQ(error_of(f, "0.2"), "parameter 'f': '0.2' is below the minimum 0.25");
  EXPECT_EQ(error_of(f, "3"), "parameter 'f': '3' is above the maximum 2.5");
}

TEST(ParamParse, DurationGood) {
  auto s = spec("t", ParamType::duration);
  struct {
    const char* text;
    std::int64_t ns;
  } cases[] = {{"300s", 300 * kSec},
               {"300", 300 * kSec},
               {"0", 0},
               {"-0", 0},
               {"10ms", 10'000'000},
               {"250us", 250'000},
               {"5ns", 5},
               {"1.5m", 90 * kSec},
               {"2h", 7200 * kSec},
               {"1d", 86400 * kSec},
               {"0.5", kSec / 2},
               {".5s", kSec / 2},
               {"2.", 2 * kSec},
               {"10 ms", 10'000'000},
               {" 3s ", 3 * kSec},
               {"+4s", 4 * kSec},
               {"1.0000000004s", kSec},      // rounded to the nearest ns
               {"1.0000000005s", kSec + 1},  //
               {"0.0000000000000000000001s", 0},
               {"106751d", 106751LL * 86400 * kSec},
               {"9223372036854775807ns", kMax},
               {"00000000000000000000001s", kSec}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_param_value(s, c.text), ParamValue(c.ns));
  }
}

TEST(ParamParse, DurationBad) {
  auto s = spec("t", ParamType::duration);
  for (const char* t :
       {"", "s", "5x", "5 parsecs", "1..5s", "1e3s", "5S", "5sec", "ms10", "1.5.2", "abc", "--1s", "5s5"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t),
              "parameter 't': '" + std::string(t) +
                  "' is not a duration (a number with an optional unit ns, us, ms, s, m, h or d)");
  }
  EXPECT_EQ(error_of(s, "-1s"), "parameter 't': '-1s' is a negative duration");
  EXPECT_EQ(error_of(s, "-0.5"), "parameter 't': '-0.5' is a negative duration");
  for (const char* t : {"106752d", "9223372036854775808ns", "99999999999999999999s", "9223372037s"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t),
              "parameter 't': '" + std::string(t) + "' is too long (the limit is about 292 years)");
  }
}

TEST(ParamParse, DurationRangeInSeconds) {
  auto s = spec("timeout", ParamType::duration).range(1, 3600);
  EXPECT_EQ(parse_param_value(s, "1s"), ParamValue(kSec));
  EXPECT_EQ(parse_param_value(s, "1h"), ParamValue(3600 * kSec));
  EXPECT_EQ(parse_param_value(s, "60m"), ParamValue(3600 * kSec));
  EXPECT_EQ(error_of(s, "0.5s"), "parameter 'timeout': '0.5s' is below the minimum 1s");
  EXPECT_EQ(error_of(s, "999ms"), "parameter 'timeout': '999ms' is below the minimum 1s");
  EXPECT_EQ(error_of(s, "2h"), "parameter 'timeout': '2h' is above the maximum 3600s");
  EXPECT_EQ(error_of(s, "3600.001"), "parameter 'timeout': '3600.001' is above the maximum 3600s");
  auto ms = spec("tick", ParamType::duration).range(0.5, 1.25);
  EXPECT_EQ(error_of(ms, "100ms"), "parameter 'tick': '100ms' is below the minimum 500ms");
  EXPECT_EQ(error_of(ms, "2s"), "parameter 'tick': '2s' is above the maximum 1250ms");
}

TEST(ParamParse, SizeGood) {
  auto s = spec("sz", ParamType::size);
  constexpr std::int64_t K = 1024;
  struct {
    const char* text;
    std::int64_t bytes;
  } cases[] = {{"0", 0},
               {"100", 100},
               {"100B", 100},
               {"1k", K},
               {"1K", K},
               {"1KiB", K},
               {"1KB", 1000},
               {"1kB", 1000},
               {"2M", 2 * K * K},
               {"64MiB", 64 * K * K},
               {"3MB", 3'000'000},
               {"3G", 3 * K * K * K},
               {"3GiB", 3 * K * K * K},
               {"3GB", 3'000'000'000},
               {"1T", K * K * K * K},
               {"1TiB", K * K * K * K},
               {"1TB", 1'000'000'000'000},
               {"1.5KiB", 1536},
               {"0.5k", 512},
               {"8 MiB", 8 * K * K},
               {"8388607T", 8388607 * K * K * K * K},
               {"9223372036854775807", kMax}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_EQ(parse_param_value(s, c.text), ParamValue(c.bytes));
  }
}

TEST(ParamParse, SizeBad) {
  auto s = spec("sz", ParamType::size);
  for (const char* t : {"", "1Q", "MiB", "1mb", "1m", "1kb", "1 k B", "8EiB", "1.2.3k", "abc", "1e3"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t),
              "parameter 'sz': '" + std::string(t) +
                  "' is not a size (a number with an optional unit B, k/K/KiB, M/MiB, G/GiB, T/TiB, "
                  "KB, MB, GB or TB)");
  }
  EXPECT_EQ(error_of(s, "-1k"), "parameter 'sz': '-1k' is a negative size");
  for (const char* t : {"8388608T", "9223372036854775808", "99999999999999999999"}) {
    SCOPED_TRACE(t);
    EXPECT_EQ(error_of(s, t), "parameter 'sz': '" + std::string(t) + "' is too large (the limit is 8EiB)");
  }
}

TEST(ParamParse, SizeRangeInBytes) {
  auto s = spec("buf", ParamType::size).range(1024, 1 << 30);
  EXPECT_EQ(parse_param_value(s, "1k"), ParamValue(std::int64_t{1024}));
  EXPECT_EQ(parse_param_value(s, "1G"), ParamValue(std::int64_t{1} << 30));
  EXPECT_EQ(error_of(s, "1000"), "parameter 'buf': '1000' is below the minimum 1KiB");
  EXPECT_EQ(error_of(s, "1KB"), "parameter 'buf': '1KB' is below the minimum 1KiB");
  EXPECT_EQ(error_of(s, "2G"), "parameter 'buf': '2G' is above the maximum 1GiB");
  auto odd = spec("o", ParamType::size).at_least(1500);
  EXPECT_EQ(error_of(odd, "1k"), "parameter 'o': '1k' is below the minimum 1500B");
}

TEST(ParamParse, Choice) {
  ParamSpec s = spec("mode", ParamType::string);
  s.one_of({"fast", "slow"});
  EXPECT_EQ(s.type, ParamType::choice);
  EXPECT_EQ(parse_param_value(s, "fast"), ParamValue(std::string("fast")));
  EXPECT_EQ(parse_param_value(s, " slow "), ParamValue(std::string("slow")));
  EXPECT_EQ(error_of(s, "Fast"), "parameter 'mode': 'Fast' is not one of: fast, slow");
  EXPECT_EQ(error_of(s, ""), "parameter 'mode': '' is not one of: fast, slow");
  ParamSpec none = spec("c", ParamType::choice);
  EXPECT_EQ(error_of(none, "x"), "parameter 'c': 'x' is not allowed (no choices are declared)");
}

TEST(ParamParse, StringKeptVerbatim) {
  auto s = spec("s", ParamType::string);
  EXPECT_EQ(parse_param_value(s, " a b "), ParamValue(std::string(" a b ")));
  EXPECT_EQ(parse_param_value(s, ""), ParamValue(std::string()));
  s.min = 1;  // ranges do not apply to strings
  EXPECT_EQ(parse_param_value(s, "zzz"), ParamValue(std::string("zzz")));
}

TEST(ParamFormat, Canonical) {
  EXPECT_EQ(format_param_value(spec("b", ParamType::boolean), ParamValue(true)), "true");
  EXPECT_EQ(format_param_value(spec("b", ParamType::boolean), ParamValue(false)), "false");
  EXPECT_EQ(format_param_value(spec("i", ParamType::integer), ParamValue(std::int64_t{-5})), "-5");
  EXPECT_EQ(format_param_value(spec("r", ParamType::real), ParamValue(0.1)), "0.1");
  EXPECT_EQ(format_param_value(spec("r", ParamType::real), ParamValue(2.0)), "2");
  auto d = spec("d", ParamType::duration);
  EXPECT_EQ(format_param_value(d, ParamValue(300 * kSec)), "300s");
  EXPECT_EQ(format_param_value(d, ParamValue(std::int64_t{0})), "0s");
  EXPECT_EQ(format_param_value(d, ParamValue(std::int64_t{250'000'000})), "250ms");
  EXPECT_EQ(format_param_value(d, ParamValue(std::int64_t{1'500'000'000})), "1500ms");
  EXPECT_EQ(format_param_value(d, ParamValue(std::int64_t{7'000})), "7us");
  EXPECT_EQ(format_param_value(d, ParamValue(std::int64_t{7'001})), "7001ns");
  EXPECT_EQ(format_param_value(d, ParamValue(86400 * kSec)), "86400s");
  auto z = spec("z", ParamType::size);
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{64} << 20)), "64MiB");
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{1024})), "1KiB");
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{1536})), "1536B");
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{1000})), "1000B");
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{0})), "0B");
  EXPECT_EQ(format_param_value(z, ParamValue(std::int64_t{3} << 40)), "3TiB");
  EXPECT_EQ(format_param_value(spec("s", ParamType::string), ParamValue(std::string("x y"))), "x y");
}

TEST(ParamFormat, WrongAlternativeThrows) {
  try {
    format_param_value(spec("d", ParamType::duration), ParamValue(std::string("5s")));
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_STREQ(e.what(), "parameter 'd': value does not hold a duration");
  }
  EXPECT_THROW(format_param_value(spec("b", ParamType::boolean), ParamValue(1.0)), ConfigError);
  EXPECT_THROW(format_param_value(spec("s", ParamType::string), ParamValue(true)), ConfigError);
}

TEST(ParamFormat, RoundTrip) {
  struct {
    ParamType type;
    const char* text;
  } cases[] = {{ParamType::boolean, "yes"},
               {ParamType::integer, "0x7f"},
               {ParamType::integer, "-9223372036854775808"},
               {ParamType::real, "0.1"},
               {ParamType::real, "-1e-300"},
               {ParamType::duration, "1.5m"},
               {ParamType::duration, "7ns"},
               {ParamType::duration, "3d"},
               {ParamType::size, "64MiB"},
               {ParamType::size, "1.5k"},
               {ParamType::size, "1TB"},
               {ParamType::string, " spaced "}};
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    auto s = spec("p", c.type);
    ParamValue v = parse_param_value(s, c.text);
    EXPECT_EQ(parse_param_value(s, format_param_value(s, v)), v);
  }
}

TEST(ParamParse, SdkBuilderDefaultsParse) {
  // The SDK builders write defaults as text; each must parse back to the value.
  EXPECT_EQ(parse_param_value(netloom::param<double>("r", 0.5, ""),
                              *netloom::param<double>("r", 0.5, "").default_text),
            ParamValue(0.5));
  auto i = netloom::param<int>("i", -3, "");
  EXPECT_EQ(parse_param_value(i, *i.default_text), ParamValue(std::int64_t{-3}));
  auto b = netloom::param<bool>("b", true, "");
  EXPECT_EQ(parse_param_value(b, *b.default_text), ParamValue(true));
  auto d = netloom::duration("d", "300s", "");
  EXPECT_EQ(parse_param_value(d, *d.default_text), ParamValue(300 * kSec));
  auto z = netloom::size("z", "64MiB", "");
  EXPECT_EQ(parse_param_value(z, *z.default_text), ParamValue(std::int64_t{64} << 20));
}
