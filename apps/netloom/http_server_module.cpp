// netloom_http.so: the HTTP server behind `netloom run --metrics-port`
// (http_server.hpp), on cpp-httplib.
#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "http_server.hpp"

namespace netloom::app::http {
namespace {

class HttplibServer final : public Server {
 public:
  HttplibServer(const std::string& host, int port, const std::string& path, std::function<Response()> handler,
                const std::string& where, std::string& error)
      : handler_(std::move(handler)) {
    // Scrapes are rare and small: two workers, short timeouts, no bodies.
    server_.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server_.set_read_timeout(std::chrono::seconds(5));
    server_.set_write_timeout(std::chrono::seconds(5));
    server_.set_payload_max_length(4096);
    // cpp-httplib's default also sets SO_REUSEPORT, which lets a second
    // process bind the same port and take half the scrapes: keep only
    // SO_REUSEADDR (a restart need not wait for TIME_WAIT).
    server_.set_socket_options([](int sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    server_.Get(path, [this](const httplib::Request&, httplib::Response& res) {
      const Response r = handler_();
      res.status = r.status;
      res.set_content(r.body, r.content_type);
    });
    if (port == 0) {
      port_ = server_.bind_to_any_port(host);
      if (port_ <= 0) {
        error = where + ": cannot listen (is the host a local address?)";
        return;
      }
    } else {
      if (!server_.bind_to_port(host, port)) {
        error = where + ": cannot listen (port in use, or the host is not a local address?)";
        return;
      }
      port_ = port;
    }
    thread_ = std::thread([this] {
      server_.listen_after_bind();
      finished_ = true;
    });
  }
  ~HttplibServer() override {
    if (!thread_.joinable()) return;
    // cpp-httplib's stop() does nothing until the listen loop has started:
    // wait for it, then stop.
    while (!server_.is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
    thread_.join();
  }
  int port() const override { return port_; }

 private:
  std::function<Response()> handler_;
  httplib::Server server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  int port_ = 0;
};

}  // namespace
}  // namespace netloom::app::http

extern "C" __attribute__((visibility("default"))) netloom::app::http::Server* netloom_http_serve(
    const std::string& host, int port, const std::string& path,
    std::function<netloom::app::http::Response()> handler, const std::string& where, std::string& error) {
  try {
    auto s = std::make_unique<netloom::app::http::HttplibServer>(host, port, path, std::move(handler), where,
                                                                 error);
    return error.empty() ? s.release() : nullptr;
  } catch (const std::exception& e) {
    error = where + ": " + e.what();
    return nullptr;
  }
}
