// Prometheus endpoint of `netloom run`: GET /metrics in the text exposition
// format 0.0.4, served by netloom_http.so (cpp-httplib, loaded on first use)
// on a thread of its own.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "control.hpp"

namespace netloom::app {

// Listens on host:port (port 0: a free port, see port()). Uses only the
// stats and reload_counts hooks. Throws std::runtime_error naming host:port
// when it cannot listen. The destructor stops the server.
class MetricsServer {
 public:
  MetricsServer(std::string host, int port, ControlHooks hooks);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const;
  const std::string& host() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// The /metrics body for these stats; `reloads` = {applied, refused}.
std::string prometheus_text(const std::vector<core::BlockStats>& stats,
                            std::pair<std::uint64_t, std::uint64_t> reloads);

// A label value escaped per the exposition format: \ " and newline.
std::string prometheus_escape(const std::string& value);

}  // namespace netloom::app
