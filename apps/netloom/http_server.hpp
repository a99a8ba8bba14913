// The metrics endpoint's HTTP server, built as its own shared object
// (netloom_http.so) and opened only when `--metrics-port` asks for one:
// cpp-httplib and the libraries it links (OpenSSL's libssl, brotli) cost
// every netloom process ~5 ms to load and initialise. Built with netloom
// (same compiler and standard library), so C++ types cross the boundary.
#pragma once
#include <functional>
#include <string>

namespace netloom::app::http {

struct Response {
  int status = 200;
  std::string body;
  std::string content_type;
};

class Server {
 public:
  virtual ~Server() = default;  // stops serving and joins the thread
  virtual int port() const = 0;
};

// netloom_http.so's entry point (symbol kServeSymbol): serves GET `path`
// with `handler` on host:port (port 0: a free one) from a thread of its own.
// On failure returns null and sets `error` (a line starting with `where`).
using ServeFn = Server* (*)(const std::string& host, int port, const std::string& path,
                            std::function<Response()> handler, const std::string& where, std::string& error);
inline constexpr const char* kServeSymbol = "netloom_http_serve";

}  // namespace netloom::app::http
