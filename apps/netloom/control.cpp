// The control protocol (control_execute) and its Unix-socket server.
#include "control.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace netloom::app {

namespace {

using Lines = std::vector<std::string>;

// An error line is the reply's last line: keep it to one line.
std::string error_line(std::string msg) {
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  std::replace(msg.begin(), msg.end(), '\r', ' ');
  return "error: " + msg;
}

void append_text(Lines& out, const std::string& text, const std::string& prefix = {}) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    out.push_back(prefix + text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

// Splits off the next whitespace-separated word; `pos` ends on the separator.
std::string next_word(const std::string& s, std::size_t& pos) {
  while (pos < s.size() && is_space(s[pos])) ++pos;
  std::size_t start = pos;
  while (pos < s.size() && !is_space(s[pos])) ++pos;
  return s.substr(start, pos - start);
}

bool only_space_left(const std::string& s, std::size_t pos) {
  return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(pos), s.end(), is_space);
}

// Counters that say something was lost or refused.
bool is_drop_counter(const std::string& name) {
  for (const char* k : {"drop", "evicted", "error"})
    if (name.find(k) != std::string::npos) return true;
  return false;
}

Lines help_lines() {
  return {
      "stats                     per block: ports (messages, items, unconnected), counters, errors; then "
      "drops",
      "get BLOCK PARAM           a block's current parameter value",
      "set BLOCK PARAM VALUE     sets a live parameter (VALUE: the rest of the line, verbatim)",
      "reload                    re-reads the composition and applies it; one line per action",
      "graph                     the running graph in Graphviz DOT",
      "help                      this list",
  };
}

Lines stats_lines(const std::vector<core::BlockStats>& stats) {
  Lines out;
  Lines drops;
  std::uint64_t total = 0;
  auto drop = [&](const std::string& what, std::uint64_t v) {
    if (v == 0) return;
    drops.push_back("  " + what + "=" + std::to_string(v));
    total += v;
  };
  for (const auto& b : stats) {
    out.push_back("block " + b.id + " (" + b.type + ") errors=" + std::to_string(b.errors));
    drop(b.id + " errors", b.errors);
    for (const auto& p : b.inputs)
      out.push_back("  in " + p.name + " (" + p.type + ") messages=" + std::to_string(p.messages) +
                    " items=" + std::to_string(p.items));
    for (const auto& p : b.outputs) {
      out.push_back("  out " + p.name + " (" + p.type + ") messages=" + std::to_string(p.messages) +
                    " items=" + std::to_string(p.items) + " unconnected=" + std::to_string(p.unconnected));
      drop(b.id + " out " + p.name + " unconnected", p.unconnected);
    }
    for (const auto& [name, value] : b.counters) {
      out.push_back("  counter " + name + "=" + std::to_string(value));
      if (is_drop_counter(name)) drop(b.id + " counter " + name, value);
    }
    append_text(out, b.summary, "  summary: ");
  }
  out.push_back("drops total=" + std::to_string(total));
  out.insert(out.end(), drops.begin(), drops.end());
  // The queues of the graph are the sources' batches in flight (bounded by
  // max-in-flight: back-pressure, not loss).
  out.push_back("queue depths (source batches in flight / max-in-flight, back-pressure waits):");
  for (const auto& b : stats)
    if (b.source)
      out.push_back("  " + b.id + " " + std::to_string(b.in_flight) + "/" + std::to_string(b.max_in_flight) +
                    " waits=" + std::to_string(b.backpressure_waits));
  return out;
}

Lines execute(const std::string& line, const ControlHooks& hooks) {
  for (unsigned char c : line)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return {error_line("request has a control character")};
  std::size_t pos = 0;
  const std::string cmd = next_word(line, pos);
  auto unavailable = [&] { return Lines{error_line("'" + cmd + "' is not available in this process")}; };

  if (cmd.empty()) return {error_line("empty request (help lists the commands)")};
  if (cmd == "help" || cmd == "stats" || cmd == "reload" || cmd == "graph") {
    if (!only_space_left(line, pos)) return {error_line("usage: " + cmd + " (takes no argument)")};
  }
  if (cmd == "help") {
    Lines out = help_lines();
    out.push_back("ok");
    return out;
  }
  if (cmd == "stats") {
    if (!hooks.stats) return unavailable();
    Lines out = stats_lines(hooks.stats());
    out.push_back("ok");
    return out;
  }
  if (cmd == "graph") {
    if (!hooks.graph_dot) return unavailable();
    Lines out;
    append_text(out, hooks.graph_dot());
    out.push_back("ok");
    return out;
  }
  if (cmd == "reload") {
    if (!hooks.reload) return unavailable();
    core::ReloadReport r = hooks.reload();
    Lines out;
    for (const auto& l : r.lines) append_text(out, l);
    out.push_back(r.applied ? "ok" : error_line("reload refused; nothing changed"));
    return out;
  }
  if (cmd == "get") {
    const std::string block = next_word(line, pos), name = next_word(line, pos);
    if (name.empty() || !only_space_left(line, pos)) return {error_line("usage: get BLOCK PARAM")};
    if (!hooks.get) return unavailable();
    std::string value, error;
    if (!hooks.get(block, name, value, error))
      return {error_line(error.empty() ? "get " + block + " " + name + " failed" : error)};
    Lines out{value};
    out.push_back("ok");
    return out;
  }
  if (cmd == "set") {
    const std::string block = next_word(line, pos), name = next_word(line, pos);
    // VALUE is the rest after the one separator that ends PARAM: it may hold
    // spaces (a BPF filter) or be empty ("set b p ").
    if (name.empty() || pos >= line.size()) return {error_line("usage: set BLOCK PARAM VALUE")};
    const std::string value = line.substr(pos + 1);
    if (!hooks.set) return unavailable();
    std::string error;
    if (!hooks.set(block, name, value, error))
      return {error_line(error.empty() ? "set " + block + " " + name + " failed" : error)};
    return {"ok"};
  }
  return {error_line("unknown command '" + cmd + "' (help lists the commands)")};
}

std::string sys_error(const std::string& path, const std::string& what) {
  return "control socket " + path + ": " + what + ": " + std::strerror(errno);
}

// Fills a sockaddr_un; false when the path does not fit.
bool make_addr(const std::string& path, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return true;
}

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

std::vector<std::string> control_execute(const std::string& line, const ControlHooks& hooks) {
  std::string l = line;
  if (!l.empty() && l.back() == '\r') l.pop_back();  // clients that send CRLF
  try {
    return execute(l, hooks);
  } catch (const std::exception& e) {
    return {error_line(std::string("internal: ") + e.what())};
  } catch (...) {
    return {error_line("internal: unknown exception")};
  }
}

struct ControlServer::Impl {
  std::string path;
  ControlHooks hooks;
  ControlOptions opts;
  int listen_fd = -1;
  int wake[2] = {-1, -1};  // the destructor writes to wake[1] to stop the thread
  dev_t dev = 0;
  ino_t ino = 0;
  std::thread thread;
  std::atomic<std::uint64_t> requests{0}, dropped{0};

  ~Impl() {
    for (int fd : {listen_fd, wake[0], wake[1]})
      if (fd >= 0) ::close(fd);
  }

  void open_socket();
  void serve();
  void handle(int fd);
  enum class Read { line, too_long, timeout, eof, stop };
  Read read_line(int fd, std::string& line);
  bool write_all(int fd, const std::string& data);
};

void ControlServer::Impl::open_socket() {
  sockaddr_un addr;
  if (!make_addr(path, addr))
    throw std::runtime_error("control socket " + path + ": path empty or longer than " +
                             std::to_string(sizeof addr.sun_path - 1) + " bytes");
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error("control socket " + path + ": exists and is not a socket; not replacing it");
    // A socket nobody accepts on is left over from a process that died.
    int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) throw std::runtime_error(sys_error(path, "socket"));
    int rc = ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
    int err = errno;
    ::close(probe);
    if (rc == 0) throw std::runtime_error("control socket " + path + ": another process is listening on it");
    if (err != ECONNREFUSED) {
      errno = err;
      throw std::runtime_error(sys_error(path, "cannot probe the existing socket"));
    }
    if (::unlink(path.c_str()) != 0)
      throw std::runtime_error(sys_error(path, "cannot remove the stale socket"));
  } else if (errno != ENOENT) {
    throw std::runtime_error(sys_error(path, "lstat"));
  }

  listen_fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (listen_fd < 0) throw std::runtime_error(sys_error(path, "socket"));
  // The umask makes the socket 0600 from its creation, so no other user can
  // connect in the window before the chmod.
  mode_t old = ::umask(0177);
  int rc = ::bind(listen_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  int err = errno;
  ::umask(old);
  errno = err;
  if (rc != 0) throw std::runtime_error(sys_error(path, "bind"));
  if (::chmod(path.c_str(), 0600) != 0 || ::lstat(path.c_str(), &st) != 0 || ::listen(listen_fd, 16) != 0) {
    err = errno;
    ::unlink(path.c_str());
    errno = err;
    throw std::runtime_error(sys_error(path, "chmod/listen"));
  }
  dev = st.st_dev;
  ino = st.st_ino;
  if (::pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    err = errno;
    ::unlink(path.c_str());
    errno = err;
    throw std::runtime_error(sys_error(path, "pipe"));
  }
}

void ControlServer::Impl::serve() {
  for (;;) {
    pollfd p[2] = {{listen_fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (p[1].revents) return;
    if (!(p[0].revents & POLLIN)) continue;
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      // Out of descriptors and the like: back off instead of spinning.
      if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    handle(fd);
    ::close(fd);
  }
}

ControlServer::Impl::Read ControlServer::Impl::read_line(int fd, std::string& line) {
  const auto deadline = Clock::now() + opts.io_timeout;
  std::string buf;
  char chunk[1024];
  for (;;) {
    std::size_t nl = buf.find('\n');
    if (nl != std::string::npos) {
      if (nl + 1 > kControlMaxLine) return Read::too_long;
      line = buf.substr(0, nl);
      return Read::line;
    }
    if (buf.size() >= kControlMaxLine) return Read::too_long;
    pollfd p[2] = {{fd, POLLIN, 0}, {wake[0], POLLIN, 0}};
    int rc = ::poll(p, 2, ms_left(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return Read::eof;
    if (p[1].revents) return Read::stop;
    if (rc == 0) return Read::timeout;
    ssize_t n = ::recv(fd, chunk, std::min(sizeof chunk, kControlMaxLine - buf.size()), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      // A client that half-closes after its request needs no newline.
      if (n == 0 && !buf.empty()) {
        line = buf;
        return Read::line;
      }
      return Read::eof;
    }
    buf.append(chunk, static_cast<std::size_t>(n));
  }
}

bool ControlServer::Impl::write_all(int fd, const std::string& data) {
  const auto deadline = Clock::now() + opts.io_timeout;
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p[2] = {{fd, POLLOUT, 0}, {wake[0], POLLIN, 0}};
    int rc = ::poll(p, 2, ms_left(deadline));
    if (rc == 0 || p[1].revents) return false;
  }
  return true;
}

void ControlServer::Impl::handle(int fd) {
  // The 0600 mode keeps other users out; root may still connect, and so
  // may anyone if the lead's directory choice leaves the path reachable.
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 ||
      (cred.uid != ::geteuid() && cred.uid != 0)) {
    write_all(fd, error_line("permission denied") + "\n");
    ++dropped;
    return;
  }
  std::string line;
  Lines reply;
  bool served = true;  // false: the client is answered with an error and dropped
  switch (read_line(fd, line)) {
    case Read::line:
      reply = control_execute(line, hooks);
      break;
    case Read::too_long:
      reply = {error_line("request longer than " + std::to_string(kControlMaxLine) + " bytes")};
      served = false;
      break;
    case Read::timeout:
      reply = {
          error_line("no complete request line within " + std::to_string(opts.io_timeout.count()) + " ms")};
      served = false;
      break;
    case Read::eof:
    case Read::stop:
      ++dropped;
      return;
  }
  std::string out;
  for (const auto& l : reply) out += l + "\n";
  if (write_all(fd, out) && served)
    ++requests;
  else
    ++dropped;
  ::shutdown(fd, SHUT_WR);
}

ControlServer::ControlServer(std::string socket_path, ControlHooks hooks, ControlOptions opts)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(socket_path);
  impl_->hooks = std::move(hooks);
  impl_->opts = opts;
  impl_->open_socket();
  impl_->thread = std::thread([this] { impl_->serve(); });
}

ControlServer::~ControlServer() {
  // A full pipe (write fails) already wakes the thread.
  [[maybe_unused]] ssize_t n = ::write(impl_->wake[1], "x", 1);
  if (impl_->thread.joinable()) impl_->thread.join();
  // Only remove the path if it is still our socket (not replaced meanwhile).
  struct stat st {};
  if (::lstat(impl_->path.c_str(), &st) == 0 && st.st_dev == impl_->dev && st.st_ino == impl_->ino)
    ::unlink(impl_->path.c_str());
}

const std::string& ControlServer::socket_path() const { return impl_->path; }
std::uint64_t ControlServer::requests() const { return impl_->requests.load(); }
std::uint64_t ControlServer::dropped() const { return impl_->dropped.load(); }

}  // namespace netloom::app
