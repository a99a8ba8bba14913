// The out-of-tree SDK end to end: `cmake --install` of this build into a
// temporary prefix, sdk/examples/ntp_classifier configured and built against
// that prefix with find_package(netloom), and the installed netloom running
// the example's NtpClassifier after a FlowTracker (sdk/examples/ntp_classifier/ntp.xml).
// The tests share one install and one example build (made once, in order),
// so tests/sdk.cmake registers the binary as a single ctest entry.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "corpus.hpp"
#include "netloom/version.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::Result;
using netloom::test::run;
using netloom::test::slurp;

namespace {

const std::string kSrc = NETLOOM_SOURCE_ROOT;
const std::string kBuild = NETLOOM_BUILD_ROOT;
const std::string kExample = kSrc + "/sdk/examples/ntp_classifier";

std::string show(const Result& r) { return "status " + std::to_string(r.status) + "\n" + r.out + r.err; }

// One flow's endpoints as the logs and the label files write them.
using Endpoints = std::string;  // "client_ip:port>server_ip:port"

// Endpoints of the flows a JSON-lines log gives app "NTP" (LogSink format json).
std::multiset<Endpoints> ntp_flows_in_logs(const fs::path& dir) {
  static const std::regex kFlow(
      "\"app\":\"NTP\",\"c_ip\":\"([^\"]+)\",\"c_port\":([0-9]+),.*\"s_ip\":\"([^\"]+)\",\"s_port\":([0-9]+)"
      ",");
  std::multiset<Endpoints> flows;
  for (const char* log : {"log_udp_complete.jsonl", "log_tcp_complete.jsonl", "log_tcp_nocomplete.jsonl"}) {
    std::istringstream in(slurp(dir / log));
    std::string line;
    std::smatch m;
    while (std::getline(in, line)) {
      if (line.find("\"app\":\"NTP\"") == std::string::npos) continue;
      EXPECT_TRUE(std::regex_search(line, m, kFlow)) << log << ": " << line;
      if (!m.empty()) flows.insert(m.str(1) + ":" + m.str(2) + ">" + m.str(3) + ":" + m.str(4));
    }
  }
  return flows;
}

// Endpoints of the rows of a ground-truth CSV whose `label_col` is NTP
// (data/demo.labels.csv: l4,client,server,label; the corpus' nDPI labels:
// client, server in columns 4 and 5, label in column 10). IPv4 only here.
std::multiset<Endpoints> ntp_flows_in_labels(const fs::path& csv, std::size_t client_col,
                                             std::size_t label_col) {
  std::multiset<Endpoints> flows;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> cols;
    std::istringstream cells(line);
    for (std::string c; std::getline(cells, c, ',');) cols.push_back(c);
    if (cols.size() > label_col && cols[label_col] == "NTP")
      flows.insert(cols[client_col] + ">" + cols[client_col + 1]);
  }
  return flows;
}

class Sdk : public ::testing::Test {
 protected:
  // Install, configure and build once for every test of the binary.
  static void SetUpTestSuite() {
    ::unsetenv("NETLOOM_PLUGIN_PATH");  // only what each test passes
    // netloom refuses plugins in group- or world-writable directories: make
    // the prefix and the example build with owner-only write whatever the
    // caller's umask.
    ::umask(022);
    tmp_ = fs::temp_directory_path() / ("netloom-sdk-" + std::to_string(::getpid()));
    fs::remove_all(tmp_);
    fs::create_directories(tmp_);
    tmp_ = fs::canonical(tmp_);  // netloom prints canonical plugin paths
    prefix_ = tmp_ / "prefix";
    example_ = tmp_ / "example";
    install_ = run({NETLOOM_CMAKE_COMMAND, "--install", kBuild, "--prefix", prefix_.string()});
    if (install_.status != 0) return;
    configure_ =
        run({NETLOOM_CMAKE_COMMAND, "-S", kExample, "-B", example_.string(), "-G", NETLOOM_CMAKE_GENERATOR,
             "-DCMAKE_MAKE_PROGRAM=" NETLOOM_MAKE_PROGRAM, "-DCMAKE_CXX_COMPILER=" NETLOOM_CXX_COMPILER,
             "-DCMAKE_BUILD_TYPE=" NETLOOM_BUILD_TYPE, "-DCMAKE_CXX_FLAGS=" NETLOOM_EXAMPLE_CXX_FLAGS,
             "-DCMAKE_MODULE_LINKER_FLAGS=" NETLOOM_EXAMPLE_LINK_FLAGS,
             "-DCMAKE_PREFIX_PATH=" + prefix_.string()});
    if (configure_.status != 0) return;
    build_ = run({NETLOOM_CMAKE_COMMAND, "--build", example_.string()});
  }
  static void TearDownTestSuite() { fs::remove_all(tmp_); }

  static std::string netloom() { return (prefix_ / "bin/netloom").string(); }
  static std::string plugins() { return (example_ / "plugins").string(); }
  static fs::path out_dir(const std::string& name) { return tmp_ / "out" / name; }

  // The example's composition on one capture, logs in out_dir(name).
  static Result run_ntp(const fs::path& capture, const std::string& name) {
    return run({netloom(), "run", kExample + "/ntp.xml", "--plugin-path", plugins(), "-D",
                "input=" + capture.string(), "-D", "out=" + out_dir(name).string()});
  }

  static void require_example() {
    ASSERT_EQ(install_.status, 0) << "cmake --install failed: " << show(install_);
    ASSERT_EQ(configure_.status, 0) << "example configure failed: " << show(configure_);
    ASSERT_EQ(build_.status, 0) << "example build failed: " << show(build_);
  }

  static inline fs::path tmp_, prefix_, example_;
  static inline Result install_, configure_, build_;
};

TEST_F(Sdk, InstallHoldsCommandPluginsHeadersAndPackage) {
  ASSERT_EQ(install_.status, 0) << show(install_);
  for (const char* f :
       {"bin/netloom", "include/netloom/netloom.hpp", "include/netloom/version.hpp",
        "lib/cmake/netloom/netloomConfig.cmake", "lib/cmake/netloom/netloomConfigVersion.cmake",
        "lib/cmake/netloom/netloomTargets.cmake", "lib/cmake/netloom/netloom_plugin.cmake",
        "lib/netloom/plugins/netloom_capture.so", "lib/netloom/plugins/netloom_flow.so",
        "lib/netloom/plugins/netloom_logs.so", "lib/netloom/plugins/bayes/skype/pktsize.conf"})
    EXPECT_TRUE(fs::is_regular_file(prefix_ / f)) << f;
  // The package must work without this build tree or its sources.
  for (const auto& e : fs::directory_iterator(prefix_ / "lib/cmake/netloom")) {
    const std::string text = slurp(e.path());
    EXPECT_EQ(text.find(kBuild), std::string::npos) << e.path() << " refers to the build tree";
    EXPECT_EQ(text.find(kSrc + "/"), std::string::npos) << e.path() << " refers to the source tree";
  }
  auto v = run({netloom(), "version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out, std::string("netloom ") + netloom::kVersion + " (plugin ABI " +
                       std::to_string(netloom::kAbiVersion) + ")\n");
}

TEST_F(Sdk, ExampleBuildsOutOfTreeAgainstTheInstalledPackage) {
  require_example();
  EXPECT_TRUE(fs::is_regular_file(example_ / "plugins/ntp_classifier.so"));
  // find_package found the temporary prefix, not some other netloom.
  const std::string cache = slurp(example_ / "CMakeCache.txt");
  EXPECT_NE(cache.find("netloom_DIR:PATH=" + (prefix_ / "lib/cmake/netloom").string() + "\n"),
            std::string::npos);
}

TEST_F(Sdk, InspectListsAndDescribesTheNewType) {
  require_example();
  auto list = run({netloom(), "inspect", "--plugin-path", plugins()});
  ASSERT_EQ(list.status, 0) << show(list);
  EXPECT_EQ(list.err, "");
  EXPECT_TRUE(std::regex_search(list.out, std::regex("\nNtpClassifier +labels NTP flows"))) << list.out;

  auto one = run({netloom(), "inspect", "NtpClassifier", "--plugin-path", plugins()});
  ASSERT_EQ(one.status, 0) << show(one);
  EXPECT_NE(one.out.find("Plugin: " + plugins() + "/ntp_classifier.so\n"), std::string::npos) << one.out;
  for (const char* s :
       {"Threading: replicable", "  in  PacketBatch", "  out  PacketBatch", "  events  ClassificationBatch",
        "  port  int  default \"123\"  [1, 65535]", "  max_packets  int  default \"4\"  [1, 1000]",
        "  flows_classified  — flows called NTP (one event each)"})
    EXPECT_NE(one.out.find(s), std::string::npos) << s << "\n" << one.out;

  // Not found without the plugin path (this test runs before the example is
  // installed beside netloom, below).
  auto none = run({netloom(), "inspect", "NtpClassifier"});
  EXPECT_EQ(none.status, 2);
  EXPECT_EQ(none.err, "netloom: error: no block type 'NtpClassifier' (netloom inspect lists them)\n");
}
TEST_F(Sdk, LabelsTheNtpFlowsOfTheDemoCapture) {
  require_example();
  auto r = run_ntp(kSrc + "/data/demo.pcap", "demo");
  ASSERT_EQ(r.status, 0) << show(r);
  // The two NTP exchanges of data/demo.pcap, and nothing else.
  const auto expected = ntp_flows_in_labels(kSrc + "/data/demo.labels.csv", 1, 3);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(ntp_flows_in_logs(out_dir("demo")), expected);
  // The block's counters and summary in the run summary; the events port is
  // left unconnected, so its two events are counted there.
  EXPECT_NE(r.err.find("ntp (NtpClassifier)  in.in=685  out.out=685  out.events=2 (unconnected 2)\n"
                       "    flows_checked=2 flows_classified=2 packets_checked=2 events_emitted=2\n"
                       "    2 of 2 checked flows called NTP\n"),
            std::string::npos)
      << r.err;
}

TEST_F(Sdk, LabelsTheNtpFlowsOfDevCaptures) {
  require_example();
  const fs::path dev = netloom::test::corpus_root() / "dev";
  if (!fs::is_directory(dev)) GTEST_SKIP() << "corpus not found at " << dev << " (set NETLOOM_CORPUS)";
  // Every capture of the dev corpus where nDPI names NTP (7 flows): the same
  // flows, client and server as nDPI sees them, and no other.
  std::size_t total = 0;
  for (const char* f : {"NTPv3.pcap", "android.pcap", "skype_B.pcap", "tls_certificate_too_long.pcap"}) {
    SCOPED_TRACE(f);
    auto r = run_ntp(dev / f, f);
    ASSERT_EQ(r.status, 0) << show(r);
    const auto expected = ntp_flows_in_labels(dev / (std::string(f) + ".labels.csv"), 4, 10);
    EXPECT_FALSE(expected.empty());
    EXPECT_EQ(ntp_flows_in_logs(out_dir(f)), expected);
    total += expected.size();
  }
  EXPECT_EQ(total, 7u);
}

TEST_F(Sdk, PluginPathVariableAndInstallBesideNetloom) {
  require_example();
  // NETLOOM_PLUGIN_PATH instead of --plugin-path.
  ::setenv("NETLOOM_PLUGIN_PATH", plugins().c_str(), 1);
  auto env = run({netloom(), "check", kExample + "/ntp.xml"});
  ::unsetenv("NETLOOM_PLUGIN_PATH");
  EXPECT_EQ(env.status, 0) << show(env);
  EXPECT_EQ(env.out, kExample + "/ntp.xml: OK (4 blocks, 3 connections)\n");

  // `cmake --install` of the example into netloom's prefix puts the plugin
  // where the installed netloom looks by itself.
  auto inst = run({NETLOOM_CMAKE_COMMAND, "--install", example_.string(), "--prefix", prefix_.string()});
  ASSERT_EQ(inst.status, 0) << show(inst);
  EXPECT_TRUE(fs::is_regular_file(prefix_ / "lib/netloom/plugins/ntp_classifier.so"));
  auto found = run({netloom(), "inspect", "NtpClassifier"});
  EXPECT_EQ(found.status, 0) << show(found);
  EXPECT_NE(found.out.find("Plugin: " + (prefix_ / "lib/netloom/plugins/ntp_classifier.so").string() + "\n"),
            std::string::npos)
      << found.out;
}

}  // namespace
