// A UDP port on 127.0.0.1 that nobody else uses while the socket is open, so
// live-capture tests filtering on it never see another test run's datagrams.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

namespace netloom::test {

class LoopbackPort {
 public:
  LoopbackPort() {
    fd_ = ::socket(AF_INET, SOCK_DGRAM, 0);
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr_;
    if (fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr_), sizeof addr_) == 0)
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr_), &len);
  }
  ~LoopbackPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  LoopbackPort(const LoopbackPort&) = delete;
  LoopbackPort& operator=(const LoopbackPort&) = delete;

  std::uint16_t port() const { return ntohs(addr_.sin_port); }
  // Sends `n` small datagrams to the port.
  void send(int n) const {
    for (int i = 0; i < n; ++i)
      ::sendto(fd_, "netloom", 7, 0, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_);
  }

 private:
  int fd_ = -1;
  sockaddr_in addr_{};
};

// A port of `type` (SOCK_DGRAM, SOCK_STREAM) on 127.0.0.1 free right now, for
// a listener another process opens next (the kernel picks it; the short race
// until that process binds is accepted).
inline std::uint16_t free_port(int type) {
  int fd = ::socket(AF_INET, type, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace netloom::test
