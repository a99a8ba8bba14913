// The netloom command end to end: version, inspect, check, run, signals.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "corpus.hpp"
#include "netloom/version.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::Result;
using netloom::test::run;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;
const std::string kTestPlugins = NETLOOM_TEST_PLUGIN_DIR;

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("netloom-cli-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

TEST(Cli, Version) {
  auto r = run({kBin, "version"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, std::string("netloom ") + netloom::kVersion + " (plugin ABI " +
                       std::to_string(netloom::kAbiVersion) + ")\n");
}

// librrd's graphing stack (~40 libraries, ~12 ms) and libwiretap's (~25,
// 14 ms) are opened only where they are used: RRD files written or drawn,
// a pcapng file read (blocks/sinks/rrd_lib.hpp, blocks/capture/wiretap_lib.hpp).
TEST(Cli, HeavyLibrariesAreLoadedOnlyWhenUsed) {
  auto loads = [](const Result& r, const char* lib) {
    return r.err.find(std::string("file=") + lib) != std::string::npos;
  };
  auto v = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_FALSE(loads(v, "librrd.so"));
  EXPECT_FALSE(loads(v, "libwiretap.so"));
  EXPECT_FALSE(loads(v, "libcpp-httplib.so"));
  // inspect loads every stock plugin, RRDSink's and PcapSource's among them.
  auto i = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "inspect", "RRDSink"});
  EXPECT_EQ(i.status, 0);
  EXPECT_FALSE(loads(i, "librrd.so"));
  EXPECT_FALSE(loads(i, "libwiretap.so"));
  TempDir t;
  // A pcap file is read by libpcap alone.
  auto c = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "run", kSrc + "/compositions/count.xml", "-q", "-D",
                "out=" + t / "count.json"});
  ASSERT_EQ(c.status, 0) << c.err.substr(c.err.size() > 2000 ? c.err.size() - 2000 : 0);
  EXPECT_FALSE(loads(c, "libwiretap.so"));
  EXPECT_FALSE(loads(c, "libcpp-httplib.so"));
  // The metrics endpoint's HTTP server comes with --metrics-port only.
  auto m = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "run", kSrc + "/compositions/count.xml", "-q",
                "--metrics-port", "0", "-D", "out=" + t / "m.json"});
  ASSERT_EQ(m.status, 0) << m.err.substr(m.err.size() > 2000 ? m.err.size() - 2000 : 0);
  EXPECT_TRUE(loads(m, "libcpp-httplib.so"));
  // Without its module, the endpoint fails in one line and the command stops.
  auto no =
      run({"/usr/bin/env", "NETLOOM_HTTP_MODULE=/nonexistent/netloom_http.so", kBin, "run",
           kSrc + "/compositions/count.xml", "-q", "--metrics-port", "0", "-D", "out=" + t / "no.json"});
  EXPECT_EQ(no.status, 2);
  EXPECT_EQ(no.err.rfind("netloom: error: metrics endpoint 127.0.0.1:0: cannot load the HTTP module "
                         "(/nonexistent/netloom_http.so): ",
                         0),
            0u)
      << no.err;
  // Drawing a report needs librrd: the check above can see it loaded.
  auto rr = run({kBin, "run", kSrc + "/compositions/tstat.xml", "-q", "-D", "out=" + t / "o"});
  ASSERT_EQ(rr.status, 0) << rr.err;
  auto rep = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "report", t / "o/rrd", t / "report"});
  EXPECT_EQ(rep.status, 0) << rep.err.substr(rep.err.size() > 2000 ? rep.err.size() - 2000 : 0);
  EXPECT_TRUE(loads(rep, "librrd.so"));
  // And a pcapng file needs libwiretap.
  const fs::path ng = netloom::test::corpus_root() / "dev/gre.pcapng";
  if (!fs::exists(ng)) GTEST_SKIP() << "no corpus at " << ng << ": the pcapng half is not checked";
  auto n = run({"/usr/bin/env", "LD_DEBUG=files", kBin, "run", kSrc + "/compositions/count.xml", "-q", "-D",
                "input=" + ng.string(), "-D", "out=" + t / "ng.json"});
  ASSERT_EQ(n.status, 0) << n.err.substr(n.err.size() > 2000 ? n.err.size() - 2000 : 0);
  EXPECT_TRUE(loads(n, "libwiretap.so"));
}

TEST(Cli, InspectListsEveryStockBlock) {
  auto r = run({kBin, "inspect"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // no broken stock plugin
  for (const char* t : {"PcapSource", "PacketCounter"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("(^|\n)") + t + " +\\S"))) << t << "\n"
                                                                                           << r.out;
}

TEST(Cli, InspectOneTypePrintsPortsParamsCountersThreading) {
  auto r = run({kBin, "inspect", "PacketCounter"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Threading: serial"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  in  PacketBatch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  out  PacketBatch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  format  choice  default \"json\"  json|text"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  malformed  — packets whose headers lie about their lengths"), std::string::npos);

  auto bad = run({kBin, "inspect", "NoSuchBlock"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(bad.err, "netloom: error: no block type 'NoSuchBlock' (netloom inspect lists them)\n");
}

TEST(Cli, GeneratedBlockReferenceIsCurrent) {
  auto r = run({kBin, "inspect", "--markdown"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("## PcapSource"), std::string::npos);
  EXPECT_NE(r.out.find("| `format` | choice | `json` | json\\|text | no | file format |"), std::string::npos);
  EXPECT_EQ(r.out, netloom::test::slurp(kSrc + "/docs/blocks.md"))
      << "docs/blocks.md is stale: run ./scripts/gen-docs.sh";
}

TEST(Cli, CheckPassesOnEveryShippedComposition) {
  int n = 0;
  for (auto& e : fs::directory_iterator(kSrc + "/compositions")) {
    if (e.path().extension() != ".xml") continue;
    ++n;
    auto r = run({kBin, "check", e.path().string()});
    EXPECT_EQ(r.status, 0) << e.path() << "\n" << r.err;
    EXPECT_NE(r.out.find(": OK ("), std::string::npos) << r.out;
  }
  EXPECT_GE(n, 1);
}

TEST(Cli, CheckReportsErrorsWithFileAndLine) {
  TempDir d;
  write(d / "bad.xml",
        "<composition name='x'>\n  <block id='c' type='PacketCounter'/>\n"
        "  <block id='z' type='NoSuchType'/>\n</composition>\n");
  auto r = run({kBin, "check", d / "bad.xml"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find(d / "bad.xml" + ":3: block 'z': "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(d / "bad.xml" + ":2: block 'c': "), std::string::npos) << r.err;  // input unconnected
  EXPECT_EQ(r.out, "");
}

TEST(Cli, BrokenPluginIsOneWarningAndDoesNotStopOthers) {
  auto r = run({kBin, "inspect", "--plugin-path", kTestPlugins + "/abi_mismatch", "--plugin-path",
                kTestPlugins + "/good"});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "netloom: warning: " + kTestPlugins +
                       "/abi_mismatch/abi_mismatch.so: plugin built for netloom ABI " +
                       std::to_string(netloom::kAbiVersion + 98) + ", this netloom has ABI " +
                       std::to_string(netloom::kAbiVersion) + "; rebuild the plugin against this SDK\n");
  EXPECT_NE(r.out.find("TestSource"), std::string::npos);
  EXPECT_NE(r.out.find("PacketCounter"), std::string::npos);
}

TEST(Cli, PluginPathFromEnvironment) {
  ::setenv("NETLOOM_PLUGIN_PATH", (kTestPlugins + "/good").c_str(), 1);
  auto r = run({kBin, "inspect", "TestSource"});
  ::unsetenv("NETLOOM_PLUGIN_PATH");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Plugin: " + kTestPlugins + "/good/test_blocks.so"), std::string::npos) << r.out;
}

TEST(Cli, SigintStopsGracefullyAndFlushes) {
  TempDir d;
  write(d / "long.xml", R"(<composition name='long' max-in-flight='8'><var name='out'/>
  <block id="src" type="TestSource"><param name="batches" value="1000000000"/></block>
  <block id="snk" type="TestSink"><param name="output" value="${out}"/></block>
  <connect from="src.out" to="snk.in"/></composition>)");
  auto r = run(
      {kBin, "run", d / "long.xml", "-D", "out=" + d / "rec.txt", "--plugin-path", kTestPlugins + "/good"},
      [](pid_t pid) {
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        ::kill(pid, SIGUSR1);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        ::kill(pid, SIGINT);
      });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("stopped by signal"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("snk (TestSink)  in.in="), std::string::npos) << r.err;  // SIGUSR1 stats + summary
  auto rec = netloom::test::slurp(d / "rec.txt");
  ASSERT_GE(rec.size(), 2u);
  EXPECT_EQ(rec.substr(rec.size() - 2), "F\n");  // flushed
}

TEST(Cli, RunCountsTheDemoCapture) {
  TempDir d;
  auto r = run({kBin, "run", kSrc + "/compositions/count.xml", "-D", "input=" + kSrc + "/data/demo.pcap",
                "-D", "out=" + d / "c.json"});
  ASSERT_EQ(r.status, 0) << r.err;
  auto json = netloom::test::slurp(d / "c.json");
  // 685 packets / 292,258 bytes: capinfos on data/demo.pcap.
  EXPECT_EQ(json.rfind("{\"packets\": 685, \"bytes\": 292258, \"wire_bytes\": 292258, ", 0), 0u) << json;
  EXPECT_NE(r.err.find("totals written to " + d / "c.json"), std::string::npos) << r.err;
}

TEST(Cli, UnknownDefineAndBadDefineSyntax) {
  auto r = run({kBin, "check", kSrc + "/compositions/count.xml", "-D", "nosuchvar=1"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown variable 'nosuchvar'"), std::string::npos) << r.err;
  auto r2 = run({kBin, "check", kSrc + "/compositions/count.xml", "-D", "novalue"});
  EXPECT_EQ(r2.status, 2);
  EXPECT_EQ(r2.err, "netloom: error: -D novalue: expected name=value\n");
}

// A live-like input (a FIFO whose writer stays open) stopped by SIGINT: every
// packet that arrived is in the logs, the gzip logs are complete streams, and
// the interrupted read is not reported as a damaged capture.
namespace {
void sigint_on_a_stream(const char* threads) {
  SCOPED_TRACE(std::string("threads ") + threads);
  TempDir d;
  const std::string fifo = d / "in.pcap";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    int fd = ::open(fifo.c_str(), O_WRONLY);
    std::string data = netloom::test::slurp(kSrc + "/data/demo.pcap");
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = ::write(fd, data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the link stays up
    ::close(fd);
  });
  auto r = run({kBin, "run", kSrc + "/compositions/flows.xml", "-D", "input=" + fifo, "-D",
                "out=" + d / "logs", "-D", "layout=flat", "-D", "gzip=true", "-t", threads},
               [](pid_t pid) {
                 std::this_thread::sleep_for(std::chrono::milliseconds(700));
                 ::kill(pid, SIGINT);
               });
  done = true;
  writer.join();
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("685 packets from the sources (stopped by signal)"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("netloom: error"), std::string::npos) << r.err;
  std::map<std::string, int> lines;
  for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"}) {
    gzFile gz = gzopen((d / ("logs/" + std::string(name) + ".gz")).c_str(), "rb");
    ASSERT_NE(gz, nullptr) << name;
    char buf[65536];
    int n, total = 0;
    std::string text;
    while ((n = gzread(gz, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
    int err = 0;
    gzerror(gz, &err);
    EXPECT_TRUE(gzeof(gz)) << name;
    EXPECT_EQ(err, Z_OK) << name;  // a complete stream, trailer included
    gzclose(gz);
    for (char c : text) total += c == '\n';
    lines[name] = total;
  }
  // Header + flows: 30 complete and 4 nocomplete TCP, 25 UDP in data/demo.pcap.
  EXPECT_EQ(lines["log_tcp_complete"], 31);
  EXPECT_EQ(lines["log_tcp_nocomplete"], 5);
  EXPECT_EQ(lines["log_udp_complete"], 26);
}
}  // namespace

// On two threads the source reads on a thread of its own: the stop must
// interrupt its blocked read too.
TEST(Cli, SigintOnAStreamLeavesCompleteGzipLogs) {
  sigint_on_a_stream("1");
  sigint_on_a_stream("2");
}

// The logs do not depend on how many threads ran the graph.
TEST(Cli, FlowLogsAreIdenticalOnOneAndTwoThreads) {
  TempDir d;
  for (const char* t : {"1", "2"}) {
    auto r = run({kBin, "run", kSrc + "/compositions/flows.xml", "-q", "-t", t, "-D",
                  "input=" + kSrc + "/data/demo.pcap", "-D", "out=" + d / t, "-D", "layout=flat"});
    ASSERT_EQ(r.status, 0) << r.err;
  }
  for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"}) {
    auto one = netloom::test::slurp(d / (std::string("1/") + name));
    EXPECT_GT(one.size(), 500u) << name;
    EXPECT_EQ(one, netloom::test::slurp(d / (std::string("2/") + name))) << name;
  }
}

// compositions/tstat.xml end to end: the classifiers' verdicts reach the logs.
// data/demo.labels.csv (the synthesizer's ground truth) has 18 DNS and 5 QUIC
// flows; Tstat's udp_type codes are 19 (DNS) and 27 (QUIC).
TEST(Cli, TstatCompositionLogsClassifierCodes) {
  TempDir d;
  auto r = run({kBin, "run", kSrc + "/compositions/tstat.xml", "-q", "-D",
                "input=" + kSrc + "/data/demo.pcap", "-D", "out=" + d / "logs", "-D", "layout=flat"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::map<std::string, int> types;  // "c_type s_type" -> flows
  std::istringstream log(netloom::test::slurp(d / "logs/log_udp_complete"));
  std::string line;
  std::getline(log, line);  // header
  while (std::getline(log, line)) {
    std::istringstream f(line);
    std::vector<std::string> v;
    for (std::string t; f >> t;) v.push_back(t);
    ASSERT_GE(v.size(), 18u);
    ++types[v[8] + " " + v[17]];
  }
  EXPECT_EQ(types["19 19"], 18);
  EXPECT_EQ(types["27 27"], 5);
  EXPECT_EQ(types["0 0"], 2);  // NTP: no Tstat udp_type
}

// Hot reload through the command: an edited file with a syntax error is
// refused (the running graph goes on), a valid edit adds a counting sink and
// a block of a plugin dropped into the plugin path mid-run, SIGHUP reloads
// too, and a plugin path rescan refuses a plugin file that changed on disk.
TEST(Cli, EditedCompositionReloadsAndBrokenEditIsRefused) {
  TempDir d;
  const std::string demo = std::string(NETLOOM_SOURCE_ROOT) + "/data/demo.pcap";
  const std::string base =
      "<composition name='live' threads='1' batch='16'>\n"
      "<block id='cap' type='PcapSource'><param name='files' value='" +
      demo +
      "'/><param name='rate' value='100'/><param name='progress' value='false'/></block>\n"
      "<block id='cnt' type='PacketCounter'><param name='output' value='" +
      (d / "cnt.json") + "'/></block>\n";
  const std::string tail = "<connect from='cap.out' to='cnt.in'/>\n</composition>\n";
  write(d / "live.xml", base + tail);
  // A plugin directory of our own, empty at the start: a plugin dropped into
  // it mid-run becomes usable by the next reload.
  fs::create_directories(d / "plugins");
  fs::permissions(d / "plugins", fs::perms::owner_all);
  auto r = run({kBin, "run", d / "live.xml", "--plugin-path", d / "plugins"}, [&](pid_t pid) {
    // netloom takes the file's first stamp once the graph is built: wait
    // for that (slow under sanitizers) before the first edit.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    write(d / "live.xml", base + "<block id='broken'" + tail);  // malformed XML
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    fs::copy_file(kTestPlugins + "/good/test_blocks.so", d / "plugins/test_blocks.so");
    write(d / "live.xml", base + "<block id='extra' type='PacketCounter'><param name='output' value='" +
                              (d / "extra.json") + "'/></block>\n<connect from='cap.out' to='extra.in'/>\n" +
                              "<block id='ts' type='TestSink'><param name='output' value='" + (d / "ts.txt") +
                              "'/></block>\n<connect from='cap.out' to='ts.in'/>\n" + tail);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
    // Replace the plugin file (new inode, other size), then SIGHUP: the rescan refuses it.
    fs::remove(d / "plugins/test_blocks.so");
    fs::copy_file(kTestPlugins + "/not_a_plugin/not_a_plugin.so", d / "plugins/test_blocks.so");
    ::kill(pid, SIGHUP);
  });
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("live.xml:4: malformed XML"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reload refused: the running graph is unchanged"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reload: added 'extra'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("reload (SIGHUP)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("test_blocks.so: plugin file changed on disk since it was loaded"), std::string::npos)
      << r.err;
  // The counting sink that was there all along saw every packet; the added
  // one flushed its totals at the end.
  EXPECT_NE(netloom::test::slurp(d / "cnt.json").find("\"packets\": 685"), std::string::npos)
      << netloom::test::slurp(d / "cnt.json");
  EXPECT_TRUE(fs::exists(d / "extra.json"));
  // The block type of the plugin that arrived mid-run ran, and flushed.
  EXPECT_NE(r.err.find("reload: added 'ts'"), std::string::npos) << r.err;
  const std::string ts = netloom::test::slurp(d / "ts.txt");
  ASSERT_GE(ts.size(), 2u);
  EXPECT_EQ(ts.substr(ts.size() - 2), "F\n");
}
