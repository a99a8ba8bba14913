#include "frame.hpp"

#include <cstdio>

namespace netloom::synth {

Addr Addr::v4(uint8_t a, uint8_t b1, uint8_t c, uint8_t d) {
  Addr r;
  r.b[0] = a;
  r.b[1] = b1;
  r.b[2] = c;
  r.b[3] = d;
  return r;
}

Addr Addr::v6_groups(std::array<uint16_t, 8> g) {
  Addr r;
  r.v6 = true;
  for (int i = 0; i < 8; ++i) {
    r.b[2 * i] = static_cast<uint8_t>(g[i] >> 8);
    r.b[2 * i + 1] = static_cast<uint8_t>(g[i]);
  }
  return r;
}

std::string Addr::str() const {
  char buf[64];
  if (!v6) {
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
    return buf;
  }
  uint16_t g[8];
  for (int i = 0; i < 8; ++i) g[i] = static_cast<uint16_t>(b[2 * i] << 8 | b[2 * i + 1]);
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on ties.
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    if (g[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len) best = i, best_len = j - i;
    i = j;
  }
  std::string s;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      s += "::";
      i += best_len - 1;
      continue;
    }
    if (!s.empty() && s.back() != ':') s += ':';
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    s += buf;
  }
  return s;
}

namespace {

uint32_t sum16(const uint8_t* p, size_t n, uint32_t acc = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) acc += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) acc += static_cast<uint32_t>(p[n - 1] << 8);
  return acc;
}

uint16_t fold(uint32_t acc) {
  while (acc >> 16) acc = (acc & 0xffff) + (acc >> 16);
  return static_cast<uint16_t>(~acc & 0xffff);
}

}  // namespace

Bytes ip_packet(const IpParams& p, uint8_t proto, const Bytes& l4) {
  Bytes b;
  if (!p.src.v6) {
    b.reserve(20 + l4.size());
    put8(b, 0x45);
    put8(b, 0);
    put16(b, 20 + l4.size());
    put16(b, p.id);
    put16(b, (p.df ? 0x4000 : 0) | (p.more_fragments ? 0x2000 : 0) | (p.frag_offset & 0x1fff));
    put8(b, p.ttl);
    put8(b, proto);
    put16(b, 0);
    b.insert(b.end(), p.src.b.begin(), p.src.b.begin() + 4);
    b.insert(b.end(), p.dst.b.begin(), p.dst.b.begin() + 4);
    set16(b, 10, fold(sum16(b.data(), 20)));
  } else {
    b.reserve(40 + l4.size());
    put32(b, 0x60000000u | (p.flow_label & 0xfffff));
    put16(b, l4.size());
    put8(b, proto);
    put8(b, p.ttl);
    b.insert(b.end(), p.src.b.begin(), p.src.b.end());
    b.insert(b.end(), p.dst.b.begin(), p.dst.b.end());
  }
  append(b, l4);
  return b;
}

void fill_l4_checksum(const Addr& src, const Addr& dst, uint8_t proto, Bytes& l4) {
  size_t at = proto == ipproto::tcp ? 16 : proto == ipproto::udp ? 6 : 2;
  l4[at] = l4[at + 1] = 0;
  uint32_t acc = 0;
  if (proto != ipproto::icmp) {  // pseudo-header
    size_t alen = src.v6 ? 16 : 4;
    acc = sum16(src.b.data(), alen, acc);
    acc = sum16(dst.b.data(), alen, acc);
    acc += proto;
    acc += static_cast<uint32_t>(l4.size() & 0xffff) + static_cast<uint32_t>(l4.size() >> 16);
  }
  uint16_t c = fold(sum16(l4.data(), l4.size(), acc));
  if (c == 0 && proto == ipproto::udp) c = 0xffff;  // 0 means "no checksum" for UDP
  set16(l4, at, c);
}

Bytes tcp_header(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                 const Bytes& options, const Bytes& payload) {
  Bytes b;
  size_t optlen = (options.size() + 3) / 4 * 4;
  b.reserve(20 + optlen + payload.size());
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, (flags & tcpflag::ack) ? ack : 0);
  put8(b, ((20 + optlen) / 4) << 4);
  put8(b, flags);
  put16(b, window);
  put16(b, 0);  // checksum
  put16(b, 0);  // urgent pointer
  append(b, options);
  while (b.size() < 20 + optlen) put8(b, 0);  // end-of-options padding
  append(b, payload);
  return b;
}

Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& payload) {
  Bytes b;
  b.reserve(8 + payload.size());
  put16(b, sport);
  put16(b, dport);
  put16(b, 8 + payload.size());
  put16(b, 0);
  append(b, payload);
  return b;
}

Bytes link_frame(LinkType link, uint16_t vlan, const Mac& src, const Mac& dst, bool outgoing, bool v6,
                 const Bytes& ip) {
  const uint16_t ethertype = v6 ? 0x86dd : 0x0800;
  Bytes b;
  switch (link) {
    case LinkType::raw:
      return ip;
    case LinkType::sll:
      b.reserve(16 + ip.size());
      put16(b, outgoing ? 4 : 0);  // PACKET_OUTGOING / PACKET_HOST
      put16(b, 1);                 // ARPHRD_ETHER
      put16(b, 6);
      b.insert(b.end(), src.begin(), src.end());
      put16(b, 0);
      put16(b, ethertype);
      break;
    case LinkType::ethernet:
      b.reserve(18 + ip.size());
      b.insert(b.end(), dst.begin(), dst.end());
      b.insert(b.end(), src.begin(), src.end());
      if (vlan != 0) {
        put16(b, 0x8100);
        put16(b, vlan & 0x0fff);
      }
      put16(b, ethertype);
      break;
  }
  append(b, ip);
  return b;
}

}  // namespace netloom::synth
