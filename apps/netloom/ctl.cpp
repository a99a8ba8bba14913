// `netloom ctl`: one request to a running `netloom run`'s control socket.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "control.hpp"

namespace netloom::app {

namespace {

constexpr int kExitOk = 0, kExitCommandError = 1, kExitNoAnswer = 2;
// A reload drains the running graph first: allow it time.
constexpr std::chrono::seconds kReplyTimeout{60};

int fail(const std::string& msg) {
  std::fprintf(stderr, "netloom ctl: error: %s\n", msg.c_str());
  return kExitNoAnswer;
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

int ctl_main(const std::string& socket_path, const std::vector<std::string>& args) {
  if (args.empty()) return fail("no command (netloom ctl help lists them)");
  std::string request;
  for (const auto& a : args) {
    for (unsigned char c : a)
      if (c < 0x20 || c == 0x7f) return fail("argument '" + a + "' has a control character");
    if (!request.empty()) request += ' ';
    request += a;
  }
  request += '\n';
  if (request.size() > kControlMaxLine)
    return fail("request longer than " + std::to_string(kControlMaxLine) + " bytes");

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.empty() || socket_path.size() >= sizeof addr.sun_path)
    return fail("cannot connect to control socket '" + socket_path + "': path empty or too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0 || ::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    return fail("cannot connect to control socket " + socket_path + ": " + std::strerror(errno) +
                " (is `netloom run --control-socket` running?)");

  // The server reads one line, so the request always fits its buffer and a
  // send only fails when the server is gone; its reply may still be there.
  std::size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(s.fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }

  std::string reply;
  const auto deadline = std::chrono::steady_clock::now() + kReplyTimeout;
  char buf[4096];
  for (;;) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{s.fd, POLLIN, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, left.count())));
    if (rc < 0 && errno == EINTR) continue;
    if (rc == 0)
      return fail(socket_path + ": no reply within " + std::to_string(kReplyTimeout.count()) + " s");
    ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(socket_path + ": " + std::strerror(errno));
    if (n == 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }

  // The last line is the status; everything before it is data.
  if (reply.empty() || reply.back() != '\n') return fail(socket_path + ": truncated reply");
  reply.pop_back();
  std::size_t last_nl = reply.rfind('\n');
  std::string status = last_nl == std::string::npos ? reply : reply.substr(last_nl + 1);
  std::string data = last_nl == std::string::npos ? std::string() : reply.substr(0, last_nl + 1);
  std::fwrite(data.data(), 1, data.size(), stdout);
  std::fflush(stdout);
  if (status == "ok") return kExitOk;
  if (status.rfind("error: ", 0) == 0) {
    std::fprintf(stderr, "netloom ctl: %s\n", status.c_str());
    return kExitCommandError;
  }
  return fail(socket_path + ": unexpected reply line '" + status + "'");
}

}  // namespace netloom::app
