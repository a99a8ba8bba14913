// Prometheus text exposition (0.0.4) of the runtime's stats, served by
// netloom_http.so (http_server.hpp), opened when an endpoint is asked for.
#include "metrics.hpp"

#include <cstdlib>
#include <filesystem>
#include <netloom/lazy_library.hpp>
#include <sstream>
#include <stdexcept>

#include "http_server.hpp"

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
  std::unique_ptr<http::Server> server;
};

namespace {

// netloom_http.so: $NETLOOM_HTTP_MODULE, else beside the executable (the
// build tree), else in <prefix>/lib/netloom (installed), else where this
// build put it (test programs).
std::string http_module_path() {
  if (const char* env = std::getenv("NETLOOM_HTTP_MODULE"); env && *env) return env;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    for (const auto& p : {exe.parent_path() / "netloom_http.so",
                          exe.parent_path().parent_path() / "lib" / "netloom" / "netloom_http.so"})
      if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  return NETLOOM_HTTP_MODULE_BUILD;
}

http::ServeFn load_http_module(const std::string& where) {
  // Opened once for the process and never closed (its server threads).
  static const std::pair<http::ServeFn, std::string> loaded = [] {
    const std::string path = http_module_path();
    LazyLibrary lib(path.c_str());
    http::ServeFn f = nullptr;
    lib.get(http::kServeSymbol, f);
    return std::pair{f, lib.error().empty() ? std::string() : lib.message("the HTTP module")};
  }();
  if (!loaded.first) throw std::runtime_error(where + ": " + loaded.second);
  return loaded.first;
}

}  // namespace

MetricsServer::MetricsServer(std::string host, int port, ControlHooks hooks)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.host = std::move(host);
  m.hooks = std::move(hooks);
  const std::string where = "metrics endpoint " + m.host + ":" + std::to_string(port);
  if (port < 0 || port > 65535) throw std::runtime_error(where + ": port must be 0..65535");
  const http::ServeFn serve = load_http_module(where);
  std::string error;
  m.server.reset(serve(
      m.host, port, "/metrics",
      [this]() {
        const Impl& im = *impl_;
        http::Response r;
        try {
          auto stats = im.hooks.stats ? im.hooks.stats() : std::vector<core::BlockStats>{};
          auto reloads = im.hooks.reload_counts ? im.hooks.reload_counts()
                                                : std::pair<std::uint64_t, std::uint64_t>{0, 0};
          r.body = prometheus_text(stats, reloads);
          r.content_type = kContentType;
        } catch (const std::exception& e) {
          r.status = 500;
          r.body = std::string("netloom: metrics: ") + e.what() + "\n";
          r.content_type = "text/plain";
        }
        return r;
      },
      where, error));
  if (!m.server) throw std::runtime_error(error);
  m.port = m.server->port();
}

MetricsServer::~MetricsServer() = default;

int MetricsServer::port() const { return impl_->port; }
const std::string& MetricsServer::host() const { return impl_->host; }

}  // namespace netloom::app
