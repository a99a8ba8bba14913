// `netloom run --user USER[:GROUP]`: one-line errors, and a live capture on
// loopback that keeps capturing after the process became nobody, with no
// capability and no root id left in any of its threads.
#include <grp.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "loopback_port.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::run;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;
const std::string kCount = kSrc + "/compositions/count.xml";

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("netloom-priv-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(p);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
};

// "Key:\tvalue" lines of a /proc/.../status file.
std::map<std::string, std::string> proc_status(const fs::path& file) {
  std::map<std::string, std::string> m;
  std::ifstream f(file);
  for (std::string l; std::getline(f, l);) {
    auto colon = l.find(':');
    if (colon == std::string::npos) continue;
    auto v = l.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
    m[l.substr(0, colon)] = v;
  }
  return m;
}

std::string four(unsigned id) {  // real, effective, saved, filesystem
  std::string s = std::to_string(id);
  return s + "\t" + s + "\t" + s + "\t" + s;
}

struct Nobody {
  uid_t uid = 0;
  gid_t gid = 0;
  std::string group;
  std::set<gid_t> groups;  // what initgroups gives nobody
};

std::optional<Nobody> nobody() {
  const passwd* pw = ::getpwnam("nobody");
  if (pw == nullptr) return std::nullopt;
  Nobody n;
  n.uid = pw->pw_uid;
  n.gid = pw->pw_gid;
  const group* gr = ::getgrgid(n.gid);
  n.group = gr ? gr->gr_name : std::to_string(n.gid);
  int count = 64;
  std::vector<gid_t> gs(64);
  if (::getgrouplist("nobody", n.gid, gs.data(), &count) >= 0)
    n.groups.insert(gs.begin(), gs.begin() + count);
  return n;
}

std::set<gid_t> parse_groups(const std::string& s) {
  std::set<gid_t> g;
  std::istringstream is(s);
  for (unsigned x; is >> x;) g.insert(x);
  return g;
}
}  // namespace

TEST(RunAsUser, UnknownUserIsOneLine) {
  auto r = run({kBin, "run", "--user", "no-such-user-netloom", kCount});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user no-such-user-netloom: no such user\n");
}

TEST(RunAsUser, UnknownGroupIsOneLine) {
  auto r = run({kBin, "run", "--user", "nobody:no-such-group-netloom", kCount});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user nobody:no-such-group-netloom: no such group\n");
}

TEST(RunAsUser, MalformedAndRootTargetsAreRefused) {
  auto r = run({kBin, "run", "--user", "nobody:", kCount});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user nobody:: expected USER[:GROUP]\n");
  r = run({kBin, "run", "--user", "root", kCount});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user root: the target user must not be root\n");
  r = run({kBin, "run", "--user", "nobody:0", kCount});
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user nobody:0: the target group must not be gid 0\n");
  r = run({kBin, "run", "--user", "4242424", kCount});  // no passwd entry, no group given
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err,
            "netloom: error: --user 4242424: uid 4242424 has no passwd entry: name its group too "
            "(USER:GROUP)\n");
}

// Without root there is nothing to drop: one line, nothing runs. As root the
// test gets there through setpriv (util-linux).
TEST(RunAsUser, NeedsRoot) {
  auto nb = nobody();
  if (!nb) GTEST_SKIP() << "no user 'nobody' here";
  std::vector<std::string> args = {kBin, "run", "--user", "nobody", kCount};
  unsigned as = ::geteuid();
  if (as == 0) {
    if (!fs::exists("/usr/bin/setpriv"))
      GTEST_SKIP() << "running as root and no /usr/bin/setpriv to leave it";
    args.insert(args.begin(), {"/usr/bin/setpriv", "--reuid=" + std::to_string(nb->uid),
                               "--regid=" + std::to_string(nb->gid), "--clear-groups", "--inh-caps=-all"});
    as = nb->uid;
  }
  auto r = run(args);
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(r.err, "netloom: error: --user nobody: changing user needs root (netloom runs as uid " +
                       std::to_string(as) + ")\n");
}

// The real thing: capture on lo opened as root (PcapSource opens it in
// configure), then nobody for the rest of the run. Datagrams sent after the
// drop are captured, the flow is logged by nobody into nobody's directory,
// and no thread of the process keeps a root id or a capability.
TEST(RunAsUser, LiveCaptureRunsAsNobodyWithoutCapabilities) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root): --user drops root";
  auto nb = nobody();
  if (!nb) GTEST_SKIP() << "no user 'nobody' here";
  TempDir d;
  const fs::path logs = d.p / "logs";
  fs::create_directories(logs);
  ASSERT_EQ(::chown(logs.c_str(), nb->uid, nb->gid), 0);  // the documented set-up
  netloom::test::LoopbackPort port;
  const fs::path comp = d.p / "live.xml";
  std::ofstream(comp) << R"(<composition name="live" threads="2">
  <var name="port"/><var name="out"/>
  <block id="cap" type="PcapSource">
    <param name="interface" value="lo"/>
    <param name="filter" value="udp port ${port}"/>
    <param name="immediate" value="true"/>
    <param name="progress" value="false"/>
  </block>
  <block id="trk" type="FlowTracker"/>
  <block id="logs" type="LogSink">
    <param name="dir" value="${out}"/>
    <param name="layout" value="flat"/>
  </block>
  <connect from="cap.out" to="trk.in"/>
  <connect from="trk.out" to="logs.flows"/>
</composition>
)";

  bool dropped = false;
  std::vector<std::map<std::string, std::string>> tasks;  // every thread, once dropped
  std::map<std::string, std::string> main_task;
  auto r = run({kBin, "run", comp.string(), "--user", "nobody", "-D", "port=" + std::to_string(port.port()),
                "-D", "out=" + logs.string()},
               [&](pid_t pid) {
                 const fs::path proc = "/proc/" + std::to_string(pid);
                 const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
                 while (std::chrono::steady_clock::now() < until) {
                   auto st = proc_status(proc / "status");
                   if (st.empty() || st["State"].rfind("Z", 0) == 0) return;  // exited early
                   if (st["Uid"] == four(nb->uid)) {
                     dropped = true;
                     break;
                   }
                   std::this_thread::sleep_for(std::chrono::milliseconds(20));
                 }
                 if (!dropped) {
                   ::kill(pid, SIGKILL);
                   return;
                 }
                 port.send(5);
                 std::this_thread::sleep_for(std::chrono::milliseconds(1500));
                 main_task = proc_status(proc / "status");
                 std::error_code ec;
                 for (const auto& t : fs::directory_iterator(proc / "task", ec))
                   tasks.push_back(proc_status(t.path() / "status"));
                 ::kill(pid, SIGINT);
               });
  if (!dropped && r.status == 2 && r.err.find("block 'cap'") != std::string::npos)
    GTEST_SKIP() << "no live capture on lo here: " << r.err;
  ASSERT_TRUE(dropped) << "the process never showed uid " << nb->uid << "\n" << r.err;
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("netloom: running as user nobody, group " + nb->group + " (uid " +
                       std::to_string(nb->uid) + ", gid " + std::to_string(nb->gid) + ")\n"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("(stopped by signal)"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cap (PcapSource)  out.out=5"), std::string::npos) << r.err;

  // Every thread: nobody's ids (real, effective, saved, fs: no way back),
  // nobody's groups, no capability at all.
  ASSERT_GE(tasks.size(), 3u);  // main, watcher, source thread at least
  for (auto& t : tasks) {
    SCOPED_TRACE("thread " + t["Pid"] + " (" + t["Name"] + ")");
    EXPECT_EQ(t["Uid"], four(nb->uid));
    EXPECT_EQ(t["Gid"], four(nb->gid));
    EXPECT_EQ(parse_groups(t["Groups"]), nb->groups);
    EXPECT_EQ(t["CapEff"], "0000000000000000");
    EXPECT_EQ(t["CapPrm"], "0000000000000000");
    EXPECT_EQ(t["CapInh"], "0000000000000000");
    EXPECT_EQ(t["CapAmb"], "0000000000000000");
  }
  // The main thread, which starts the run's threads after the drop: empty
  // bounding set and no_new_privs, so not even an exec could regain rights.
  EXPECT_EQ(main_task["CapBnd"], "0000000000000000");
  EXPECT_EQ(main_task["NoNewPrivs"], "1");

  // The flow was logged after the drop, by nobody.
  const fs::path udp = logs / "log_udp_complete";
  ASSERT_TRUE(fs::exists(udp)) << r.err;
  struct stat st {};
  ASSERT_EQ(::stat(udp.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, nb->uid);
  std::ifstream f(udp);
  std::string header, row, extra;
  std::getline(f, header);
  std::getline(f, row);
  EXPECT_FALSE(std::getline(f, extra)) << "one flow expected";
  EXPECT_EQ(row.rfind("127.0.0.1 " + std::to_string(port.port()) + " ", 0), 0u) << row;
}

// The blocks are configured with the user's file rights: an output
// directory the user cannot write is a configuration error before anything
// runs, and the directories the blocks create belong to the user.
TEST(RunAsUser, OutputIsCheckedAndCreatedAsTheUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CI runs as root): --user drops root";
  auto nb = nobody();
  if (!nb) GTEST_SKIP() << "no user 'nobody' here";
  TempDir d;
  const fs::path root_only = d.p / "root-only";
  fs::create_directories(root_only);
  fs::permissions(root_only, fs::perms(0755));
  const std::string demo = kSrc + "/data/demo.pcap";
  auto r = run({kBin, "run", kSrc + "/compositions/tstat.xml", "--user", "nobody", "-D", "input=" + demo,
                "-D", "out=" + root_only.string()});
  EXPECT_EQ(r.status, 2) << r.err;
  EXPECT_NE(r.err.find(": block 'logs': parameter 'dir': cannot write in '" + root_only.string() +
                       "': Permission denied\n"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find(" finished in "), std::string::npos) << r.err;  // nothing ran
  EXPECT_TRUE(fs::is_empty(root_only));

  const fs::path mine = d.p / "nobody";
  fs::create_directories(mine);
  ASSERT_EQ(::chown(mine.c_str(), nb->uid, nb->gid), 0);
  const fs::path out = mine / "out";  // created by LogSink in configure
  r = run({kBin, "run", kSrc + "/compositions/tstat.xml", "--user", "nobody", "-D", "input=" + demo, "-D",
           "out=" + out.string()});
  EXPECT_EQ(r.status, 0) << r.err;
  std::size_t files = 0;
  for (const auto& e : fs::recursive_directory_iterator(out)) {
    struct stat st {};
    ASSERT_EQ(::lstat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_uid, nb->uid) << e.path();
    ++files;
  }
  EXPECT_GT(files, 3u);
}
