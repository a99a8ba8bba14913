// Prometheus text exposition (0.0.4) of the runtime's stats over cpp-httplib.
#include "metrics.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace netloom::app {

namespace {

const char* const kContentType = "text/plain; version=0.0.4; charset=utf-8";

void family(std::ostringstream& os, const char* name, const char* type, const char* help) {
  os << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

}  // namespace

std::string prometheus_escape(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string prometheus_text(const std::vector<core::BlockStats>& stats,
                            std::pair<std::uint64_t, std::uint64_t> reloads) {
  std::ostringstream os;
  auto block_labels = [](const core::BlockStats& b) {
    return "block=\"" + prometheus_escape(b.id) + "\",type=\"" + prometheus_escape(b.type) + "\"";
  };
  auto port_labels = [](const core::BlockStats& b, const char* dir, const core::PortStats& p) {
    return "block=\"" + prometheus_escape(b.id) + "\",direction=\"" + dir + "\",port=\"" +
           prometheus_escape(p.name) + "\"";
  };

  // Block counters only grow (netloom::Counter), hence TYPE counter.
  family(os, "netloom_block_counter", "counter",
         "A counter a block declares (netloom inspect TYPE lists them).");
  for (const auto& b : stats)
    for (const auto& [name, value] : b.counters)
      os << "netloom_block_counter{" << block_labels(b) << ",counter=\"" << prometheus_escape(name) << "\"} "
         << value << '\n';

  family(os, "netloom_block_errors_total", "counter", "Exceptions a block threw while running.");
  for (const auto& b : stats)
    os << "netloom_block_errors_total{" << block_labels(b) << "} " << b.errors << '\n';

  family(os, "netloom_port_messages_total", "counter", "Messages (batches) through a block's port.");
  for (const auto& b : stats) {
    for (const auto& p : b.inputs)
      os << "netloom_port_messages_total{" << port_labels(b, "in", p) << "} " << p.messages << '\n';
    for (const auto& p : b.outputs)
      os << "netloom_port_messages_total{" << port_labels(b, "out", p) << "} " << p.messages << '\n';
  }

  family(os, "netloom_port_items_total", "counter", "Items (packets, flows, events) through a block's port.");
  for (const auto& b : stats) {
    for (const auto& p : b.inputs)
      os << "netloom_port_items_total{" << port_labels(b, "in", p) << "} " << p.items << '\n';
    for (const auto& p : b.outputs)
      os << "netloom_port_items_total{" << port_labels(b, "out", p) << "} " << p.items << '\n';
  }

  family(os, "netloom_port_unconnected_items_total", "counter",
         "Items a block emitted on an output port nothing consumes.");
  for (const auto& b : stats)
    for (const auto& p : b.outputs)
      os << "netloom_port_unconnected_items_total{" << port_labels(b, "out", p) << "} " << p.unconnected
         << '\n';

  family(os, "netloom_source_batches_in_flight", "gauge",
         "Batches a source emitted that consumers still hold (bounded by max-in-flight).");
  for (const auto& b : stats)
    if (b.source) os << "netloom_source_batches_in_flight{" << block_labels(b) << "} " << b.in_flight << '\n';
  family(os, "netloom_source_backpressure_waits_total", "counter",
         "Times a source waited for a free batch (back-pressure).");
  for (const auto& b : stats)
    if (b.source)
      os << "netloom_source_backpressure_waits_total{" << block_labels(b) << "} " << b.backpressure_waits
         << '\n';

  family(os, "netloom_reloads_total", "counter", "Composition reloads, applied or refused.");
  os << "netloom_reloads_total{result=\"applied\"} " << reloads.first << '\n';
  os << "netloom_reloads_total{result=\"refused\"} " << reloads.second << '\n';
  return os.str();
}

struct MetricsServer::Impl {
  std::string host;
  int port = 0;
  ControlHooks hooks;
  httplib::Server server;
  std::thread thread;
  std::atomic<bool> finished{false};
};

MetricsServer::MetricsServer(std::string host, int port, ControlHooks hooks)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.host = std::move(host);
  m.hooks = std::move(hooks);
  const std::string where = "metrics endpoint " + m.host + ":" + std::to_string(port);
  if (port < 0 || port > 65535) throw std::runtime_error(where + ": port must be 0..65535");

  // Scrapes are rare and small: two workers, short timeouts, no bodies.
  m.server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  m.server.set_read_timeout(std::chrono::seconds(5));
  m.server.set_write_timeout(std::chrono::seconds(5));
  m.server.set_payload_max_length(4096);
  // cpp-httplib's default also sets SO_REUSEPORT, which lets a second
  // process bind the same port and take half the scrapes: keep only
  // SO_REUSEADDR (a restart need not wait for TIME_WAIT).
  m.server.set_socket_options([](int sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  m.server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    const Impl& im = *impl_;
    try {
      auto stats = im.hooks.stats ? im.hooks.stats() : std::vector<core::BlockStats>{};
      auto reloads =
          im.hooks.reload_counts ? im.hooks.reload_counts() : std::pair<std::uint64_t, std::uint64_t>{0, 0};
      res.set_content(prometheus_text(stats, reloads), kContentType);
    } catch (const std::exception& e) {
      res.status = 500;
      res.set_content(std::string("netloom: metrics: ") + e.what() + "\n", "text/plain");
    }
  });

  if (port == 0) {
    m.port = m.server.bind_to_any_port(m.host);
    if (m.port <= 0) throw std::runtime_error(where + ": cannot listen (is the host a local address?)");
  } else {
    if (!m.server.bind_to_port(m.host, port))
      throw std::runtime_error(where + ": cannot listen (port in use, or the host is not a local address?)");
    m.port = port;
  }
  m.thread = std::thread([this] {
    impl_->server.listen_after_bind();
    impl_->finished = true;
  });
}

MetricsServer::~MetricsServer() {
  // cpp-httplib's stop() does nothing until the listen loop has started:
  // wait for it, then stop.
  while (!impl_->server.is_running() && !impl_->finished)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int MetricsServer::port() const { return impl_->port; }
const std::string& MetricsServer::host() const { return impl_->host; }

}  // namespace netloom::app
