// RRDSink loaded from build/plugins/netloom_rrd.so and fed hand-built
// HistogramWindows 300 s apart; the RRD files it writes are read back with
// librrd (rrd_fetch_r, rrd_info_r). Then `netloom report` renders them: the
// PNGs' headers and index.html are checked.
#include <gtest/gtest.h>
#include <rrd.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "netloom/netloom.hpp"
#include "report.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

constexpr std::int64_t kT0 = 1700000100;  // a multiple of 300: windows end on RRD step boundaries
constexpr std::uint64_t kNs = 1'000'000'000;

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("netloom-rrd-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(p);
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

void write_file(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

struct NoEmit : Emit {
  void operator()(unsigned, MessagePtr) override { ADD_FAILURE() << "RRDSink emitted a message"; }
};

// The plugin outlives the block it made (members are destroyed in reverse).
struct Sink {
  test::PluginFile plugin{"netloom_rrd.so"};
  test::FakeContext ctx;
  std::unique_ptr<Block> block;
  explicit Sink(const std::map<std::string, ParamValue>& params) {
    block = test::make_block(plugin.factory(), ctx, params);
  }
  // The librrd calls of a window run in the background until the next
  // window or flush(); flushing after each lets the tests read files and
  // counters at once (flush may come any number of times).
  void feed(const std::shared_ptr<HistogramWindow>& w) {
    NoEmit e;
    block->receive(0, w, e);
    block->flush(e);
  }
};

std::string config_error(const std::map<std::string, ParamValue>& params) {
  try {
    Sink s(params);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return {};
}

HistogramData histogram(std::string name, std::int64_t min, std::int64_t max, std::int64_t bin,
                        std::vector<std::uint64_t> bins) {
  HistogramData h;
  h.name = std::move(name);
  h.min = min;
  h.max = max;
  h.bin = bin;
  h.bins = std::move(bins);
  return h;
}

// Window k (ending at kT0 + 300 k): `lat` over [0, 10) in bins of 2 with
// k samples in [0,2) and one each in [2,4) and [4,6); running statistics
// count k+2, mean 1.5(k+1), m2 6(k+1)^2, min k, max 9. `ip_bitrate_in`, a
// pseudo-histogram: TCP 1000(k+1), all IP 5000(k+1) bit/s.
std::shared_ptr<HistogramWindow> window(int k, bool with_lat = true) {
  auto w = std::make_shared<HistogramWindow>();
  w->end_ns = static_cast<std::uint64_t>(kT0 + 300 * k) * kNs;
  w->start_ns = w->end_ns - 300 * kNs;
  w->step = static_cast<std::uint32_t>(k);
  const auto u = static_cast<std::uint64_t>(k);
  if (with_lat) {
    HistogramData lat = histogram("lat", 0, 10, 2, {0, u, 1, 1, 0, 0, 0, u + 2});
    lat.count = u + 2;
    lat.mean = 1.5 * (k + 1);
    lat.m2 = 6.0 * (k + 1) * (k + 1);
    lat.vmin = k;
    lat.vmax = 9;
    w->histograms.push_back(lat);
  }
  HistogramData br = histogram("ip_bitrate_in", 0, 4, 1, {0, 1000 * (u + 1), 0, 0, 5000 * (u + 1), 0, 0});
  br.pseudo = true;
  w->histograms.push_back(br);
  w->histograms.push_back(histogram("not_configured", 0, 1, 1, {0, 0, 0, 0}));
  return w;
}

// Value of each row of the AVERAGE archive in [from, to], by row end time.
std::map<std::int64_t, double> fetch(const std::string& path, std::int64_t from, std::int64_t to,
                                     unsigned long want_step = 300) {
  time_t start = from, end = to;
  unsigned long step = want_step, nds = 0;
  char** names = nullptr;
  rrd_value_t* data = nullptr;
  if (rrd_fetch_r(path.c_str(), "AVERAGE", &start, &end, &step, &nds, &names, &data) != 0) {
    ADD_FAILURE() << path << ": " << rrd_get_error();
    rrd_clear_error();
    return {};
  }
  std::map<std::int64_t, double> rows;
  EXPECT_EQ(nds, 1u);
  EXPECT_EQ(step, want_step);
  for (unsigned long r = 0; r < static_cast<unsigned long>(end - start) / step; ++r)
    rows[start + static_cast<std::int64_t>((r + 1) * step)] = data[r * nds];
  for (unsigned long d = 0; d < nds; ++d) rrd_freemem(names[d]);
  rrd_freemem(names);
  rrd_freemem(data);
  return rows;
}

// rrd_info_r as key -> text.
std::map<std::string, std::string> info(const std::string& path) {
  std::map<std::string, std::string> out;
  rrd_info_t* head = rrd_info_r(path.c_str());
  EXPECT_NE(head, nullptr) << path;
  for (rrd_info_t* i = head; i; i = i->next) {
    switch (i->type) {
      case RD_I_VAL:
        out[i->key] = std::isnan(i->value.u_val) ? "NaN" : std::to_string(i->value.u_val);
        break;
      case RD_I_CNT:
        out[i->key] = std::to_string(i->value.u_cnt);
        break;
      case RD_I_STR:
        out[i->key] = i->value.u_str;
        break;
      case RD_I_INT:
        out[i->key] = std::to_string(i->value.u_int);
        break;
      default:
        break;
    }
  }
  if (head) rrd_info_free(head);
  return out;
}

std::set<std::string> files_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

const char* const kConf =
    "# test configuration\n"
    "lat avg min max var stdev hit idx:2,other prc:50,99.9\n"
    "ip_bitrate_in idx:0,3\n";

}  // namespace

// ---- RRDSink ----------------------------------------------------------------

TEST(RrdSink, DescribesItself) {
  test::PluginFile plugin("netloom_rrd.so");
  BlockInfo i = plugin.factory().info();
  EXPECT_EQ(i.type, "RRDSink");
  EXPECT_EQ(i.threading, Threading::serial);
  ASSERT_EQ(i.inputs.size(), 1u);
  EXPECT_EQ(i.inputs[0].type, "HistogramWindow");
  EXPECT_TRUE(i.outputs.empty());
  std::set<std::string> params;
  for (const auto& p : i.params) params.insert(p.name);
  EXPECT_EQ(params, (std::set<std::string>{"dir", "config", "step", "write_interval"}));
  std::set<std::string> live;
  for (const auto& p : i.params)
    if (p.live) live.insert(p.name);
  EXPECT_EQ(live, (std::set<std::string>{"config"}));
}

// Windows arriving faster than write_interval (a replayed trace) are held
// and written per file in one librrd call; the values equal those written
// one window at a time. A value librrd refuses in the middle of a batch is
// counted and reported, and the ones after it are still written.
TEST(RrdSink, WindowsOfAReplayAreWrittenTogether) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", "lat avg max\n");
  const std::string dir = tmp / "rrd";
  Sink s({{"dir", dir},
          {"config", tmp / "rrd.conf"},
          {"write_interval", std::int64_t(3600) * std::int64_t(kNs)}});
  NoEmit e;
  // The first window is written at once (nothing was written before)...
  s.block->receive(0, window(1), e);
  // ...the next ones are held while the wall clock has not moved 1 h.
  for (int k = 2; k <= 5; ++k) s.block->receive(0, window(k), e);
  EXPECT_EQ(s.ctx.value("windows"), 5u);
  s.block->flush(e);
  EXPECT_EQ(s.ctx.value("values"), 10u);
  EXPECT_EQ(s.ctx.value("files_created"), 2u);
  EXPECT_EQ(s.ctx.value("rrd_errors"), 0u);
  auto rows = fetch(dir + "/lat.avg.rrd", kT0 + 300, kT0 + 1500);
  for (int k = 2; k <= 5; ++k) EXPECT_EQ(rows[kT0 + 300 * k], 1.5 * (k + 1)) << "window " << k;
  EXPECT_EQ(info(dir + "/lat.max.rrd")["last_update"], std::to_string(kT0 + 1500));

  // A second sink on the same files: window 5 is skipped (not after the
  // files' last update), windows 6 and 7 of the same batch are written.
  Sink t({{"dir", dir},
          {"config", tmp / "rrd.conf"},
          {"write_interval", std::int64_t(3600) * std::int64_t(kNs)}});
  t.block->receive(0, window(5), e);
  t.block->receive(0, window(6), e);
  t.block->receive(0, window(7), e);
  t.block->flush(e);
  EXPECT_EQ(t.ctx.value("values_stale"), 2u);  // window 5, once per file
  EXPECT_EQ(t.ctx.value("rrd_errors"), 0u);
  EXPECT_EQ(t.ctx.value("values"), 4u);
  EXPECT_EQ(t.ctx.value("files_created"), 0u);
  rows = fetch(dir + "/lat.avg.rrd", kT0 + 1500, kT0 + 2100);
  EXPECT_EQ(rows[kT0 + 1800], 10.5);
  EXPECT_EQ(rows[kT0 + 2100], 12);
  ASSERT_FALSE(t.ctx.logs.empty());
  EXPECT_NE(t.ctx.logs[0].find(dir + "/lat."), std::string::npos) << t.ctx.logs[0];
}

TEST(RrdSink, WritesEveryStatisticReadBackThroughLibrrd) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", kConf);
  const std::string dir = tmp / "rrd";
  {
    Sink s({{"dir", dir}, {"config", tmp / "rrd.conf"}});
    for (int k = 0; k < 4; ++k) s.feed(window(k));
    EXPECT_EQ(s.ctx.value("windows"), 4u);
    EXPECT_EQ(s.ctx.value("values"), 4u * 12);
    EXPECT_EQ(s.ctx.value("files_created"), 12u);
    EXPECT_EQ(s.ctx.value("rrd_errors"), 0u);
    EXPECT_EQ(s.ctx.value("histograms_missing"), 0u);
    EXPECT_EQ(s.ctx.value("stats_skipped"), 0u);
    EXPECT_TRUE(s.ctx.logs.empty()) << s.ctx.logs.front();
    EXPECT_EQ(s.block->summary(), "4 windows: 48 values written, 12 files created, 0 librrd errors");
  }
  // Unlike Tstat, hit files exist.
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"lat.avg.rrd", "lat.min.rrd", "lat.max.rrd", "lat.var.rrd",
                                                  "lat.stdev.rrd", "lat.hit.rrd", "lat.idx2.rrd",
                                                  "lat.idxoth.rrd", "lat.prc50.rrd", "lat.prc99.900.rrd",
                                                  "ip_bitrate_in.idx0.rrd", "ip_bitrate_in.idx3.rrd"}));

  // Windows 1..3 (window 0 covers only the 10 s after the archive's start:
  // its step is unknown, as in Tstat).
  const std::map<std::string, std::vector<double>> expected = {
      {"lat.avg", {3.0, 4.5, 6.0}},
      {"lat.min", {1, 2, 3}},
      {"lat.max", {9, 9, 9}},
      {"lat.var", {12, 18, 24}},  // 6(k+1)^2 / (k+1)
      {"lat.stdev", {std::sqrt(12.0), std::sqrt(18.0), std::sqrt(24.0)}},
      {"lat.hit", {3, 4, 5}},
      {"lat.idx2", {1, 1, 1}},
      {"lat.idxoth", {2, 3, 4}},
      {"lat.prc50", {2, 0, 0}},  // half of k+2 reached in [2,4) for k=1, in [0,2) after
      {"lat.prc99.900", {4, 4, 4}},
      {"ip_bitrate_in.idx0", {2000, 3000, 4000}},
      {"ip_bitrate_in.idx3", {10000, 15000, 20000}},
  };
  for (const auto& [file, values] : expected) {
    const std::string path = dir + "/" + file + ".rrd";
    auto rows = fetch(path, kT0 - 300, kT0 + 1200);
    ASSERT_TRUE(rows.count(kT0)) << file;
    EXPECT_TRUE(std::isnan(rows[kT0])) << file;
    for (int k = 1; k <= 3; ++k) {
      ASSERT_TRUE(rows.count(kT0 + 300 * k)) << file << " " << k;
      EXPECT_NEAR(rows[kT0 + 300 * k], values[static_cast<std::size_t>(k - 1)], 1e-9)
          << file << " window " << k;
    }
    EXPECT_TRUE(std::isnan(rows[kT0 + 1200])) << file;  // nothing after the last window

    auto i = info(path);
    const std::string ds = file.substr(0, file.find('.'));
    EXPECT_EQ(i["step"], "300") << file;
    EXPECT_EQ(i["last_update"], std::to_string(kT0 + 900)) << file;
    EXPECT_EQ(i["ds[" + ds + "].type"], "GAUGE") << file;
    EXPECT_EQ(i["ds[" + ds + "].minimal_heartbeat"], "600") << file;
    EXPECT_EQ(i["ds[" + ds + "].min"], "NaN") << file;
    EXPECT_EQ(i["ds[" + ds + "].max"], "NaN") << file;
    const std::pair<const char*, const char*> rras[] = {
        {"1", "600"}, {"6", "700"}, {"24", "775"}, {"288", "797"}};
    for (int r = 0; r < 4; ++r) {
      const std::string k = "rra[" + std::to_string(r) + "].";
      EXPECT_EQ(i[k + "cf"], "AVERAGE") << file << r;
      EXPECT_EQ(i[k + "xff"], "0.500000") << file << r;
      EXPECT_EQ(i[k + "pdp_per_row"], rras[r].first) << file << r;
      EXPECT_EQ(i[k + "rows"], rras[r].second) << file << r;
    }
    EXPECT_FALSE(i.count("rra[4].cf")) << file;
    int ds_count = 0;
    for (const auto& [key, v] : i) ds_count += key.ends_with("].type") && key.starts_with("ds[");
    EXPECT_EQ(ds_count, 1) << file;
  }
}

TEST(RrdSink, StepParameterAndTruncatedDsName) {
  TempDir tmp;
  const std::string name = "tcp_rtt_stdev_out_loc_x";  // 23 characters
  write_file(tmp / "rrd.conf", name + " hit\n");
  Sink s({{"dir", tmp.p.string()},
          {"config", tmp / "rrd.conf"},
          {"step", std::int64_t(60) * std::int64_t(kNs)}});
  for (int k = 0; k < 3; ++k) {
    auto w = std::make_shared<HistogramWindow>();
    w->end_ns = static_cast<std::uint64_t>(kT0 + 60 * k) * kNs;
    w->start_ns = w->end_ns - 60 * kNs;
    HistogramData h = histogram(name, 0, 2, 1, {0, 0, 0, 0, 0});
    h.count = static_cast<std::uint64_t>(10 + k);
    w->histograms.push_back(h);
    s.feed(w);
  }
  EXPECT_TRUE(s.ctx.logs.empty()) << s.ctx.logs.front();
  auto i = info(tmp / (name + ".hit.rrd"));
  EXPECT_EQ(i["step"], "60");
  EXPECT_EQ(i["ds[tcp_rtt_stdev_out_l].type"], "GAUGE");
  EXPECT_EQ(i["ds[tcp_rtt_stdev_out_l].minimal_heartbeat"], "120");
  auto rows = fetch(tmp / (name + ".hit.rrd"), kT0, kT0 + 120, 60);
  EXPECT_EQ(rows[kT0 + 60], 11);
  EXPECT_EQ(rows[kT0 + 120], 12);
}

TEST(RrdSink, MissingHistogramCountedAndLoggedOnce) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", "lat avg\n#\nnothere avg max\n");
  Sink s({{"dir", tmp.p.string()}, {"config", tmp / "rrd.conf"}});
  for (int k = 0; k < 3; ++k) s.feed(window(k));
  EXPECT_EQ(s.ctx.value("histograms_missing"), 3u);
  EXPECT_EQ(s.ctx.value("values"), 3u);
  ASSERT_EQ(s.ctx.logs.size(), 1u);
  EXPECT_EQ(s.ctx.logs[0], "histogram 'nothere' (" + (tmp / "rrd.conf") +
                               ":3) is not in window 0: nothing is written for it while it is missing");
  EXPECT_FALSE(fs::exists(tmp / "nothere.avg.rrd"));
}

TEST(RrdSink, SkippedStatisticsCountedAndLoggedOnce) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", "ip_bitrate_in avg prc:50 idx:0,4,other\nlat idx:-1,10\n");
  Sink s({{"dir", tmp.p.string()}, {"config", tmp / "rrd.conf"}});
  for (int k = 0; k < 2; ++k) s.feed(window(k));
  EXPECT_EQ(s.ctx.value("stats_skipped"), 2u * 2);  // avg and prc50, twice
  EXPECT_EQ(s.ctx.value("values"), 2u * 5);         // idx0, idx4 (overflow), idxoth, idx-1, idx10
  const std::string c = tmp / "rrd.conf";
  EXPECT_EQ(s.ctx.logs,
            (std::vector<std::string>{
                c + ":1: ip_bitrate_in avg: not meaningful for a bitrate pseudo-histogram: not written",
                c + ":1: ip_bitrate_in prc50: not meaningful for a bitrate pseudo-histogram: not written"}));
  EXPECT_EQ(files_in(tmp.p),
            (std::set<std::string>{"rrd.conf", "ip_bitrate_in.idx0.rrd", "ip_bitrate_in.idx4.rrd",
                                   "ip_bitrate_in.idxoth.rrd", "lat.idx-1.rrd", "lat.idx10.rrd"}));
}

TEST(RrdSink, BadLayoutAndRepeatedWindowsAreSkipped) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", "lat avg hit\n");
  Sink s({{"dir", tmp.p.string()}, {"config", tmp / "rrd.conf"}});
  auto w = window(0);
  w->histograms[0].bins.resize(5);
  s.feed(w);
  EXPECT_EQ(s.ctx.value("stats_skipped"), 2u);
  s.feed(window(1));
  s.feed(window(1));  // same end: librrd needs one second between updates
  EXPECT_EQ(s.ctx.value("windows"), 3u);
  EXPECT_EQ(s.ctx.value("windows_skipped"), 1u);
  EXPECT_EQ(s.ctx.value("values"), 2u);
  EXPECT_EQ(s.ctx.value("rrd_errors"), 0u);
  EXPECT_EQ(s.ctx.logs, (std::vector<std::string>{
                            "histogram 'lat' has no Tstat bin layout (5 slots instead of 8): not written",
                            "window 1 ends at " + std::to_string(kT0 + 300) +
                                ", not after the previous "
                                "window (" +
                                std::to_string(kT0 + 300) + "): not written"}));
}

TEST(RrdSink, LibrrdErrorsAreCountedWithTheFile) {
  TempDir tmp;
  write_file(tmp / "rrd.conf", "lat avg\n");
  {  // a previous run wrote later values
    Sink s({{"dir", tmp.p.string()}, {"config", tmp / "rrd.conf"}});
    s.feed(window(5));
  }
  write_file(tmp / "lat.max.rrd", "not an rrd");
  write_file(tmp / "rrd.conf", "lat avg max\n");
  Sink s({{"dir", tmp.p.string()}, {"config", tmp / "rrd.conf"}});
  for (int k = 0; k < 12; ++k) s.feed(window(k < 6 ? k : k + 10));
  // avg: windows 0..5 are not after the existing last update: skipped, said
  // once; max is no RRD file: every update fails.
  EXPECT_EQ(s.ctx.value("values_stale"), 6u);
  EXPECT_EQ(s.ctx.value("rrd_errors"), 12u);
  EXPECT_EQ(s.ctx.value("values"), 6u);
  EXPECT_EQ(s.ctx.value("files_created"), 0u);
  ASSERT_EQ(s.ctx.logs.size(), 11u);  // the stale line, then 10 errors and every 1000th after
  EXPECT_EQ(s.ctx.logs[0], tmp / "lat.avg.rrd" + ": already holds values up to " +
                               std::to_string(kT0 + 1500) +
                               " (an earlier run into this directory?): values up to then are not written "
                               "(counter values_stale)");
  EXPECT_EQ(s.ctx.logs[1].rfind(tmp / "lat.max.rrd" + ": ", 0), 0u) << s.ctx.logs[1];
  EXPECT_TRUE(s.ctx.logs[10].ends_with(" (from now on every 1000th error is logged)")) << s.ctx.logs[10];
}

TEST(RrdSink, BuiltInConfiguration) {
  TempDir tmp;
  Sink s({{"dir", tmp.p.string()}});
  auto w = std::make_shared<HistogramWindow>();
  w->end_ns = kT0 * kNs;
  w->start_ns = w->end_ns - 300 * kNs;
  s.feed(w);
  // Every histogram of the shipped file is missing from an empty window.
  EXPECT_EQ(s.ctx.value("histograms_missing"), 38u);
  ASSERT_EQ(s.ctx.logs.size(), 38u);
  EXPECT_EQ(
      s.ctx.logs[0],
      "histogram 'ip_bitrate_in' (rrd/rrd.conf:9) is not in window 0: nothing is written for it while it is "
      "missing");
}

TEST(RrdSink, ConfigurationErrors) {
  TempDir tmp;
  write_file(tmp / "file", "x");
  EXPECT_EQ(config_error({{"dir", tmp / "file/rrd"}}),
            "cannot create RRD directory '" + (tmp / "file/rrd") + "': Not a directory");
  EXPECT_EQ(config_error({{"dir", tmp / "file"}}),
            "cannot create RRD directory '" + (tmp / "file") + "': Not a directory");
  EXPECT_EQ(config_error({{"dir", std::string()}}), "dir is empty");
  EXPECT_EQ(config_error({{"dir", tmp / "d"}, {"step", std::int64_t(1500000000)}}),
            "step must be whole seconds (RRD steps are), not 1500000000 ns");
  EXPECT_EQ(config_error({{"dir", tmp / "d"}, {"config", tmp / "none.conf"}}),
            tmp / "none.conf" + ": cannot read: No such file or directory");
  write_file(tmp / "bad.conf", "lat avg\nlat2 idx:1,two\n");
  EXPECT_EQ(config_error({{"dir", tmp / "d"}, {"config", tmp / "bad.conf"}}),
            tmp / "bad.conf" + ":2: bad index 'two' in 'idx:1,two' (expected integers and 'other')");
  if (::geteuid() != 0) {  // root writes anywhere
    fs::create_directories(tmp / "ro");
    fs::permissions(tmp / "ro", fs::perms::owner_read | fs::perms::owner_exec);
    EXPECT_EQ(config_error({{"dir", tmp / "ro"}}),
              "RRD directory '" + (tmp / "ro") + "' is not writable: Permission denied");
    fs::permissions(tmp / "ro", fs::perms::owner_all);
  }
}

TEST(RrdSink, LiveConfigAppliesFromTheNextWindow) {
  TempDir tmp;
  write_file(tmp / "a.conf", "lat avg\n");
  write_file(tmp / "b.conf", "lat max\nip_bitrate_in idx:0\n");
  const std::string dir = tmp / "rrd";
  Sink s({{"dir", dir}, {"config", tmp / "a.conf"}});
  auto last_update = [&](const char* file) { return info(dir + "/" + file)["last_update"]; };
  auto live_error = [&](const char* name, const ParamValue& v) -> std::string {
    try {
      s.block->set_param(name, v);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };
  for (int k = 0; k < 3; ++k) s.feed(window(k));
  EXPECT_EQ(live_error("config", tmp / "b.conf"), "(no error)");
  EXPECT_EQ(s.ctx.logs,
            std::vector<std::string>{"config '" + (tmp / "b.conf") +
                                     "' applies from the next window: 2 histograms, 2 statistics"});
  for (int k = 3; k < 5; ++k) s.feed(window(k));
  // lat.avg is no longer listed: left as it was. The new files start at window 3.
  EXPECT_EQ(files_in(dir), (std::set<std::string>{"lat.avg.rrd", "lat.max.rrd", "ip_bitrate_in.idx0.rrd"}));
  EXPECT_EQ(last_update("lat.avg.rrd"), std::to_string(kT0 + 600));
  EXPECT_EQ(last_update("lat.max.rrd"), std::to_string(kT0 + 1200));
  EXPECT_EQ(last_update("ip_bitrate_in.idx0.rrd"), std::to_string(kT0 + 1200));
  EXPECT_EQ(fetch(dir + "/ip_bitrate_in.idx0.rrd", kT0 + 900, kT0 + 1200)[kT0 + 1200], 5000);  // 1000 (k+1)
  EXPECT_EQ(fetch(dir + "/lat.max.rrd", kT0 + 900, kT0 + 1200)[kT0 + 1200], 9);

  // Refused: the old configuration stays.
  write_file(tmp / "bad.conf", "lat avg\nlat2 idx:1,two\n");
  EXPECT_EQ(live_error("config", tmp / "bad.conf"),
            tmp / "bad.conf" + ":2: bad index 'two' in 'idx:1,two' (expected integers and 'other')");
  EXPECT_EQ(live_error("config", tmp / "none.conf"),
            tmp / "none.conf" + ": cannot read: No such file or directory");
  EXPECT_EQ(live_error("step", std::int64_t(60) * std::int64_t(kNs)), "parameter 'step' cannot change live");
  EXPECT_EQ(live_error("dir", tmp / "elsewhere"), "parameter 'dir' cannot change live");
  s.feed(window(5));
  EXPECT_EQ(last_update("lat.avg.rrd"), std::to_string(kT0 + 600));
  EXPECT_EQ(last_update("lat.max.rrd"), std::to_string(kT0 + 1500));
  EXPECT_EQ(last_update("ip_bitrate_in.idx0.rrd"), std::to_string(kT0 + 1500));

  // Listed again: the existing file is updated, not re-created. The first
  // update after a gap longer than the heartbeat (600 s) is unknown.
  EXPECT_EQ(live_error("config", tmp / "a.conf"), "(no error)");
  for (int k = 6; k < 8; ++k) s.feed(window(k));
  EXPECT_EQ(last_update("lat.avg.rrd"), std::to_string(kT0 + 2100));
  EXPECT_EQ(last_update("lat.max.rrd"), std::to_string(kT0 + 1500));
  auto rows = fetch(dir + "/lat.avg.rrd", kT0 + 300, kT0 + 2100);
  EXPECT_EQ(rows[kT0 + 600], 4.5);  // window 2
  for (int k = 3; k <= 6; ++k) EXPECT_TRUE(std::isnan(rows[kT0 + 300 * k])) << "window " << k;
  EXPECT_EQ(rows[kT0 + 2100], 12);  // window 7: 1.5 (k+1)

  EXPECT_EQ(s.ctx.value("windows"), 8u);
  EXPECT_EQ(s.ctx.value("files_created"), 3u);
  EXPECT_EQ(s.ctx.value("values"), 3u + 3u * 2 + 2u);
  EXPECT_EQ(s.ctx.value("rrd_errors"), 0u);

  // Back to the built-in file.
  EXPECT_EQ(live_error("config", std::string()), "(no error)");
  EXPECT_EQ(s.ctx.logs.back().rfind("config 'rrd/rrd.conf' applies from the next window: 38 histograms, ", 0),
            0u)
      << s.ctx.logs.back();
}

// ---- netloom report -------------------------------------------------------------

namespace {

std::uint32_t be32(const std::string& s, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

// A PNG file: signature, then the IHDR chunk with the image size.
void expect_png(const fs::path& p, std::uint32_t w, std::uint32_t h) {
  const std::string s = test::slurp(p);
  ASSERT_GE(s.size(), 24u) << p;
  EXPECT_EQ(s.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << p;
  EXPECT_EQ(be32(s, 8), 13u) << p;
  EXPECT_EQ(s.substr(12, 4), "IHDR") << p;
  EXPECT_EQ(be32(s, 16), w) << p;
  EXPECT_EQ(be32(s, 20), h) << p;
}

// An RRD directory with one histogram of each kind the report knows, written
// by the block: windows 0..6 (kT0 .. kT0 + 1800).
void fill(const TempDir& tmp, const std::string& dir) {
  write_file(tmp / "rrd.conf",
             "ip_bitrate_in idx:0,3\n"
             "ip_bitrate_out idx:0,3\n"
             "L7_TCP_num_in idx:0,33,49,other\n"
             "tcp_rtt_avg_in avg stdev prc:50,95\n"
             "ip_len_in avg min max var hit idx:40,other prc:50\n");
  Sink s({{"dir", dir}, {"config", tmp / "rrd.conf"}});
  for (int k = 0; k < 7; ++k) {
    auto w = window(k, false);
    auto u = static_cast<std::uint64_t>(k);
    HistogramData out = w->histograms[0];
    out.name = "ip_bitrate_out";
    w->histograms.push_back(out);
    HistogramData l7 = histogram("L7_TCP_num_in", 0, 50, 1, std::vector<std::uint64_t>(53, 0));
    l7.bins[1] = 10 + u;   // HTTP
    l7.bins[34] = 20 + u;  // SSL
    l7.bins[50] = 5;       // UNKNOWN
    l7.bins[52] = 35 + 2 * u;
    w->histograms.push_back(l7);
    HistogramData rtt = histogram("tcp_rtt_avg_in", 0, 2000, 1, std::vector<std::uint64_t>(2003, 0));
    rtt.bins[11] = 3;
    rtt.bins[101 + u] = 1;
    rtt.bins[2002] = 4;
    rtt.count = 4;
    rtt.mean = 30;
    rtt.m2 = 100;
    w->histograms.push_back(rtt);
    HistogramData len = histogram("ip_len_in", 0, 1504, 4, std::vector<std::uint64_t>(379, 0));
    len.bins[11] = 7;
    len.bins[376] = 3 + u;
    len.bins[378] = 10 + u;
    len.count = 10 + u;
    len.mean = 500;
    len.m2 = 1e6;
    len.vmin = 40;
    len.vmax = 1500;
    w->histograms.push_back(len);
    s.feed(w);
  }
  ASSERT_EQ(s.ctx.value("rrd_errors"), 0u);
  ASSERT_EQ(s.ctx.value("files_created"), 20u);
}

std::vector<std::string> pngs(const app::Report& r) {
  std::vector<std::string> out;
  for (const auto& g : r.graphs) out.push_back(g.png);
  return out;
}

std::string report_error(const app::ReportOptions& o) {
  try {
    app::render_report(o);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace

TEST(RrdReport, RendersEveryGraphAndIndex) {
  TempDir tmp;
  const std::string dir = tmp / "rrd", out = tmp / "html";
  fill(tmp, dir);
  app::ReportOptions o{dir, out, 640, 240, {}, {}};
  app::Report r = app::render_report(o);
  EXPECT_TRUE(r.warnings.empty()) << r.warnings.front();
  // Packet time: from the first known value (window 1, whose step starts at
  // kT0) to the last update.
  EXPECT_EQ(r.start, kT0);
  EXPECT_EQ(r.end, kT0 + 1800);
  EXPECT_EQ(pngs(r),
            (std::vector<std::string>{"ip_bitrate_in.idx.png", "ip_bitrate_out.idx.png",
                                      "L7_TCP_num_in.idx.png", "tcp_rtt_avg_in.prc.png",
                                      "ip_len_in.stats.png", "ip_len_in.prc.png", "ip_len_in.idx.png",
                                      "ip_len_in.var.png", "ip_len_in.hit.png", "tcp_rtt_avg_in.stats.png"}));
  EXPECT_EQ(r.graphs[0].title, "IP traffic (in)");
  EXPECT_EQ(r.graphs[2].title, "TCP flows per class (in)");
  EXPECT_EQ(r.graphs[3].title, "TCP RTT avg per flow, percentiles (in)");
  EXPECT_EQ(r.graphs[4].title, "ip_len_in: average, minimum, maximum");
  EXPECT_EQ(r.graphs[5].title, "ip_len_in: percentiles");
  EXPECT_EQ(r.graphs[9].title, "tcp_rtt_avg_in: average, standard deviation");
  for (const auto& g : r.graphs) expect_png(fs::path(out) / g.png, 640, 240);

  const std::string html = test::slurp(fs::path(out) / "index.html");
  std::set<std::string> referenced;
  static const std::regex img("<img src=\"([^\"]+)\" width=\"640\" height=\"240\" alt=\"([^\"]+)\">");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), img); it != std::sregex_iterator(); ++it) {
    referenced.insert((*it)[1]);
    EXPECT_TRUE(fs::is_regular_file(fs::path(out) / (*it)[1].str())) << (*it)[1];
  }
  std::set<std::string> on_disk = files_in(out);
  on_disk.erase("index.html");
  EXPECT_EQ(referenced, on_disk);
  EXPECT_EQ(referenced.size(), r.graphs.size());
  for (const auto& g : r.graphs)
    EXPECT_NE(html.find("alt=\"" + g.title + "\"><figcaption>" + g.title + "</figcaption>"),
              std::string::npos)
        << g.title;
  for (const char* section : {"<h2>Traffic volume</h2>", "<h2>Flows per class</h2>",
                              "<h2>TCP round-trip times</h2>", "<h2>Other histograms</h2>"})
    EXPECT_NE(html.find(section), std::string::npos) << section;
  EXPECT_NE(html.find("2023-11-14 22:15:00 UTC to 2023-11-14 22:45:00 UTC, 10 graphs."), std::string::npos);
}

TEST(RrdReport, TimeRangeOptions) {
  TempDir tmp;
  const std::string dir = tmp / "rrd";
  fill(tmp, dir);
  app::Report r = app::render_report({dir, tmp / "a", 400, 200, "end-600", {}});
  EXPECT_EQ(r.start, kT0 + 1200);
  EXPECT_EQ(r.end, kT0 + 1800);
  expect_png(tmp.p / "a" / r.graphs[0].png, 400, 200);
  r = app::render_report({dir, tmp / "b", 400, 200, std::to_string(kT0 + 300), std::to_string(kT0 + 900)});
  EXPECT_EQ(r.start, kT0 + 300);
  EXPECT_EQ(r.end, kT0 + 900);
  EXPECT_EQ(
      report_error({dir, tmp / "c", 400, 200, "yesterday-ish", {}}).rfind("--start 'yesterday-ish': ", 0),
      0u);
  EXPECT_EQ(report_error({dir, tmp / "c", 400, 200, std::to_string(kT0 + 900), std::to_string(kT0 + 300)}),
            "time range '" + std::to_string(kT0 + 900) + "' to '" + std::to_string(kT0 + 300) +
                "': start is not before end");
  EXPECT_FALSE(fs::exists(tmp / "c"));
}

TEST(RrdReport, PacketTimesNear1970) {
  // Some captures are stamped near the epoch: librrd writes such archives
  // but its graphs refuse times before 1979-12-30.
  TempDir tmp;
  write_file(tmp / "rrd.conf", "lat avg\n");
  {
    Sink s({{"dir", tmp / "rrd"}, {"config", tmp / "rrd.conf"}});
    for (int k = 1; k <= 4; ++k) {
      auto w = window(k);
      w->end_ns = static_cast<std::uint64_t>(300 * k) * kNs;
      w->start_ns = w->end_ns - 300 * kNs;
      s.feed(w);
    }
    EXPECT_EQ(s.ctx.value("values"), 4u);
    EXPECT_EQ(s.ctx.logs,
              std::vector<std::string>{"window 1 ends at 300, before 315360000 (1979-12-30): written, "
                                       "but librrd cannot graph times that early"});
  }
  EXPECT_EQ(report_error({tmp / "rrd", tmp / "out", 400, 200, {}, {}}),
            tmp / "rrd" +
                ": the time range ends at 1200 (1970-01-01 00:20:00 UTC): librrd cannot graph times before "
                "1979-12-30 00:00:00 UTC");
  // A range that starts too early is cut.
  TempDir late;
  fill(late, late / "rrd");
  app::Report r = app::render_report({late / "rrd", late / "out", 400, 200, "599", {}});
  EXPECT_EQ(r.start, 315360000);
  EXPECT_EQ(r.warnings,
            std::vector<std::string>{"start 599 moved to 315360000: librrd cannot graph earlier times"});
  EXPECT_EQ(r.graphs.size(), 10u);
}

TEST(RrdReport, NoRrdFiles) {
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  write_file(tmp / "empty/notes.txt", "x");
  EXPECT_EQ(report_error({tmp / "empty", tmp / "out", 400, 200, {}, {}}), tmp / "empty" + ": no .rrd files");
  EXPECT_EQ(report_error({tmp / "nowhere", tmp / "out", 400, 200, {}, {}}),
            tmp / "nowhere" + ": not a directory");
  write_file(tmp / "empty/bad.avg.rrd", "not an rrd");
  EXPECT_EQ(report_error({tmp / "empty", tmp / "out", 400, 200, {}, {}}),
            tmp / "empty" + ": no readable .rrd files");
  EXPECT_FALSE(fs::exists(tmp / "out"));
}

TEST(RrdReport, UnreadableFileIsLeftOutWithAWarning) {
  TempDir tmp;
  const std::string dir = tmp / "rrd";
  fill(tmp, dir);
  write_file(dir + "/broken.avg.rrd", "not an rrd");
  app::Report r = app::render_report({dir, tmp / "out", 400, 200, {}, {}});
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].rfind(dir + "/broken.avg.rrd: not read: ", 0), 0u) << r.warnings[0];
  EXPECT_EQ(r.graphs.size(), 10u);
}

TEST(RrdReport, CommandLine) {
  const std::string bin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
  if (!fs::exists(bin)) GTEST_SKIP() << bin << " is not built (cmake --build ... --target netloom)";
  TempDir tmp;
  fs::create_directories(tmp / "empty");
  auto e = test::run({bin, "report", tmp / "empty", tmp / "out"});
  EXPECT_EQ(e.status, 2);
  EXPECT_EQ(e.err, "netloom: error: " + (tmp / "empty") + ": no .rrd files\n");
  fill(tmp, tmp / "rrd");
  auto r = test::run({bin, "report", tmp / "rrd", tmp / "out", "--width", "500", "--height", "150"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, tmp / "out" + "/index.html: 10 graphs\n");
  EXPECT_EQ(r.err, "");
  expect_png(tmp.p / "out" / "L7_TCP_num_in.idx.png", 500, 150);
}
