// rrd.conf (blocks/sinks/rrd_conf.*): the shipped file, every token kind in
// Tstat's syntax, file names of statistics, and FILE:LINE errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "netloom/error.hpp"
#include "rrd_conf.hpp"

using namespace netloom::rrd;

namespace {

const std::string kShipped = std::string(NETLOOM_SOURCE_ROOT) + "/blocks/sinks/rrd/rrd.conf";

std::vector<std::string> names(const HistogramConf& h) {
  std::vector<std::string> out;
  for (const auto& s : h.stats) out.push_back(s.name);
  return out;
}

const HistogramConf& find(const Conf& c, const std::string& name) {
  for (const auto& h : c.histograms)
    if (h.histogram == name) return h;
  throw std::runtime_error("no histogram " + name);
}

// The message parse_conf throws for `text` (empty if it does not throw).
std::string error_of(const std::string& text) {
  try {
    parse_conf(text, "t.conf");
  } catch (const netloom::ConfigError& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST(RrdConf, ShippedFileParses) {
  Conf c = load_conf(kShipped);
  EXPECT_EQ(c.source, kShipped);
  ASSERT_EQ(c.histograms.size(), 38u);  // every non-comment line of the file
  EXPECT_EQ(c.histograms.front().histogram, "ip_bitrate_in");
  EXPECT_EQ(c.histograms.front().line, 9);
  EXPECT_EQ(names(c.histograms.front()), (std::vector<std::string>{"idx0", "idx1", "idx2", "idx3"}));
  const auto& l7 = find(c, "L7_TCP_num_in");
  EXPECT_EQ(l7.line, 29);
  EXPECT_EQ(names(l7), (std::vector<std::string>{"idx0", "idx7", "idx15", "idx25", "idx26", "idx27", "idx33",
                                                 "idx37", "idx38", "idx49", "idxoth"}));
  EXPECT_EQ(names(find(c, "tcp_rtt_avg_in")),
            (std::vector<std::string>{"avg", "stdev", "prc5", "prc50", "prc95", "prc99"}));
  EXPECT_EQ(c.histograms.back().histogram, "udp_tot_time");
  EXPECT_EQ(c.histograms.back().line, 63);
}

TEST(RrdConf, EveryTokenKind) {
  Conf c = parse_conf(
      "# a comment\n"
      "\n"
      "lat\tavg min  max var stdev hit idx:-3,0,7,other prc:5,99.9,100\r\n"
      "skipped avg # a '#' anywhere makes the whole line a comment, as in Tstat\n"
      "   \t \n"
      "bare\n"
      "L7_TCP_num_in idx:33\n",
      "t.conf");
  ASSERT_EQ(c.histograms.size(), 3u);
  const HistogramConf& h = c.histograms[0];
  EXPECT_EQ(h.histogram, "lat");
  EXPECT_EQ(h.line, 3);
  EXPECT_EQ(names(h), (std::vector<std::string>{"avg", "min", "max", "var", "stdev", "hit", "idx-3", "idx0",
                                                "idx7", "idxoth", "prc5", "prc99.900", "prc100"}));
  const StatKind kinds[] = {StatKind::avg, StatKind::min, StatKind::max, StatKind::var, StatKind::stdev,
                            StatKind::hit, StatKind::idx, StatKind::idx, StatKind::idx, StatKind::idx_other,
                            StatKind::prc, StatKind::prc, StatKind::prc};
  for (std::size_t i = 0; i < h.stats.size(); ++i) EXPECT_EQ(h.stats[i].kind, kinds[i]) << i;
  EXPECT_EQ(h.stats[6].index, -3);
  EXPECT_EQ(h.stats[8].index, 7);
  EXPECT_DOUBLE_EQ(h.stats[11].percent, 99.9);
  EXPECT_DOUBLE_EQ(h.stats[12].percent, 100);
  // A name alone enables nothing here (Tstat: it enables the histogram).
  EXPECT_EQ(c.histograms[1].histogram, "bare");
  EXPECT_TRUE(c.histograms[1].stats.empty());
  EXPECT_EQ(c.histograms[2].line, 7);
}

TEST(RrdConf, StatNamesRoundTrip) {
  for (std::string n : {"avg", "min", "max", "var", "stdev", "hit", "idx0", "idx-3", "idx49", "idxoth",
                        "prc5", "prc99.900", "prc100"}) {
    auto s = parse_stat_name(n);
    ASSERT_TRUE(s) << n;
    EXPECT_EQ(stat_name(*s), n);
  }
  EXPECT_EQ(parse_stat_name("prc99.900")->kind, StatKind::prc);
  EXPECT_EQ(parse_stat_name("idx-3")->index, -3);
  for (std::string n : {"", "idx", "idxfoo", "prc", "prc0", "prc101", "prcx", "average", "AVG"})
    EXPECT_FALSE(parse_stat_name(n)) << n;
}

TEST(RrdConf, ErrorsNameFileLineAndToken) {
  const std::string kUnknown =
      "(expected avg, min, max, var, stdev, hit, idx:i1,i2,...[,other] or prc:p1,p2,...)";
  EXPECT_EQ(error_of("h avg\nh2 foo\n"), "t.conf:2: unknown statistic 'foo' " + kUnknown);
  EXPECT_EQ(error_of("h AVG"), "t.conf:1: unknown statistic 'AVG' " + kUnknown);
  EXPECT_EQ(error_of("h idx"), "t.conf:1: unknown statistic 'idx' " + kUnknown);
  EXPECT_EQ(error_of("\n\nh idx:1,x"),
            "t.conf:3: bad index 'x' in 'idx:1,x' (expected integers and 'other')");
  EXPECT_EQ(error_of("h idx:1,,2"), "t.conf:1: bad index '' in 'idx:1,,2' (expected integers and 'other')");
  EXPECT_EQ(error_of("h idx:1.5"), "t.conf:1: bad index '1.5' in 'idx:1.5' (expected integers and 'other')");
  EXPECT_EQ(error_of("h idx:"), "t.conf:1: 'idx:' has no values");
  EXPECT_EQ(error_of("h prc:"), "t.conf:1: 'prc:' has no values");
  for (std::string p : {"0", "101", "-5", "abc", "1e2", "nan"})
    EXPECT_EQ(error_of("h prc:50," + p), "t.conf:1: bad percentile '" + p + "' in 'prc:50," + p +
                                             "' (expected a number with 0 < P <= 100)");
  EXPECT_EQ(error_of("h avg min avg"), "t.conf:1: 'avg' is listed twice for histogram 'h' (in 'avg')");
  EXPECT_EQ(error_of("h idx:1 idx:2,1"), "t.conf:1: 'idx1' is listed twice for histogram 'h' (in 'idx:2,1')");
  EXPECT_EQ(error_of("h idx:other,other"),
            "t.conf:1: 'idxoth' is listed twice for histogram 'h' (in 'idx:other,other')");
  // Both are written to h.prc99.900.rrd.
  EXPECT_EQ(error_of("h prc:99.9001,99.9004"),
            "t.conf:1: 'prc99.900' is listed twice for histogram 'h' (in 'prc:99.9001,99.9004')");
  EXPECT_EQ(error_of("h avg\n# c\nh min"), "t.conf:3: histogram 'h' is already listed at line 1");
  const std::string kName = " (letters, digits and '_', at most 39 characters)";
  EXPECT_EQ(error_of("ip-len avg"), "t.conf:1: bad histogram name 'ip-len'" + kName);
  EXPECT_EQ(error_of(std::string(40, 'a') + " avg"),
            "t.conf:1: bad histogram name '" + std::string(40, 'a') + "'" + kName);
  EXPECT_EQ(error_of(std::string(39, 'a') + " avg"), "");
}

TEST(RrdConf, UnreadableFile) {
  const std::string missing = ::testing::TempDir() + "/no-such-rrd.conf";
  try {
    load_conf(missing);
    FAIL() << "no error";
  } catch (const netloom::ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), missing + ": cannot read: No such file or directory");
  }
}
