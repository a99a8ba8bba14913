// Live control of `netloom run`: a Unix-socket line protocol (docs/control.md)
// served on its own thread, and the `netloom ctl` client.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/runtime.hpp"

namespace netloom::app {

// What the servers may do to the running process; any hook may be empty
// (the command then answers "error: ... not available").
struct ControlHooks {
  std::function<std::vector<core::BlockStats>()> stats;
  std::function<bool(const std::string& block, const std::string& name, std::string& value,
                     std::string& error)>
      get;
  std::function<bool(const std::string& block, const std::string& name, const std::string& value,
                     std::string& error)>
      set;
  std::function<core::ReloadReport()> reload;  // re-reads the composition file (and plugin path), applies it
  std::function<std::string()> graph_dot;
  std::function<std::pair<std::uint64_t, std::uint64_t>()> reload_counts;
};

// Longest request line accepted, newline included.
constexpr std::size_t kControlMaxLine = 4096;

struct ControlOptions {
  // How long one client may take to send its request line and to read the
  // reply; past it the connection is dropped and the next client served.
  std::chrono::milliseconds io_timeout{2000};
};

// Listens on `socket_path` (mode 0600) and serves one request per connection,
// one client after the other, on a thread of its own. Throws
// std::runtime_error naming the path when the socket cannot be created, when
// the path exists and is not a socket, or when another process listens on it
// (a stale socket is replaced). The destructor stops the thread and removes
// the socket.
class ControlServer {
 public:
  ControlServer(std::string socket_path, ControlHooks hooks, ControlOptions opts = {});
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& socket_path() const;
  // Requests answered so far and connections dropped (timeout, over-long
  // line, peer of another user, write failure).
  std::uint64_t requests() const;
  std::uint64_t dropped() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// One request line (without its newline) in, the reply lines out: data
// lines, then "ok" or "error: MESSAGE" as the last line. Never throws (a
// throwing hook becomes an error line).
std::vector<std::string> control_execute(const std::string& line, const ControlHooks& hooks);

// `netloom ctl`: sends `args` (command and arguments, joined by one space) to
// the server at `socket_path`, prints the data lines on stdout and an error on
// stderr. Exit code: 0 ok, 1 the server answered an error, 2 no usable answer
// (cannot connect, timeout, truncated reply) or a bad argument.
int ctl_main(const std::string& socket_path, const std::vector<std::string>& args);

}  // namespace netloom::app
