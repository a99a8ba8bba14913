// Hot reload on a running graph (Runtime::reload): a paced replay of the demo
// capture (PcapSource rate, a live-like source) while the composition is
// changed 60 times — sinks added and removed, a live parameter changed, the
// classifier swapped, an invalid composition refused — must account for
// every packet exactly and leave the unchanged branch's flow log identical to
// a run without reloads.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "composition/composition.hpp"
#include "runtime/registry.hpp"
#include "runtime/runtime.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::core;

namespace {

const Registry& registry() {
  static Registry reg = [] {
    Registry r;
    std::vector<std::string> errors;
    r.load_dir(std::string(NETLOOM_BUILD_ROOT) + "/plugins", errors);
    for (const auto& e : errors) ADD_FAILURE() << e;
    return r;
  }();
  return reg;
}

std::shared_ptr<const ValidatedComposition> validated(const std::string& xml) {
  std::vector<Diagnostic> diags;
  auto comp = parse_composition_string(xml, "reload.xml", {}, diags);
  auto vc = std::make_shared<ValidatedComposition>();
  if (diags.empty())
    validate_composition(
        comp,
        [](std::string_view t) -> const BlockInfo* {
          auto* bt = registry().find(t);
          return bt ? &bt->info : nullptr;
        },
        *vc, diags);
  for (auto& d : diags) ADD_FAILURE() << d.str();
  return vc;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

const BlockStats* find(const std::vector<BlockStats>& st, const std::string& id) {
  for (const auto& b : st)
    if (b.id == id) return &b;
  return nullptr;
}
std::uint64_t counter(const BlockStats& b, const std::string& name) {
  for (const auto& [n, v] : b.counters)
    if (n == name) return v;
  return ~0ull;
}

constexpr int kCopies = 10;  // the demo capture read 10 times: 6850 packets

// One generation of the composition. Always: cap -> trk -> logs_a (the
// unchanged branch) and cap -> cnt (a counting sink). Varied: the source's
// pace (a live parameter), an extra counting sink, and which classifier
// feeds logs_b; `broken` gives logs_b a directory that cannot be created.
std::string composition(const fs::path& dir, int i, bool broken = false, bool paced = true) {
  const std::string demo = std::string(NETLOOM_SOURCE_ROOT) + "/data/demo.pcap";
  std::string files;
  for (int c = 0; c < kCopies; ++c) files += (c ? "," : "") + demo;
  const bool pdpi = (i / 6) % 2 == 0;  // swap the classifier every 6th generation
  const bool extra = i % 2 == 1;       // a sink that comes and goes
  // Slow enough that the 60 reloads (a PDPI build compiles its Hyperscan
  // database) happen while packets flow, even under sanitizers; the test
  // then lets the rest of the replay run at full speed.
  const int rate = !paced ? 0 : i % 3 == 0 ? 500 : 600;  // changes live
  std::ostringstream x;
  x << "<composition name='reload' threads='${threads}' batch='32'>\n"
    << "<var name='threads' default='1'/>\n"
    << "<block id='cap' type='PcapSource'><param name='files' value='" << files << "'/>"
    << "<param name='rate' value='" << rate << "'/><param name='progress' value='false'/></block>\n"
    << "<block id='trk' type='FlowTracker'><param name='gc_trigger' value='new_flow'/></block>\n"
    << "<block id='cnt' type='PacketCounter'><param name='output' value='" << (dir / "cnt.json").string()
    << "'/></block>\n"
    << "<block id='logs_a' type='LogSink'><param name='dir' value='" << (dir / "a").string()
    << "'/><param name='layout' value='flat'/></block>\n"
    << "<block id='cls' type='" << (pdpi ? "PDPI" : "BayesClassifier") << "'/>\n"
    << "<block id='logs_b' type='LogSink'><param name='dir' value='"
    << (broken ? std::string("/proc/netloom-no-such-dir") : (dir / "b").string())
    << "'/><param name='layout' value='flat'/></block>\n";
  if (extra)
    x << "<block id='extra' type='PacketCounter'><param name='output' value='"
      << (dir / ("extra" + std::to_string(i) + ".json")).string() << "'/></block>\n"
      << "<connect from='cap.out' to='extra.in'/>\n";
  x << "<connect from='cap.out' to='trk.in'/>\n"
    << "<connect from='cap.out' to='cnt.in'/>\n"
    << "<connect from='trk.records' to='logs_a.in'/>\n"
    << "<connect from='trk.out' to='cls.in'/>\n"
    << "<connect from='cls.out' to='logs_b.flows'/>\n"
    << "</composition>\n";
  return x.str();
}

// The packet count a PacketCounter wrote ({"packets": N, ...}).
std::uint64_t counted(const fs::path& json) {
  const std::string s = slurp(json);
  const auto at = s.find("\"packets\":");
  return at == std::string::npos ? ~0ull : std::stoull(s.substr(at + 10));
}

class Reload : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("netloom-reload-" + std::to_string(::getpid()) + "-" + std::to_string(GetParam()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ref");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_P(Reload, SixtyReloadsLoseNothing) {
  const int threads = GetParam();
  RunOptions o;
  o.threads = threads;
  std::vector<std::string> logs;
  o.log = [&](LogLevel, const std::string& s) { logs.push_back(s); };

  // Reference: the same input without reloads.
  {
    auto vc = validated(composition(dir_ / "ref", 0, false, false));
    Runtime rt(registry(), vc, o);
    std::vector<std::string> errors;
    ASSERT_TRUE(rt.build(errors)) << errors.front();
    ASSERT_EQ(rt.run(), 0u);
  }

  auto first = validated(composition(dir_, 0));
  Runtime rt(registry(), first, o);
  std::vector<std::string> errors;
  ASSERT_TRUE(rt.build(errors)) << errors.front();
  std::atomic<bool> finished{false};
  std::uint64_t run_errors = 0;
  std::thread runner([&] {
    run_errors = rt.run();
    finished = true;
  });

  int applied = 0, refused = 0;
  for (int i = 1; i <= 60; ++i) {
    const bool broken = i == 31;  // one invalid generation in the middle
    auto t0 = std::chrono::steady_clock::now();
    ReloadReport r = rt.reload(validated(composition(dir_, i, broken)));
    if (getenv("RELOAD_DEBUG"))
      fprintf(stderr, "reload %d (finished %d, cap %llu): %.1f ms %s\n", i, int(finished.load()),
              (unsigned long long)counter(*find(rt.stats(), "cap"), "packets"),
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count(),
              ::testing::PrintToString(r.lines).c_str());
    if (broken) {
      EXPECT_FALSE(r.applied);
      ASSERT_FALSE(r.lines.empty());
      bool named = false;
      for (const auto& l : r.lines)
        named = named || l.find("reload.xml:8: block 'logs_b': parameter 'dir'") == 0;
      EXPECT_TRUE(named) << ::testing::PrintToString(r.lines);
      EXPECT_EQ(r.lines.back(), "reload refused: the running graph is unchanged");
      ++refused;
      // The old graph is still the one running: generation 30's pace, no extra sink.
      std::string v, err;
      EXPECT_TRUE(rt.get_param("cap", "rate", v, err)) << err;
      EXPECT_EQ(v, "500");
      EXPECT_FALSE(rt.get_param("extra", "output", v, err));
      continue;
    }
    ASSERT_TRUE(r.applied) << (r.lines.empty() ? "" : r.lines.front());
    ++applied;
    // The source's pace changed in place (a live parameter), never rebuilt.
    for (const auto& l : r.lines) EXPECT_EQ(l.find("rebuilt 'cap'"), std::string::npos) << l;
    std::string v, err;
    ASSERT_TRUE(rt.get_param("cap", "rate", v, err)) << err;
    EXPECT_EQ(v, i % 3 == 0 ? "500" : "600");
  }
  // Every reload happened while packets were flowing.
  EXPECT_FALSE(finished.load()) << "the replay ended before the 60th reload: slow the pace";
  std::string err;
  EXPECT_TRUE(rt.set_param("cap", "rate", "0", err)) << err;  // the rest at full speed
  runner.join();
  EXPECT_EQ(run_errors, 0u);
  EXPECT_EQ(applied, 59);
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(rt.reload_counts(), (std::pair<std::uint64_t, std::uint64_t>{59, 1}));

  const auto st = rt.stats();
  const std::uint64_t total = 685ull * kCopies;
  EXPECT_EQ(counter(*find(st, "cap"), "packets"), total);  // the source, kept through every reload
  EXPECT_EQ(counted(dir_ / "cnt.json"), total);            // the counting sink, likewise
  EXPECT_EQ(counted(dir_ / "ref/cnt.json"), total);
  // Every sink that left flushed its totals on the way out.
  for (int i = 1; i <= 59; i += 2)
    EXPECT_TRUE(fs::exists(dir_ / ("extra" + std::to_string(i) + ".json"))) << i;
  // The unchanged branch wrote exactly what it writes without reloads.
  for (const char* log : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"}) {
    const std::string ref = slurp(dir_ / "ref/a" / log);
    EXPECT_GT(std::count(ref.begin(), ref.end(), '\n'), 10) << log;
    EXPECT_TRUE(slurp(dir_ / "a" / log) == ref) << log << " differs from the run without reloads";
  }
}

INSTANTIATE_TEST_SUITE_P(Threads, Reload, ::testing::Values(1, 2),
                         [](const auto& info) { return std::to_string(info.param) + "thread"; });

// set_param / get_param / graph_dot on a graph that has not run yet.
TEST(LiveParams, SetParamChecksBlockNameAndLiveness) {
  auto vc = validated(
      "<composition name='x' threads='1'><block id='cap' type='PcapSource'><param name='files' value='" +
      std::string(NETLOOM_SOURCE_ROOT) +
      "/data/demo.pcap'/></block>"
      "<block id='cnt' type='PacketCounter'/><connect from='cap.out' to='cnt.in'/></composition>");
  Runtime rt(registry(), vc, {});
  std::vector<std::string> errors;
  ASSERT_TRUE(rt.build(errors));
  std::string err;
  EXPECT_FALSE(rt.set_param("cap", "files", "x.pcap", err));
  EXPECT_EQ(err, "parameter 'files' of block 'cap' cannot change live (reload a composition instead)");
  EXPECT_FALSE(rt.set_param("nope", "rate", "1", err));
  EXPECT_EQ(err, "no block 'nope' in the running graph");
  EXPECT_FALSE(rt.set_param("cap", "rate", "-5", err));
  EXPECT_NE(err.find("rate"), std::string::npos) << err;
  EXPECT_TRUE(rt.set_param("cap", "rate", "12345", err)) << err;
  std::string v;
  EXPECT_TRUE(rt.get_param("cap", "rate", v, err));
  EXPECT_EQ(v, "12345");
  EXPECT_EQ(rt.run(), 0u);
  EXPECT_EQ(counter(*find(rt.stats(), "cnt"), "packets"), 685u);
  const std::string dot = rt.graph_dot();
  EXPECT_NE(dot.find("\"cap\" -> \"cnt\" [label=\"out -> in\"]"), std::string::npos) << dot;
}

// A replicated group (tracker + PDPI, flow-sharded) survives a reload that
// leaves it alone; changing its replica count or rebuilding a member is
// refused with the reason, and the run then logs every flow once.
namespace {
std::string replicated(const fs::path& dir, int replicas, int max_packets, bool counter) {
  std::ostringstream x;
  x << "<composition name='rep' threads='2'>\n"
    << "<block id='cap' type='PcapSource'><param name='files' value='" << NETLOOM_SOURCE_ROOT
    << "/data/demo.pcap'/></block>\n"
    << "<block id='trk' type='FlowTracker' replicas='" << replicas << "'/>\n"
    << "<block id='pdpi' type='PDPI' replicas='" << replicas << "'><param name='max_packets' value='"
    << max_packets << "'/></block>\n"
    << "<block id='logs' type='LogSink'><param name='dir' value='" << (dir / "logs").string()
    << "'/><param name='layout' value='flat'/></block>\n"
    << "<connect from='cap.out' to='trk.in'/>\n"
    << "<connect from='trk.out' to='pdpi.in'/>\n"
    << "<connect from='pdpi.out' to='logs.flows'/>\n";
  if (counter)
    x << "<block id='cnt' type='PacketCounter'><param name='output' value='" << (dir / "cnt.json").string()
      << "'/></block>\n<connect from='pdpi.out' to='cnt.in'/>\n";
  return x.str() + "</composition>\n";
}
}  // namespace

TEST(ReloadReplicas, GroupKeptWhenUnchangedRefusedOtherwise) {
  const fs::path dir = fs::temp_directory_path() / ("netloom-reload-rep-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  RunOptions o;
  std::vector<std::string> logs;
  o.log = [&](LogLevel, const std::string& s) { logs.push_back(s); };
  Runtime rt(registry(), validated(replicated(dir, 2, 40, false)), o);
  std::vector<std::string> errors;
  ASSERT_TRUE(rt.build(errors)) << errors.front();

  ReloadReport r = rt.reload(validated(replicated(dir, 2, 40, true)));  // a sink after the group
  EXPECT_TRUE(r.applied) << ::testing::PrintToString(r.lines);
  EXPECT_EQ(r.lines.back(), "reload applied: 4 blocks kept, 1 built");

  r = rt.reload(validated(replicated(dir, 3, 40, true)));
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.lines,
            (std::vector<std::string>{"reload refused: replicated groups differ (members, replicas or "
                                      "input); restart netloom to apply"}));
  r = rt.reload(validated(replicated(dir, 2, 41, true)));
  EXPECT_FALSE(r.applied);
  EXPECT_EQ(r.lines.back(),
            "reload refused: 'pdpi' is replicated and would be rebuilt; only its live parameters can change "
            "without a restart");
  EXPECT_EQ(rt.reload_counts(), (std::pair<std::uint64_t, std::uint64_t>{1, 2}));

  EXPECT_EQ(rt.run(), 0u);
  const auto st = rt.stats();
  EXPECT_EQ(counter(*find(st, "trk"), "flows_opened"), 59u);  // summed over both instances
  EXPECT_EQ(counted(dir / "cnt.json"), 685u);
  const std::string tcp = slurp(dir / "logs/log_tcp_complete");
  EXPECT_EQ(std::count(tcp.begin(), tcp.end(), '\n'), 31);
  fs::remove_all(dir);
}
