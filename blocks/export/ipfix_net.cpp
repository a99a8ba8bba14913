#include "ipfix_net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <netloom/error.hpp>

namespace netloom::ipfix {

Endpoint parse_endpoint(std::string_view text, std::string_view param, bool allow_port0) {
  const std::string what = "parameter '" + std::string(param) + "': ";
  auto bad = [&](const std::string& why) {
    throw ConfigError(what + why + " (expected host:port or [IPv6]:port, got '" + std::string(text) + "')");
  };
  Endpoint e;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) bad("unclosed '['");
    e.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') bad("no port");
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) bad("no port");
    if (text.find(':') != colon) bad("an IPv6 address needs brackets");
    e.host = std::string(text.substr(0, colon));
    port = text.substr(colon + 1);
  }
  if (e.host.empty()) bad("no host");
  unsigned v = 0;
  auto r = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || r.ec != std::errc() || r.ptr != port.data() + port.size() || v > 65535)
    bad("port is not a number from 1 to 65535");
  if (v == 0 && !allow_port0) bad("port 0");
  e.port = static_cast<std::uint16_t>(v);
  return e;
}

SockAddr resolve(const Endpoint& e, int socktype, std::string_view param, bool passive) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = socktype;
  hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
  addrinfo* res = nullptr;
  const std::string port = std::to_string(e.port);
  const int rc = ::getaddrinfo(e.host.c_str(), port.c_str(), &hints, &res);
  if (rc != 0 || res == nullptr)
    throw ConfigError("parameter '" + std::string(param) + "': cannot resolve '" + e.host +
                      "': " + (rc ? ::gai_strerror(rc) : "no address"));
  SockAddr a;
  std::memcpy(&a.ss, res->ai_addr, res->ai_addrlen);
  a.len = static_cast<socklen_t>(res->ai_addrlen);
  ::freeaddrinfo(res);
  return a;
}

std::string addr_text(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN + 16] = "?";
  char out[INET6_ADDRSTRLEN + 16];
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    ::inet_ntop(AF_INET, &in->sin_addr, buf, INET6_ADDRSTRLEN);
    std::snprintf(out, sizeof out, "%s:%u", buf, static_cast<unsigned>(ntohs(in->sin_port)));
    return out;
  }
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    ::inet_ntop(AF_INET6, &in6->sin6_addr, buf, INET6_ADDRSTRLEN);
    std::snprintf(out, sizeof out, "[%s]:%u", buf, static_cast<unsigned>(ntohs(in6->sin6_port)));
    return out;
  }
  return "?";
}

bool set_nonblocking(int fd) {
  const int fl = ::fcntl(fd, F_GETFL, 0);
  if (fl < 0 || ::fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) return false;
  return ::fcntl(fd, F_SETFD, FD_CLOEXEC) == 0;
}

}  // namespace netloom::ipfix
