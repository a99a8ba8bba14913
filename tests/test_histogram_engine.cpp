// The histogram engine (blocks/sinks/histo_*): Tstat's bins and index rule,
// the text and GLOBAL formats on hand-made histograms, bitrate
// pseudo-histograms, the -H parser (every keyword, errors with file:line),
// ADX text, and docs/histograms.md listing exactly the defined set.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "histo_adx.hpp"
#include "histo_config.hpp"
#include "histo_defs.hpp"
#include "histo_engine.hpp"
#include "netloom/error.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::histo;

// ------------------------------------------------------------ definitions

TEST(HistogramDefs, AtLeastFortyTstatHistogramsWithWholeBins) {
  EXPECT_GE(bases().size(), 40u);
  std::set<std::string> names;
  for (const Def& d : definitions()) {
    EXPECT_TRUE(names.insert(d.name).second) << "duplicate " << d.name;
    EXPECT_GT(d.bin, 0) << d.name;
    EXPECT_EQ((d.max - d.min) % d.bin, 0) << d.name;
    EXPECT_LE(d.name.size(), 39u) << d.name;  // Tstat's HISTO_NAME_MAXLEN
    EXPECT_EQ(definitions()[find(d.name)].name, d.name);
  }
  EXPECT_EQ(find("no_such_histogram"), definitions().size());
  // Spot checks against spec §8's list.
  const Def& ip_len_in = definitions()[find("ip_len_in")];
  EXPECT_EQ(std::tie(ip_len_in.min, ip_len_in.bin, ip_len_in.max), std::make_tuple(0L, 4L, 1504L));
  const Def& cl = definitions()[find("tcp_cl_b_l_out")];
  EXPECT_EQ(std::tie(cl.min, cl.bin, cl.max), std::make_tuple(0L, 50000L, 50000000L));
  EXPECT_TRUE(definitions()[find("tcp_bitrate_loc")].pseudo);
  EXPECT_EQ(definitions()[find("tcp_thru_s2c")].variant, 1u);
  EXPECT_EQ(instance(ip_ttl, kLoc), find("ip_ttl_loc"));
  EXPECT_EQ(instance(L4_flow_number), find("L4_flow_number"));
}

// docs/histograms.md: each table row starts with the histogram names in
// backticks, then min | bin | max. The set and the ranges must match.
TEST(HistogramDefs, DocListsExactlyTheDefinedSet) {
  const fs::path doc = fs::path(NETLOOM_SOURCE_ROOT) / "docs" / "histograms.md";
  std::ifstream in(doc);
  ASSERT_TRUE(in) << doc;
  std::map<std::string, std::tuple<long, long, long>> listed;
  const std::regex row(R"(^\|((?:\s*`[A-Za-z0-9_]+`)+)\s*\|\s*(-?\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|)");
  const std::regex name("`([A-Za-z0-9_]+)`");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (!std::regex_search(line, m, row)) continue;
    const std::string cell = m[1];
    const auto t = std::make_tuple(std::stol(m[2]), std::stol(m[3]), std::stol(m[4]));
    for (std::sregex_iterator it(cell.begin(), cell.end(), name), end; it != end; ++it)
      EXPECT_TRUE(listed.emplace((*it)[1], t).second) << "listed twice: " << (*it)[1];
  }
  std::map<std::string, std::tuple<long, long, long>> defined;
  for (const Def& d : definitions()) defined.emplace(d.name, std::make_tuple(d.min, d.bin, d.max));
  for (const auto& [n, t] : defined) {
    auto it = listed.find(n);
    if (it == listed.end()) {
      ADD_FAILURE() << n << " is defined but not in docs/histograms.md";
      continue;
    }
    EXPECT_EQ(it->second, t) << n << ": min | bin | max differ";
  }
  for (const auto& [n, t] : listed) EXPECT_TRUE(defined.count(n)) << n << " is documented but not defined";
}

// ---------------------------------------------------------------- engine

TEST(HistogramEngine, TstatSlotsIndexRuleAndTextFormat) {
  Histogram h("x", "a test histogram", 0, 10, 2);
  ASSERT_EQ(h.slots(), 5u);
  ASSERT_EQ(h.bins().size(), 8u);  // (max-min)/bin + 3
  for (double v : {-1.0, 0.0, 1.9, 2.0, 9.99, 10.0, 15.0}) h.add(v);
  h.add(4, 3);
  h.add(std::numeric_limits<double>::quiet_NaN());
  h.add(std::numeric_limits<double>::infinity());
  h.add(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(h.bins(), (std::vector<std::uint64_t>{1, 2, 1, 3, 0, 1, 2, 7}));
  EXPECT_EQ(h.text(),
            "#a test histogram\n"
            "#RANGE: min=0 bin_size=2 max=10\n"
            "-2 1\n0 2\n2 1\n4 3\n8 1\n10 2\n");
  // Running statistics of every value (out of range included, NaN/inf not).
  const std::vector<double> vals = {-1, 0, 1.9, 2, 9.99, 10, 15, 4, 4, 4};
  double mean = 0;
  for (double v : vals) mean += v;
  mean /= static_cast<double>(vals.size());
  double m2 = 0;
  for (double v : vals) m2 += (v - mean) * (v - mean);
  EXPECT_EQ(h.count(), 10u);
  EXPECT_NEAR(h.mean(), 4.989, 1e-12);
  EXPECT_NEAR(h.m2(), m2, 1e-9);
  EXPECT_EQ(h.vmin(), -1);
  EXPECT_EQ(h.vmax(), 15);
  const HistogramData d = h.data();
  EXPECT_EQ(d.bins, h.bins());
  EXPECT_EQ(d.count, 10u);
  EXPECT_FALSE(d.pseudo);
  EXPECT_EQ(std::tie(d.min, d.max, d.bin), std::make_tuple(0L, 10L, 2L));
  h.reset();
  EXPECT_EQ(h.text(), "#a test histogram\n#RANGE: min=0 bin_size=2 max=10\n");
  EXPECT_EQ(h.count(), 0u);
}

TEST(HistogramEngine, NegativeMinimumEdges) {
  Histogram h("n", "negative", -10, 10, 5);
  h.add(-10);    // first in-range bin, edge -10
  h.add(-10.5);  // underflow, printed at min - bin
  h.add(-0.1);   // bin [-5, 0)
  h.add(0);      // bin [0, 5)
  h.add(9.999);  // last bin, edge 5
  EXPECT_EQ(h.text(), "#negative\n#RANGE: min=-10 bin_size=5 max=10\n-15 1\n-10 1\n-5 1\n0 1\n5 1\n");
}

TEST(HistogramEngine, GlobalFormatWithSamplesPdfAndCdf) {
  Histogram h("x", "a test histogram", 0, 10, 2);
  for (double v : {-1.0, 0.0, 1.9, 2.0, 9.99, 10.0, 15.0}) h.add(v);
  h.add(4, 3);
  EXPECT_EQ(h.global_text(),
            "#a test histogram\n"
            "#RANGE: min=0 bin_size=2 max=10\n"
            "#SAMPLES: <min=1 valid=7 >max=2 tot=10\n"
            "-2 0.100000 0.100000\n"
            "0 0.200000 0.300000\n"
            "2 0.100000 0.400000\n"
            "4 0.300000 0.700000\n"
            "8 0.100000 0.800000\n"
            "10 0.200000 1.000000\n");
}

TEST(HistogramEngine, MergeEqualsAddingEverythingToOne) {
  Histogram a("x", "d", 0, 100, 10), b("x", "d", 0, 100, 10), all("x", "d", 0, 100, 10);
  for (int i = 0; i < 50; ++i) {
    const double v = (i * 37 % 113) - 5.5;
    (i % 3 ? a : b).add(v);
    all.add(v);
  }
  a.merge(b);
  EXPECT_EQ(a.bins(), all.bins());
  EXPECT_EQ(a.count(), all.count());
  EXPECT_NEAR(a.mean(), all.mean(), 1e-9);
  EXPECT_NEAR(a.m2(), all.m2(), 1e-6);
  EXPECT_EQ(a.vmin(), all.vmin());
  EXPECT_EQ(a.vmax(), all.vmax());
  Histogram other("x", "d", 0, 50, 10);
  EXPECT_THROW(a.merge(other), std::invalid_argument);
  EXPECT_THROW(Histogram("bad", "d", 0, 10, 3), std::invalid_argument);
}

TEST(HistogramEngine, BitratePseudoHistogram) {
  Histogram h("ip_bitrate_in", "IPv4 bitrate", 0, 4, 1, true);
  h.add_bytes(0, 1000);
  h.add_bytes(0, 500);
  h.add_bytes(3, 3000);
  h.add_bytes(9, 77);    // no such category: ignored
  h.finish_rates(2000);  // 2 s
  // bytes * 8000 / elapsed_ms: 1500 B in 2 s = 6000 bit/s.
  EXPECT_EQ(h.bins(), (std::vector<std::uint64_t>{0, 6000, 0, 0, 12000, 0, 0}));
  EXPECT_EQ(h.text(), "#IPv4 bitrate\n#RANGE: min=0 bin_size=1 max=4\n0 6000\n3 12000\n");
  EXPECT_TRUE(h.data().pseudo);
  h.finish_rates(3);  // truncated: 1500*8000/3 = 4,000,000; 3000*8000/3 = 8,000,000
  EXPECT_EQ(h.bins()[1], 4000000u);
  EXPECT_EQ(h.bins()[4], 8000000u);
  h.finish_rates(0);  // nothing observed: no rate
  EXPECT_EQ(h.text(), "#IPv4 bitrate\n#RANGE: min=0 bin_size=1 max=4\n");
  h.reset();
  h.finish_rates(1000);
  EXPECT_EQ(h.bins()[1], 0u);
}

// ------------------------------------------------------------ -H parser

namespace {
std::string error_of(const std::string& text) {
  try {
    parse_selection(text, "histo.conf");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}
std::set<std::string> enabled_names(const Selection& s) {
  std::set<std::string> n;
  for (const Def& d : definitions())
    if (s.enabled[d.index]) n.insert(d.name);
  return n;
}
}  // namespace

TEST(HistogramConfig, EveryKeyword) {
  Selection s = parse_selection(
      "# comment line\n"
      "\n"
      "include ip_len_in   # trailing comment\n"
      "  include\ttcp_thru_c2s\n"
      "include_matching rtt_min\n"
      "adx_mask 16\n",
      "h.conf");
  EXPECT_EQ(enabled_names(s), (std::set<std::string>{"ip_len_in", "tcp_thru_c2s", "tcp_rtt_min_in",
                                                     "tcp_rtt_min_out", "tcp_rtt_min_loc"}));
  EXPECT_EQ(s.count(), 5u);
  EXPECT_FALSE(s.adx);
  EXPECT_EQ(s.adx_mask, 0xFFFF0000u);

  s = parse_selection("include ADX\nadx_mask 255.255.240.0\n", "h.conf");
  EXPECT_TRUE(s.adx);
  EXPECT_EQ(s.count(), 0u);
  EXPECT_EQ(s.adx_mask, 0xFFFFF000u);
  EXPECT_EQ(parse_selection("adx_mask 0\n", "h").adx_mask, 0u);
  EXPECT_EQ(parse_selection("adx_mask 32\n", "h").adx_mask, 0xFFFFFFFFu);
  EXPECT_EQ(parse_selection("", "h").adx_mask, 0xFFFFFF00u);  // Tstat's /24

  s = parse_selection("include ALL\n", "h.conf");
  EXPECT_EQ(s.count(), definitions().size());
  EXPECT_TRUE(s.adx);
  const Selection all = select_all();
  EXPECT_EQ(all.enabled, s.enabled);
  EXPECT_TRUE(all.adx);

  EXPECT_EQ(parse_selection("# nothing\n", "h").count(), 0u);
}

TEST(HistogramConfig, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("include ip_len_in\ninclude ip_len_up\n"),
            "histo.conf:2: unknown histogram 'ip_len_up' (see docs/histograms.md)");
  EXPECT_EQ(error_of("\n\nexclude ip_len_in\n"),
            "histo.conf:3: unknown keyword 'exclude' (expected include, include_matching or adx_mask)");
  EXPECT_EQ(error_of("include_matching zzz\n"), "histo.conf:1: no histogram name contains 'zzz'");
  EXPECT_EQ(error_of("include\n"), "histo.conf:1: 'include' takes exactly one argument");
  EXPECT_EQ(error_of("include ip_len_in ip_len_out\n"), "histo.conf:1: 'include' takes exactly one argument");
  EXPECT_EQ(error_of("# x\ninclude_matching\n"),
            "histo.conf:2: 'include_matching' takes exactly one argument");
  EXPECT_EQ(error_of("adx_mask 33\n"),
            "histo.conf:1: bad adx_mask '33' (a prefix length 0..32 or a dotted mask)");
  EXPECT_EQ(error_of("adx_mask 255.255.0\n"),
            "histo.conf:1: bad adx_mask '255.255.0' (a prefix length 0..32 or a dotted mask)");
  EXPECT_EQ(error_of("adx2_mask 24\n"),
            "histo.conf:1: 'adx2_mask' is not supported (per-host rate files are not implemented)");
  EXPECT_EQ(error_of("adx3_sample 5\n"),
            "histo.conf:1: 'adx3_sample' is not supported (per-host rate files are not implemented)");
  EXPECT_EQ(error_of("include all\n"), "histo.conf:1: unknown histogram 'all' (see docs/histograms.md)");
}

TEST(HistogramConfig, LoadsFilesAndReportsUnreadableOnes) {
  const fs::path dir = fs::temp_directory_path() / ("netloom-histo-conf-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path f = dir / "h.conf";
  std::ofstream(f) << "include L4_flow_number\ninclude nope\n";
  try {
    load_selection(f.string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), f.string() + ":2: unknown histogram 'nope' (see docs/histograms.md)");
  }
  std::ofstream(f) << "include L4_flow_number\n";
  EXPECT_EQ(enabled_names(load_selection(f.string())), std::set<std::string>{"L4_flow_number"});
  try {
    load_selection((dir / "missing.conf").string());
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              (dir / "missing.conf").string() + ": cannot open: No such file or directory");
  }
  fs::remove_all(dir);
}

// ------------------------------------------------------------------- ADX

TEST(HistogramAdx, HitsPerExternalSubnet) {
  AddressHits a;                 // /24
  a.add(0x08080808, true, 100);  // 8.8.8.8 sent 100 B
  a.add(0x080808FE, true, 50);   // 8.8.8.254, same /24
  a.add(0x08080801, false, 40);  // received 40 B
  a.add(0x01020304, false, 1500);
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(a.text(),
            "#subnet/255.255.255.0 src_hits dst_hits src_bytes dst_bytes\n"
            "1.2.3.0 0 1 0 1500\n"
            "8.8.8.0 2 1 150 40\n");
  AddressHits b(0xFF000000u);
  b.add(0x08080808, true, 1);
  b.add(0x08FFFFFF, false, 2);
  EXPECT_EQ(b.text(), "#subnet/255.0.0.0 src_hits dst_hits src_bytes dst_bytes\n8.0.0.0 1 1 1 2\n");
  b.reset();
  EXPECT_TRUE(b.empty());
}

// The integer path the per-packet fields take must land every sample in the
// same slot as add(double); its statistics are exact (integer sums), add()'s
// within rounding of them, and the two kinds of samples combine.
TEST(HistogramEngine, AddIntEqualsAddOfTheSameValue) {
  std::uint64_t seed = 12345;
  auto next = [&seed] {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return seed >> 33;
  };
  auto near = [](double x, double ref) { return std::abs(x - ref) <= 1e-12 * std::max(1.0, std::abs(ref)); };
  for (const auto& [min, max, bin] : {std::tuple<std::int64_t, std::int64_t, std::int64_t>{0, 65536, 1},
                                      {0, 1504, 4},
                                      {-10, 10, 5},
                                      {0, 720000, 50},
                                      {1, 4, 1}}) {
    Histogram a("a", "d", min, max, bin), b("b", "d", min, max, bin), mixed("m", "d", min, max, bin);
    __int128 sum = 0, sq = 0;
    std::int64_t lo = INT64_MAX, hi = INT64_MIN;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
      const std::int64_t v =
          min - 20 + static_cast<std::int64_t>(next() % static_cast<std::uint64_t>(max - min + 40));
      a.add(static_cast<double>(v));
      b.add_int(v);
      if (i % 2)
        mixed.add(static_cast<double>(v));
      else
        mixed.add_int(v);
      sum += v;
      sq += static_cast<__int128>(v) * v;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
    const std::string what = std::to_string(min) + ".." + std::to_string(max) + "/" + std::to_string(bin);
    ASSERT_EQ(a.bins(), b.bins()) << what;
    ASSERT_EQ(a.bins(), mixed.bins()) << what;
    const double mean = static_cast<double>(static_cast<long double>(sum) / n);
    const double m2 = static_cast<double>(static_cast<long double>(sq * n - sum * sum) / n);
    for (const Histogram* h : {&a, &b, &mixed}) {
      EXPECT_EQ(h->count(), static_cast<std::uint64_t>(n)) << what;
      EXPECT_TRUE(near(h->mean(), mean)) << what << " " << h->name() << ": " << h->mean() << " vs " << mean;
      EXPECT_TRUE(near(h->m2(), m2)) << what << " " << h->name() << ": " << h->m2() << " vs " << m2;
      EXPECT_EQ(h->vmin(), static_cast<double>(lo)) << what;
      EXPECT_EQ(h->vmax(), static_cast<double>(hi)) << what;
    }
    EXPECT_EQ(b.mean(), mean) << what;  // exact sums: the correctly rounded mean
    EXPECT_EQ(b.m2(), m2) << what;
  }
}
