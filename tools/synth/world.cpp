#include "world.hpp"

#include <stdexcept>

namespace netloom::synth {

uint16_t Client::ephemeral(Rng& rng) {
  const uint32_t lo = windows ? 49152 : 32768, hi = windows ? 65535 : 60999;
  if (next_port == 0) next_port = static_cast<uint32_t>(rng.range(lo, hi - 2000));
  next_port += static_cast<uint32_t>(rng.range(1, 23));
  if (next_port > hi) next_port = lo + (next_port - hi);
  return static_cast<uint16_t>(next_port);
}

World::World(Rng& rng, LinkType l) : link(l) {
  // Internal hosts: 10.0.1.0/24 untagged, 10.0.20.0/24 on VLAN 20 (tagged on the monitored trunk).
  const struct {
    uint8_t net, host;
    bool windows, v6;
  } hosts[] = {{1, 11, false, true},  {1, 12, true, false},  {1, 13, false, true},
               {1, 14, true, true},   {1, 15, false, false}, {1, 16, false, false},
               {20, 21, false, true}, {20, 22, true, false}, {20, 23, false, false}};
  for (const auto& h : hosts) {
    Client c;
    c.v4 = Addr::v4(10, 0, h.net, h.host);
    c.has_v6 = h.v6;
    // Hex groups that read like the IPv4 numbers: 10.0.1.11 <-> 2001:db8:1:1::11.
    auto dec_hex = [](unsigned v) { return static_cast<uint16_t>(v / 10 * 16 + v % 10); };
    c.v6 = Addr::v6_groups({0x2001, 0x0db8, 0x0001, dec_hex(h.net), 0, 0, 0, dec_hex(h.host)});
    c.mac = Mac{0x02, 0x42, 0x0a, 0x00, h.net, h.host};
    c.vlan = h.net == 20 ? 20 : 0;
    c.windows = h.windows;
    clients.push_back(c);
  }
  const struct {
    const char* name;
    uint8_t a, b, c, d;
    uint16_t g;  // non-zero: also reachable at 3fff:0:g::g
    uint16_t mss;
  } srv[] = {{"www.example.com", 203, 0, 113, 10, 0x10, 1460},
             {"cdn.example.net", 198, 51, 100, 20, 0x20, 1400},
             {"api.example.org", 203, 0, 113, 45, 0, 1460},
             {"static.example.com", 203, 0, 113, 80, 0x80, 1460},
             {"video.example.net", 198, 51, 100, 90, 0x90, 1380},
             {"mail.example.net", 192, 0, 2, 25, 0, 1460},
             {"git.example.org", 198, 51, 100, 22, 0, 1460},
             {"ntp.example.org", 192, 0, 2, 123, 0, 1460},
             {"resolver", 192, 0, 2, 53, 0x53, 1460},
             {"gw.example.net", 198, 51, 100, 1, 0, 1460},
             {"old.example.com", 203, 0, 113, 200, 0, 1460},
             {"closed.example.org", 203, 0, 113, 201, 0, 1460},
             {"shop.example.com", 203, 0, 113, 60, 0x60, 1460}};
  for (const auto& x : srv) {
    Server s;
    s.name = x.name;
    s.v4 = Addr::v4(x.a, x.b, x.c, x.d);
    s.has_v6 = x.g != 0;
    s.v6 = Addr::v6_groups({0x3fff, 0, x.g, 0, 0, 0, 0, x.g});
    const bool win = rng.chance(0.15);
    s.ttl = static_cast<uint8_t>((win ? 128 : 64) - rng.range(6, 18));
    s.rtt = s.name == "resolver" ? static_cast<uint64_t>(rng.range(8000, 18000)) * kUs
                                 : static_cast<uint64_t>(rng.range(20000, 80000)) * kUs;
    s.mss = x.mss;
    servers.push_back(s);
  }
}

Server& World::server(const std::string& name) {
  for (auto& s : servers)
    if (s.name == name) return s;
  throw std::logic_error("no server " + name);
}

Client& World::pick_client(Rng& rng, bool need_v6) {
  for (;;) {
    Client& c = clients[static_cast<size_t>(rng.range(0, static_cast<int64_t>(clients.size()) - 1))];
    if (!need_v6 || c.has_v6) return c;
  }
}

FlowSpec World::spec(const Client& c, const Server& s, bool v6, uint8_t proto, uint16_t cport, uint16_t sport,
                     const std::string& label) const {
  FlowSpec f;
  f.proto = v6 && proto == ipproto::icmp ? ipproto::icmpv6 : proto;
  f.client = Endpoint{v6 ? c.v6 : c.v4, cport, c.ttl()};
  f.server = Endpoint{v6 ? s.v6 : s.v4, sport, s.ttl};
  f.label = label;
  f.vlan = link == LinkType::ethernet ? c.vlan : 0;
  f.client_mac = c.mac;
  f.gateway_mac = gateway;
  return f;
}

}  // namespace netloom::synth
