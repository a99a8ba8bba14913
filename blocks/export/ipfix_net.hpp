// Socket helpers of the IPFIX blocks: "host:port" parameters, address text
// for logs, non-blocking sockets.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace netloom::ipfix {

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

// "host:port", "[v6]:port" or "v6-literal" is not accepted without brackets.
// Throws ConfigError naming `param` on anything else (port 0 only if
// `allow_port0`).
Endpoint parse_endpoint(std::string_view text, std::string_view param, bool allow_port0 = false);

struct SockAddr {
  sockaddr_storage ss{};
  socklen_t len = 0;
  int family() const { return ss.ss_family; }
  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&ss); }
};

// Resolves the endpoint (numeric or a name, first address found); throws
// ConfigError naming `param` when it cannot.
SockAddr resolve(const Endpoint& e, int socktype, std::string_view param, bool passive = false);

// "192.0.2.1:4739", "[2001:db8::1]:4739".
std::string addr_text(const sockaddr* sa);

// Sets O_NONBLOCK and FD_CLOEXEC; false on failure.
bool set_nonblocking(int fd);

}  // namespace netloom::ipfix
