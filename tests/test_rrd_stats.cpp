// The statistics RRDSink writes (blocks/sinks/rrd_stats.*, spec §9), on
// hand-built histogram windows with hand-computed expected values.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "rrd_conf.hpp"
#include "rrd_stats.hpp"

using namespace netloom;
using namespace netloom::rrd;

namespace {

std::vector<Stat> stats(const std::string& tokens) {
  return parse_conf("h " + tokens + "\n", "t.conf").histograms.at(0).stats;
}

// [0, 10) in bins of 2 (slots: <0, [0,2), [2,4), [4,6), [6,8), [8,10), >=10,
// in-range count) holding the values -1 1 3 3 5 9 12.
HistogramData sample() {
  HistogramData h;
  h.min = 0;
  h.max = 10;
  h.bin = 2;
  h.bins = {1, 1, 2, 1, 0, 1, 1, 5};
  h.count = 7;
  h.mean = 32.0 / 7;  // sum 32
  h.m2 = 866.0 / 7;   // sum of squares 270 - 32^2/7
  h.vmin = -1;
  h.vmax = 12;
  return h;
}

double value_of(const std::string& token, const HistogramData& h) {
  auto v = compute(stats(token), h);
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].skip, nullptr) << token << ": " << v[0].skip;
  return v[0].value;
}

}  // namespace

TEST(RrdStats, RunningStatistics) {
  const HistogramData h = sample();
  EXPECT_DOUBLE_EQ(value_of("avg", h), 32.0 / 7);
  EXPECT_DOUBLE_EQ(value_of("min", h), -1);
  EXPECT_DOUBLE_EQ(value_of("max", h), 12);
  EXPECT_DOUBLE_EQ(value_of("var", h), 433.0 / 21);  // m2 / (count - 1) = (866/7) / 6
  EXPECT_DOUBLE_EQ(value_of("stdev", h), std::sqrt(433.0 / 21));
  EXPECT_DOUBLE_EQ(value_of("hit", h), 7);
}

TEST(RrdStats, PercentilesScanFromTheUnderflowSlot) {
  const HistogramData h = sample();
  // 5 in-range samples; the running sum starts with the underflow slot (1):
  // slots <0:1, [0,2):2, [2,4):4, [4,6):5.
  EXPECT_DOUBLE_EQ(value_of("prc:10", h), -2);  // 0.5 reached in the underflow slot (edge min - bin)
  EXPECT_DOUBLE_EQ(value_of("prc:40", h), 0);   // 2.0 reached in [0,2)
  EXPECT_DOUBLE_EQ(value_of("prc:50", h), 2);   // 2.5 in [2,4)
  EXPECT_DOUBLE_EQ(value_of("prc:95", h), 4);   // 4.75 in [4,6)
  EXPECT_DOUBLE_EQ(value_of("prc:99.9", h), 4);
  EXPECT_DOUBLE_EQ(value_of("prc:100", h), 4);
  // Without underflow: the plain percentile.
  HistogramData g = sample();
  g.bins[0] = 0;
  EXPECT_DOUBLE_EQ(value_of("prc:50", g), 2);  // 2.5: [0,2):1, [2,4):3
  EXPECT_DOUBLE_EQ(value_of("prc:80", g), 4);  // 4.0: [4,6):4
  EXPECT_DOUBLE_EQ(value_of("prc:95", g), 8);  // 4.75: [8,10):5
}

TEST(RrdStats, IndexesAndOther) {
  const HistogramData h = sample();
  auto v = compute(stats("idx:0,2,3,9,-1,10,other"), h);  // -1 and 10: outside [0, 10)
  ASSERT_EQ(v.size(), 7u);
  EXPECT_EQ(v[0].value, 1);  // [0,2)
  EXPECT_EQ(v[1].value, 2);  // [2,4)
  EXPECT_EQ(v[2].value, 2);  // 3 is in [2,4) too
  EXPECT_EQ(v[3].value, 1);  // [8,10)
  EXPECT_EQ(v[4].value, 1);  // the underflow slot, -1
  EXPECT_EQ(v[5].value, 1);  // the overflow slot, 12
  // other: 5 in range - ([0,2) + [2,4) + [8,10), each bin once) = 1, the 5.
  EXPECT_EQ(v[6].skip, nullptr);
  EXPECT_EQ(v[6].value, 1);
  EXPECT_EQ(compute(stats("idx:other"), h)[0].value, 5);

  HistogramData n;  // [-10, 10) in bins of 5
  n.min = -10;
  n.max = 10;
  n.bin = 5;
  n.bins = {0, 3, 4, 5, 6, 0, 18};
  auto w = compute(stats("idx:-10,-7,-5,9,-11"), n);
  EXPECT_EQ(w[0].value, 3);
  EXPECT_EQ(w[1].value, 3);
  EXPECT_EQ(w[2].value, 4);
  EXPECT_EQ(w[3].value, 6);
  EXPECT_EQ(w[4].value, 0);
  for (const auto& x : w) EXPECT_EQ(x.skip, nullptr);
}

TEST(RrdStats, UnknownWithoutSamples) {
  HistogramData h = sample();
  h.bins.assign(h.bins.size(), 0);
  h.count = 0;
  h.mean = h.m2 = h.vmin = h.vmax = 0;
  for (const char* t : {"avg", "min", "max", "var", "stdev", "prc:50"})
    EXPECT_TRUE(std::isnan(value_of(t, h))) << t;
  EXPECT_EQ(value_of("hit", h), 0);
  EXPECT_EQ(value_of("idx:4", h), 0);
  EXPECT_EQ(value_of("idx:other", h), 0);
  // One sample: a mean but no variance.
  h.count = 1;
  h.mean = h.vmin = h.vmax = 3;
  EXPECT_EQ(value_of("avg", h), 3);
  EXPECT_TRUE(std::isnan(value_of("var", h)));
  EXPECT_TRUE(std::isnan(value_of("stdev", h)));
}

TEST(RrdStats, PseudoHistogramsHaveOnlyIndexes) {
  HistogramData b;  // ip_bitrate: bit/s of TCP, UDP, ICMP, all IP
  b.min = 0;
  b.max = 4;
  b.bin = 1;
  b.pseudo = true;
  b.bins = {0, 1000, 200, 30, 1230, 0, 0};
  auto v = compute(stats("idx:0,3 idx:other avg min max var stdev hit prc:50"), b);
  ASSERT_EQ(v.size(), 10u);
  EXPECT_EQ(v[0].value, 1000);
  EXPECT_EQ(v[1].value, 1230);
  EXPECT_EQ(v[2].value, 230);  // the sum of the other categories' values
  for (std::size_t i = 3; i < v.size(); ++i)
    EXPECT_STREQ(v[i].skip, "not meaningful for a bitrate pseudo-histogram") << i;
}

TEST(RrdStats, LayoutErrors) {
  HistogramData h = sample();
  EXPECT_EQ(layout_error(h), "");
  h.bins.pop_back();
  EXPECT_EQ(layout_error(h), "7 slots instead of 8");
  h = sample();
  h.bin = 0;
  EXPECT_EQ(layout_error(h), "bin size 0 is not positive");
  h.bin = 3;
  EXPECT_EQ(layout_error(h), "range [0, 10) is not a positive multiple of 3");
  h.bin = 2;
  h.max = 0;
  EXPECT_EQ(layout_error(h), "range [0, 0) is not a positive multiple of 2");
}
