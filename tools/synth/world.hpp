// The synthetic network: internal clients (10.0.0.0/8, 2001:db8::/32) and the
// external servers they use (documentation prefixes 192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24 and 3fff::/20), with per-run RTTs and TTLs.
#pragma once

#include <string>
#include <vector>

#include "rng.hpp"
#include "tcp.hpp"
#include "trace.hpp"

namespace netloom::synth {

struct Client {
  Addr v4, v6;
  bool has_v6 = false;
  Mac mac{};
  uint16_t vlan = 0;
  bool windows = false;
  uint32_t next_port = 0;
  uint16_t ephemeral(Rng& rng);
  uint8_t ttl() const { return windows ? 128 : 64; }
  TcpProfile tcp(bool v6) const { return windows ? windows_client(v6) : linux_client(v6); }
};

struct Server {
  std::string name;
  Addr v4, v6;
  bool has_v6 = false;
  uint8_t ttl = 52;
  uint64_t rtt = 40 * kMs;
  uint16_t mss = 1460;
};

struct World {
  std::vector<Client> clients;
  std::vector<Server> servers;
  Mac gateway{0x00, 0x1b, 0x21, 0x3a, 0x4f, 0x01};
  LinkType link = LinkType::ethernet;

  explicit World(Rng& rng, LinkType link);
  Server& server(const std::string& name);
  Client& pick_client(Rng& rng, bool need_v6 = false);
  // A flow between a client and a server on the given family and ports.
  FlowSpec spec(const Client& c, const Server& s, bool v6, uint8_t proto, uint16_t cport, uint16_t sport,
                const std::string& label) const;
};

}  // namespace netloom::synth
