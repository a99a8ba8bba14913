// The control socket (ControlServer) and `netloom ctl` (ctl_main) over a real
// Unix socket, with hooks backed by a small fake state.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "control.hpp"

namespace fs = std::filesystem;
using netloom::app::ControlHooks;
using netloom::app::ControlOptions;
using netloom::app::ControlServer;
using netloom::app::ctl_main;

namespace {

// Short paths: sun_path holds 107 bytes.
struct TempDir {
  fs::path p;
  TempDir() {
    static int n = 0;
    p = fs::temp_directory_path() / ("nlctl-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(p);
  }
  ~TempDir() { fs::remove_all(p); }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

// What the hooks read and change: parameters per block, a reload verdict.
struct FakeState {
  std::mutex mu;
  std::map<std::string, std::map<std::string, std::string>> params{
      {"trk", {{"idle_timeout", "300"}, {"note", "x"}}},
      {"cap", {{"filter", "tcp port 80"}}},
  };
  bool reload_ok = true;
  int reloads = 0;

  bool lookup(const std::string& block, const std::string& name, std::string& error) {
    auto b = params.find(block);
    if (b == params.end()) {
      error = "no block '" + block + "'";
      return false;
    }
    if (!b->second.count(name)) {
      error = "block '" + block + "' has no parameter '" + name + "'";
      return false;
    }
    return true;
  }

  ControlHooks hooks() {
    ControlHooks h;
    h.stats = [] {
      netloom::core::BlockStats cap;
      cap.id = "cap";
      cap.type = "PcapSource";
      cap.outputs = {{"packets", "PacketBatch", 12, 3000, 0}};
      cap.counters = {{"files", 1}, {"kernel_dropped", 7}};
      cap.source = true, cap.in_flight = 3, cap.max_in_flight = 64, cap.backpressure_waits = 9;
      netloom::core::BlockStats trk;
      trk.id = "trk";
      trk.type = "FlowTracker";
      trk.inputs = {{"packets", "PacketBatch", 12, 3000, 0}};
      trk.outputs = {{"flows", "FlowEvent", 4, 40, 0}, {"events", "FlowEvent", 2, 5, 5}};
      trk.counters = {{"flows_opened", 123}, {"flows_evicted", 2}, {"parse_errors", 0}};
      trk.errors = 1;
      trk.summary = "12 flows open\n3 closing";
      return std::vector<netloom::core::BlockStats>{cap, trk};
    };
    h.get = [this](const std::string& block, const std::string& name, std::string& value,
                   std::string& error) {
      std::lock_guard lock(mu);
      if (!lookup(block, name, error)) return false;
      value = params[block][name];
      return true;
    };
    h.set = [this](const std::string& block, const std::string& name, const std::string& value,
                   std::string& error) {
      std::lock_guard lock(mu);
      if (!lookup(block, name, error)) return false;
      params[block][name] = value;
      return true;
    };
    h.reload = [this] {
      std::lock_guard lock(mu);
      ++reloads;
      netloom::core::ReloadReport r;
      r.applied = reload_ok;
      if (reload_ok)
        r.lines = {"kept 'cap'", "set 'trk' idle_timeout=60"};
      else
        r.lines = {"comp.xml:7: block 'logs': parameter 'dir' cannot change live"};
      return r;
    };
    h.graph_dot = [] { return std::string("digraph netloom {\n  cap -> trk;\n}\n"); };
    h.reload_counts = [] { return std::pair<std::uint64_t, std::uint64_t>{3, 1}; };
    return h;
  }
};

struct CtlResult {
  int code;
  std::string out, err;
};

CtlResult ctl(const std::string& path, const std::vector<std::string>& args) {
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  int code = ctl_main(path, args);
  std::string out = testing::internal::GetCapturedStdout();
  std::string err = testing::internal::GetCapturedStderr();
  return {code, out, err};
}

int connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect " + path + ": " + std::strerror(errno));
  return fd;
}

std::string read_all(int fd, int timeout_ms = 5000) {
  std::string out;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return out + "<timeout>";
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return out;
    out.append(buf, static_cast<std::size_t>(n));
  }
}

// Sends raw bytes (optionally half-closing), returns the whole reply.
std::string raw(const std::string& path, const std::string& bytes, bool half_close = false) {
  int fd = connect_to(path);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may refuse before reading everything
    off += static_cast<std::size_t>(n);
  }
  if (half_close) ::shutdown(fd, SHUT_WR);
  std::string r = read_all(fd);
  ::close(fd);
  return r;
}

class ControlSocket : public testing::Test {
 protected:
  TempDir dir;
  std::string path = dir / "c.sock";
  FakeState state;
};

}  // namespace

TEST_F(ControlSocket, Help) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  const char* expected[] = {"stats ",  "get BLOCK PARAM ", "set BLOCK PARAM VALUE ",
                            "reload ", "graph ",           "help "};
  std::istringstream lines(r.out);
  std::string line;
  std::size_t i = 0;
  while (std::getline(lines, line)) {
    ASSERT_LT(i, std::size(expected)) << r.out;
    EXPECT_EQ(line.rfind(expected[i], 0), 0u) << line;
    ++i;
  }
  EXPECT_EQ(i, std::size(expected));
}

TEST_F(ControlSocket, StatsListsPortsCountersAndDrops) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"stats"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out,
            "block cap (PcapSource) errors=0\n"
            "  out packets (PacketBatch) messages=12 items=3000 unconnected=0\n"
            "  counter files=1\n"
            "  counter kernel_dropped=7\n"
            "block trk (FlowTracker) errors=1\n"
            "  in packets (PacketBatch) messages=12 items=3000\n"
            "  out flows (FlowEvent) messages=4 items=40 unconnected=0\n"
            "  out events (FlowEvent) messages=2 items=5 unconnected=5\n"
            "  counter flows_opened=123\n"
            "  counter flows_evicted=2\n"
            "  counter parse_errors=0\n"
            "  summary: 12 flows open\n"
            "  summary: 3 closing\n"
            "drops total=15\n"
            "  cap counter kernel_dropped=7\n"
            "  trk errors=1\n"
            "  trk out events unconnected=5\n"
            "  trk counter flows_evicted=2\n"
            "queue depths (source batches in flight / max-in-flight, back-pressure waits):\n"
            "  cap 3/64 waits=9\n");
}

TEST_F(ControlSocket, GetAndSet) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"get", "trk", "idle_timeout"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "300\n");
  r = ctl(path, {"set", "trk", "idle_timeout", "60"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(ctl(path, {"get", "trk", "idle_timeout"}).out, "60\n");
  // The value is the rest of the line: spaces kept, empty allowed.
  EXPECT_EQ(ctl(path, {"set", "cap", "filter", "udp port 53 or tcp port 443"}).code, 0);
  EXPECT_EQ(ctl(path, {"set", "trk", "note", ""}).code, 0);
  std::lock_guard lock(state.mu);
  EXPECT_EQ(state.params["cap"]["filter"], "udp port 53 or tcp port 443");
  EXPECT_EQ(state.params["trk"]["note"], "");
}

TEST_F(ControlSocket, HookErrorsAreCommandErrors) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"get", "nosuch", "x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "netloom ctl: error: no block 'nosuch'\n");
  r = ctl(path, {"set", "trk", "nosuch", "1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "netloom ctl: error: block 'trk' has no parameter 'nosuch'\n");
  std::lock_guard lock(state.mu);
  EXPECT_EQ(state.params["trk"].count("nosuch"), 0u);
}

TEST_F(ControlSocket, UsageErrors) {
  ControlServer server(path, state.hooks());
  struct Case {
    std::vector<std::string> args;
    std::string err;
  } cases[] = {
      {{"get", "trk"}, "netloom ctl: error: usage: get BLOCK PARAM\n"},
      {{"get", "trk", "a", "b"}, "netloom ctl: error: usage: get BLOCK PARAM\n"},
      {{"set", "trk", "idle_timeout"}, "netloom ctl: error: usage: set BLOCK PARAM VALUE\n"},
      {{"stats", "now"}, "netloom ctl: error: usage: stats (takes no argument)\n"},
      {{"frobnicate"}, "netloom ctl: error: unknown command 'frobnicate' (help lists the commands)\n"},
  };
  for (const auto& c : cases) {
    auto r = ctl(path, c.args);
    EXPECT_EQ(r.code, 1) << c.args[0];
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, c.err);
  }
}

TEST_F(ControlSocket, ReloadAppliedAndRefused) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"reload"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "kept 'cap'\nset 'trk' idle_timeout=60\n");
  EXPECT_EQ(r.err, "");
  state.reload_ok = false;
  r = ctl(path, {"reload"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "comp.xml:7: block 'logs': parameter 'dir' cannot change live\n");
  EXPECT_EQ(r.err, "netloom ctl: error: reload refused; nothing changed\n");
  EXPECT_EQ(state.reloads, 2);
}

TEST_F(ControlSocket, Graph) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {"graph"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "digraph netloom {\n  cap -> trk;\n}\n");
}

TEST_F(ControlSocket, MissingAndThrowingHooks) {
  ControlHooks h;
  h.stats = []() -> std::vector<netloom::core::BlockStats> { throw std::runtime_error("boom"); };
  ControlServer server(path, h);
  auto r = ctl(path, {"reload"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "netloom ctl: error: 'reload' is not available in this process\n");
  r = ctl(path, {"stats"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "netloom ctl: error: internal: boom\n");
  // The server thread survived both.
  EXPECT_EQ(ctl(path, {"help"}).code, 0);
}

TEST_F(ControlSocket, RawClientsMalformedRequests) {
  ControlServer server(path, state.hooks());
  EXPECT_EQ(raw(path, "\n"), "error: empty request (help lists the commands)\n");
  EXPECT_EQ(raw(path, "sta\x01ts\n"), "error: request has a control character\n");
  EXPECT_EQ(raw(path, std::string("get trk\0x idle\n", 16)), "error: request has a control character\n");
  EXPECT_EQ(raw(path, "graph\r\n"), "digraph netloom {\n  cap -> trk;\n}\nok\n");
  // Only the first line is a request; what follows is ignored.
  EXPECT_EQ(raw(path, "get trk idle_timeout\nset trk idle_timeout 1\n"), "300\nok\n");
  // A client that half-closes needs no newline.
  EXPECT_EQ(raw(path, "get  trk\tidle_timeout", true), "300\nok\n");
  // Nothing sent at all: closed without a reply.
  EXPECT_EQ(raw(path, "", true), "");
  std::lock_guard lock(state.mu);
  EXPECT_EQ(state.params["trk"]["idle_timeout"], "300");
}

TEST_F(ControlSocket, OverLongLineIsRefused) {
  ControlServer server(path, state.hooks());
  // 4096 bytes with the newline: accepted (an unknown command).
  std::string fits(4095, 'a');
  EXPECT_EQ(raw(path, fits + "\n"), "error: unknown command '" + fits + "' (help lists the commands)\n");
  EXPECT_EQ(raw(path, fits + "a\n"), "error: request longer than 4096 bytes\n");
  EXPECT_EQ(raw(path, std::string(1 << 20, 'b')), "error: request longer than 4096 bytes\n");
  // ctl refuses it before sending.
  auto r = ctl(path, {"set", "trk", "note", std::string(5000, 'v')});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "netloom ctl: error: request longer than 4096 bytes\n");
  EXPECT_EQ(ctl(path, {"get", "trk", "note"}).out, "x\n");
  EXPECT_EQ(server.requests(), 2u);  // the fitting one and the last get
  EXPECT_EQ(server.dropped(), 2u);
}

TEST_F(ControlSocket, SlowAndSilentClientsDoNotBlockTheServer) {
  ControlOptions opts;
  opts.io_timeout = std::chrono::milliseconds(200);
  ControlServer server(path, state.hooks(), opts);
  int silent = connect_to(path);  // connects, never writes
  int slow = connect_to(path);
  ASSERT_EQ(::send(slow, "sta", 3, MSG_NOSIGNAL), 3);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ctl(path, {"get", "trk", "idle_timeout"});
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "300\n");
  EXPECT_LT(waited, 2.0);  // two timeouts of 0.2 s, not forever
  EXPECT_EQ(read_all(silent), "error: no complete request line within 200 ms\n");
  EXPECT_EQ(read_all(slow), "error: no complete request line within 200 ms\n");
  ::close(silent);
  ::close(slow);
  EXPECT_EQ(server.dropped(), 2u);
  EXPECT_EQ(server.requests(), 1u);
}

TEST_F(ControlSocket, ManyClientsOneAfterTheOther) {
  ControlServer server(path, state.hooks());
  for (int i = 0; i < 50; ++i) {
    auto r = ctl(path, {"set", "trk", "idle_timeout", std::to_string(i)});
    ASSERT_EQ(r.code, 0) << i << r.err;
  }
  EXPECT_EQ(ctl(path, {"get", "trk", "idle_timeout"}).out, "49\n");
  EXPECT_EQ(server.requests(), 51u);
  EXPECT_EQ(server.dropped(), 0u);
}

TEST_F(ControlSocket, SocketIsPrivateAndRemovedAtExit) {
  {
    ControlServer server(path, state.hooks());
    struct stat st {};
    ASSERT_EQ(::lstat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 07777, 0600u);
    EXPECT_EQ(st.st_uid, ::geteuid());
  }
  EXPECT_FALSE(fs::exists(fs::symlink_status(path)));
}

// Needs root to become another user; CI and the dev machines run as root.
TEST_F(ControlSocket, OtherUsersAreKeptOut) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to act as another user";
  ControlServer server(path, state.hooks());
  // The directory lets anyone through, so only the socket's own mode stops them.
  fs::permissions(dir.p, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
  // In a child acting as nobody: 0 = connected and got `expect` back, 10 =
  // connect refused with EACCES, other = anything else.
  auto as_nobody = [&](const std::string& expect) {
    pid_t pid = ::fork();
    if (pid == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
      int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        ::_exit(errno == EACCES ? 10 : 4);
      // No request: a refused peer is answered at once.
      char buf[256];
      std::size_t got = 0;
      ssize_t n;
      while (got < sizeof buf && (n = ::recv(fd, buf + got, sizeof buf - got, 0)) > 0) got += n;
      ::_exit(std::string(buf, got) == expect ? 0 : 6);
    }
    int st = 0;
    ::waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  };
  EXPECT_EQ(as_nobody(""), 10);  // the 0600 mode
  // With the mode opened up by mistake, the peer check still refuses.
  ASSERT_EQ(::chmod(path.c_str(), 0666), 0);
  EXPECT_EQ(as_nobody("error: permission denied\n"), 0);
  EXPECT_EQ(server.dropped(), 1u);
  EXPECT_EQ(server.requests(), 0u);
}

TEST_F(ControlSocket, StaleSocketIsReplaced) {
  {
    // A socket file whose process is gone: bound, never listening, closed.
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
    ::close(fd);
    ASSERT_TRUE(fs::is_socket(path));
  }
  ControlServer server(path, state.hooks());
  EXPECT_EQ(ctl(path, {"get", "trk", "idle_timeout"}).out, "300\n");
}

TEST_F(ControlSocket, ExistingFileIsRefused) {
  std::ofstream(path) << "precious\n";
  try {
    ControlServer server(path, state.hooks());
    FAIL() << "a regular file was replaced";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "control socket " + path + ": exists and is not a socket; not replacing it");
  }
  std::ifstream f(path);
  std::string content;
  std::getline(f, content);
  EXPECT_EQ(content, "precious");
}

TEST_F(ControlSocket, LiveSocketIsRefused) {
  ControlServer first(path, state.hooks());
  try {
    ControlServer second(path, state.hooks());
    FAIL() << "a live socket was replaced";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "control socket " + path + ": another process is listening on it");
  }
  EXPECT_EQ(ctl(path, {"get", "trk", "idle_timeout"}).out, "300\n");
}

TEST_F(ControlSocket, TooLongPathIsRefused) {
  std::string long_path = dir / std::string(120, 's');
  try {
    ControlServer server(long_path, state.hooks());
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "control socket " + long_path + ": path empty or longer than 107 bytes");
  }
}

TEST_F(ControlSocket, CtlCannotConnect) {
  auto r = ctl(path, {"stats"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "netloom ctl: error: cannot connect to control socket " + path +
                       ": No such file or directory (is `netloom run --control-socket` running?)\n");
}

TEST_F(ControlSocket, CtlRefusesBadArguments) {
  ControlServer server(path, state.hooks());
  auto r = ctl(path, {});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "netloom ctl: error: no command (netloom ctl help lists them)\n");
  r = ctl(path, {"set", "trk", "note", "a\nstats"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err, "netloom ctl: error: argument 'a\nstats' has a control character\n");
  EXPECT_EQ(server.requests(), 0u);
}
