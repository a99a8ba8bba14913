// Flow-sharded replicas (composition `replicas`, docs/runtime.md): the run of
// compositions/tstat.xml with N replicas writes the same files, byte for
// byte, as the run with one: logs, histograms, pcap dumps. RRD archives are
// compared through `rrdtool dump`, since librrd stamps each file with the
// wall clock's microseconds of its last update.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "netloom/flow_order.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::run;

namespace {
// These tests compare the outputs of about a hundred netloom runs, several
// threads each. In the sanitizer build GCC 12's LeakSanitizer often crashes
// in such children at exit ("Tracer caught signal 11", guessing a dlopen'ed
// library's TLS block; docs/robustness.md), three times in a row in one CI
// run: the children run without leak checking. The group code is
// leak-checked in-process (test_reload's ReloadReplicas, test_runtime).
const bool kChildrenWithoutLeakCheck = [] {
  const char* given = std::getenv("ASAN_OPTIONS");
  std::string opts = given ? given : "";
  if (!opts.empty()) opts += ":";
  ::setenv("ASAN_OPTIONS", (opts + "detect_leaks=0").c_str(), 1);  // the last setting wins
  return true;
}();

const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSynth = std::string(NETLOOM_BUILD_ROOT) + "/netloom-synth";
const std::string kSrc = NETLOOM_SOURCE_ROOT;

fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("netloom-shards-" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

struct Outcome {
  netloom::test::Result r;
  fs::path out;
};

// compositions/tstat.xml on `input` with `replicas` instances of the tracker
// and classifiers; threads 1 runs them one after the other on one thread.
Outcome tstat(const fs::path& input, const std::string& replicas, int threads, const fs::path& out) {
  Outcome x;
  x.out = out;
  x.r = run({kBin, "run", kSrc + "/compositions/tstat.xml", "--threads", std::to_string(threads), "-D",
             "input=" + input.string(), "-D", "out=" + out.string(), "-D", "layout=flat", "-D",
             "replicas=" + replicas, "-D", "dump_udp=unknown,dns"});
  return x;
}

// Every file under `dir`: relative path -> contents (.rrd: `rrdtool dump`).
std::map<std::string, std::string> tree(const fs::path& dir, bool rrd) {
  std::map<std::string, std::string> files;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    const std::string rel = fs::relative(e.path(), dir).string();
    if (e.path().extension() == ".rrd") {
      if (rrd) files[rel] = run({"/usr/bin/rrdtool", "dump", e.path().string()}).out;
    } else {
      files[rel] = netloom::test::slurp(e.path());
    }
  }
  return files;
}

// The same files with the same bytes; names the first difference.
void expect_same_files(const Outcome& a, const Outcome& b, bool rrd, const std::string& what) {
  const auto fa = tree(a.out, rrd), fb = tree(b.out, rrd);
  std::vector<std::string> only_a, only_b, differ;
  for (const auto& [name, text] : fa) {
    auto it = fb.find(name);
    if (it == fb.end())
      only_a.push_back(name);
    else if (it->second != text)
      differ.push_back(name);
  }
  for (const auto& [name, text] : fb)
    if (!fa.count(name)) only_b.push_back(name);
  EXPECT_TRUE(only_a.empty()) << what << ": only in " << a.out << ": " << only_a.front();
  EXPECT_TRUE(only_b.empty()) << what << ": only in " << b.out << ": " << only_b.front();
  for (const auto& name : differ) {
    const std::string &x = fa.at(name), &y = fb.at(name);
    std::size_t i = 0;
    while (i < x.size() && i < y.size() && x[i] == y[i]) ++i;
    const std::size_t line = static_cast<std::size_t>(std::count(x.begin(), x.begin() + i, '\n')) + 1;
    ADD_FAILURE() << what << ": " << name << " differs from line " << line;
  }
}

// A counter of the run summary (stderr): "name=value" of block `id`'s line.
std::uint64_t counter(const std::string& err, const std::string& block, const std::string& name) {
  std::smatch m;
  const std::regex re("(^|\\n)" + block + " \\([A-Za-z]+\\)[^\\n]*\\n[^\\n]*\\b" + name + "=([0-9]+)");
  return std::regex_search(err, m, re) ? std::stoull(m[2]) : ~0ull;
}

std::size_t lines(const fs::path& p) {
  const std::string s = netloom::test::slurp(p);
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(Shards, DemoWithTwoAndThreeReplicasWritesTheSameFiles) {
  const fs::path demo = kSrc + "/data/demo.pcap";
  const fs::path d = scratch("demo");
  const Outcome one = tstat(demo, "1", 1, d / "r1");
  const Outcome two = tstat(demo, "2", 2, d / "r2");
  const Outcome three = tstat(demo, "3", 1, d / "r3");  // replicas taking turns on one thread
  // One replica on two threads: the tracker and classifiers still run as one
  // chain per batch, so nothing reads a flow that is being updated.
  const Outcome threaded = tstat(demo, "1", 2, d / "t2");
  for (const Outcome* x : {&one, &two, &three, &threaded}) ASSERT_EQ(x->r.status, 0) << x->r.err;
  EXPECT_EQ(lines(d / "r1/log_tcp_complete"), 31u);
  EXPECT_EQ(lines(d / "r1/log_udp_complete"), 26u);
  expect_same_files(one, two, true, "2 replicas");
  expect_same_files(one, three, false, "3 replicas");
  expect_same_files(one, threaded, false, "1 replica, 2 threads");
  // The summary adds up the instances' counters.
  EXPECT_EQ(counter(one.r.err, "trk", "flows_opened"), 59u) << one.r.err;
  EXPECT_EQ(counter(two.r.err, "trk", "flows_opened"), 59u) << two.r.err;
  EXPECT_EQ(counter(three.r.err, "trk", "flows_opened"), 59u) << three.r.err;
  EXPECT_NE(two.r.err.find("replica 1: "), std::string::npos) << two.r.err;
}

TEST(Shards, DevCapturesGiveTheSameFilesWithTwoReplicas) {
  const fs::path dev = netloom::test::corpus_root() / "dev";
  if (!fs::is_directory(dev)) GTEST_SKIP() << "no corpus at " << dev << " (set NETLOOM_CORPUS)";
  std::vector<fs::path> captures;
  for (const auto& e : fs::directory_iterator(dev))
    if (e.path().extension() == ".pcap" || e.path().extension() == ".pcapng") captures.push_back(e.path());
  std::sort(captures.begin(), captures.end());
  ASSERT_GE(captures.size(), 40u);
  const fs::path d = scratch("dev");
  std::size_t flows = 0;
  for (const auto& cap : captures) {
    const std::string name = cap.filename().string();
    const Outcome one = tstat(cap, "1", 1, d / (name + ".r1"));
    const Outcome two = tstat(cap, "2", 2, d / (name + ".r2"));
    ASSERT_EQ(one.r.status, 0) << name << ": " << one.r.err;
    ASSERT_EQ(two.r.status, 0) << name << ": " << two.r.err;
    expect_same_files(one, two, false, name);
    flows += counter(one.r.err, "trk", "flows_opened");
    EXPECT_EQ(counter(one.r.err, "trk", "flows_opened"), counter(two.r.err, "trk", "flows_opened")) << name;
    fs::remove_all(one.out);
    fs::remove_all(two.out);
  }
  EXPECT_GT(flows, 1000u);
}

// A million packets over two hours of trace time: timeouts, interleaved
// flows, nine histogram windows.
TEST(Shards, MillionPacketTraceGivesTheSameFilesWithTwoReplicas) {
  const fs::path d = scratch("million");
  const fs::path trace = d / "million.pcap";
  auto synth = run({kSynth, "-o", trace.string(), "--flows", "95200", "--duration", "7200", "--seed", "7"});
  ASSERT_EQ(synth.status, 0) << synth.err;
  ASSERT_NE(synth.err.find("1000556 packets"), std::string::npos) << synth.err;
  const Outcome one = tstat(trace, "1", 1, d / "r1");
  const Outcome two = tstat(trace, "2", 2, d / "r2");
  const Outcome threaded = tstat(trace, "1", 2, d / "t2");
  ASSERT_EQ(one.r.status, 0) << one.r.err;
  ASSERT_EQ(two.r.status, 0) << two.r.err;
  ASSERT_EQ(threaded.r.status, 0) << threaded.r.err;
  expect_same_files(one, threaded, false, "1M packets, 1 replica, 2 threads");
  EXPECT_EQ(counter(one.r.err, "trk", "flows_opened"), 95049u) << one.r.err;
  EXPECT_GT(lines(d / "r1/log_tcp_complete"), 40000u);
  EXPECT_GT(lines(d / "r1/log_udp_complete"), 40000u);
  expect_same_files(one, two, false, "1M packets, 2 replicas");
  fs::remove_all(d);
}

}  // namespace

// Classifiers replicated behind a tracker that is not (a serial block between
// them): each replica gets the packets and events of its flows only (the
// others' packets carry no flow).
TEST(Shards, ClassifiersReplicatedBehindOneTrackerLogTheSame) {
  const fs::path d = scratch("classifiers");
  auto xml = [&](int replicas) {
    const std::string r = std::to_string(replicas);
    std::string file = "c";  // (built in steps: GCC 12 warns falsely on "c" + r + ".xml")
    file += r;
    file += ".xml";
    const fs::path f = d / file;
    std::ofstream(f) << "<composition name='c' threads='2'>\n"
                     << "<var name='input' default=''/><var name='out' default=''/>\n"
                     << "<block id='cap' type='PcapSource'><param name='files' value='${input}'/></block>\n"
                     << "<block id='trk' type='FlowTracker'/><block id='pass' type='TestPass'/>\n"
                     << "<block id='pdpi' type='PDPI' replicas='" << r << "'/>\n"
                     << "<block id='fsm' type='FSMDPI' replicas='" << r << "'/>\n"
                     << "<block id='skype' type='BayesClassifier' replicas='" << r << "'/>\n"
                     << "<block id='logs' type='LogSink'><param name='dir' value='${out}'/>"
                     << "<param name='layout' value='flat'/></block>\n"
                     << "<connect from='cap.out' to='trk.in'/><connect from='trk.out' to='pass.in'/>\n"
                     << "<connect from='pass.out' to='pdpi.in'/>\n"
                     << "<connect from='pdpi.out' to='fsm.in'/><connect from='fsm.out' to='skype.in'/>\n"
                     << "<connect from='skype.out' to='logs.flows'/>\n</composition>\n";
    return f.string();
  };
  std::vector<fs::path> inputs{kSrc + "/data/demo.pcap"};
  const fs::path dev = netloom::test::corpus_root() / "dev";
  for (const char* name : {"skype_B.pcap", "android.pcap", "gnutella_B.pcap", "whatsapp_login_call.pcap"})
    if (fs::exists(dev / name)) inputs.push_back(dev / name);
  const std::string one = xml(1), two = xml(2);
  for (const auto& in : inputs) {
    const std::string name = in.filename().string();
    Outcome a, b;
    a.out = d / (name + ".1");
    b.out = d / (name + ".2");
    const std::string plugins = NETLOOM_SHARDS_PLUGIN_DIR;
    a.r = run({kBin, "run", one, "--plugin-path", plugins, "-D", "input=" + in.string(), "-D",
               "out=" + a.out.string()});
    b.r = run({kBin, "run", two, "--plugin-path", plugins, "-D", "input=" + in.string(), "-D",
               "out=" + b.out.string()});
    ASSERT_EQ(a.r.status, 0) << a.r.err;
    ASSERT_EQ(b.r.status, 0) << b.r.err;
    expect_same_files(a, b, false, name);
    // Every flow inspected once, by one replica.
    EXPECT_EQ(counter(a.r.err, "pdpi", "flows_inspected"), counter(b.r.err, "pdpi", "flows_inspected"))
        << name;
    EXPECT_EQ(counter(a.r.err, "skype", "flows_seen"), counter(b.r.err, "skype", "flows_seen")) << name;
  }
}

// A replicable block that does not forward its batch in one replica: the
// merge cannot pair the replicas' outputs, drops the batch, says so and the
// run ends with errors (never a hang or a half-merged batch).
TEST(Shards, ReplicaThatDropsItsBatchIsAnErrorNotAHang) {
  const fs::path d = scratch("dropper");
  const fs::path xml = d / "drop.xml";
  std::ofstream(xml) << "<composition name='drop' threads='2'>\n"
                     << "<block id='cap' type='PcapSource'><param name='files' value='" << kSrc
                     << "/data/demo.pcap'/></block>\n"
                     << "<block id='trk' type='FlowTracker' replicas='2'/>\n"
                     << "<block id='drop' type='TestShardDropper'/>\n"
                     << "<block id='logs' type='LogSink'><param name='dir' value='" << (d / "logs").string()
                     << "'/><param name='layout' value='flat'/></block>\n"
                     << "<connect from='cap.out' to='trk.in'/><connect from='trk.out' to='drop.in'/>\n"
                     << "<connect from='drop.out' to='logs.flows'/>\n</composition>\n";
  const auto r = run({kBin, "run", xml.string(), "--plugin-path", NETLOOM_SHARDS_PLUGIN_DIR});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(
      r.err.find("netloom: error: block 'drop' (TestShardDropper): a replica did not forward its batch once "
                 "with every packet (the replicable contract); its output was dropped"),
      std::string::npos)
      << r.err;
  // No half-merged batch reached the log: every one was dropped.
  EXPECT_NE(r.err.find("\nlogs (LogSink)  in.in=0  in.flows=0\n"), std::string::npos) << r.err;
}

// ---- the canonical order of flow events at one position ----------------------

namespace {
using netloom::FlowContext;
using netloom::FlowEnd;
using netloom::FlowEvent;

FlowContext flow(FlowEnd end, std::uint64_t last_ns, std::uint16_t client_port) {
  FlowContext c;
  c.record.end = end;
  c.record.last_ns = last_ns;
  c.record.key.client_port = client_port;
  return c;
}

TEST(FlowOrder, PreviousPacketsClosesThenTimeoutsByLastPacketThenThisPacketsEvents) {
  FlowContext fin = flow(FlowEnd::fin, 50, 1), idle_late = flow(FlowEnd::idle, 30, 2),
              idle_early = flow(FlowEnd::idle, 10, 3), single = flow(FlowEnd::singleton, 20, 4),
              evicted = flow(FlowEnd::evicted, 5, 5), opened = flow(FlowEnd::open, 60, 6),
              tie_b = flow(FlowEnd::idle, 10, 8), before = flow(FlowEnd::rst, 1, 9);
  using K = FlowEvent::Kind;
  // As two replicas might hand them over: each in its own order, one after the other.
  std::vector<FlowEvent> ev = {
      {K::opened, 7, &opened}, {K::closed, 7, &idle_late},  {K::closed, 7, &tie_b},
      {K::closed, 3, &before}, {K::closed, 7, &evicted},    {K::closed, 7, &single},
      {K::closed, 7, &fin},    {K::closed, 7, &idle_early},
  };
  netloom::sort_flow_events(ev);
  std::vector<FlowContext*> got;
  for (const auto& e : ev) got.push_back(e.flow);
  // evicted and opened keep their relative order (both caused by packet 7).
  const std::vector<FlowContext*> want = {&before, &fin,       &idle_early, &tie_b,
                                          &single, &idle_late, &opened,     &evicted};
  EXPECT_EQ(got, want);
}
}  // namespace
