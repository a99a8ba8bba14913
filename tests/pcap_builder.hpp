// Test helper: build frames layer by layer (inside out) and write small
// classic pcap files. Header only, no dependency beyond the C++ library and
// inet_pton.
//
//   using namespace netloom::testing;
//   Bytes f = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpTcp,
//                                  tcp(1234, 80, kTcpSyn)));
//   write_pcap("x.pcap", kDltEthernet, {f});
#pragma once
#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace netloom::testing {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86DD, kEtherArp = 0x0806, kEtherVlan = 0x8100,
                        kEtherQinQ = 0x88A8, kEtherMpls = 0x8847, kEtherPppoeDisc = 0x8863,
                        kEtherPppoeSess = 0x8864, kEtherTeb = 0x6558;
constexpr std::uint8_t kIpIcmp = 1, kIpIpip = 4, kIpTcp = 6, kIpUdp = 17, kIpIpv6 = 41, kIpGre = 47,
                       kIpEsp = 50, kIpAh = 51, kIpIcmpv6 = 58, kIpNoNext = 59, kIpSctp = 132,
                       kIp6HopByHop = 0, kIp6Routing = 43, kIp6Fragment = 44, kIp6DstOpts = 60;
constexpr std::uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpPsh = 0x08, kTcpAck = 0x10;
constexpr std::uint32_t kDltNull = 0, kDltEthernet = 1, kDltPpp = 9, kDltRaw = 101, kDltCHdlc = 104,
                        kDltLoop = 108, kDltSll = 113, kDltIpv4 = 228, kDltSll2 = 276;

// ---- byte helpers
inline void put8(Bytes& b, std::uint8_t v) { b.push_back(v); }
inline void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
inline void put32le(Bytes& b, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
// (Element-wise on purpose: GCC 12 reports false -Warray-bounds on
// vector::insert of small vectors at -O2.)
inline void append(Bytes& b, const Bytes& tail) {
  b.reserve(b.size() + tail.size());
  for (std::uint8_t x : tail) b.push_back(x);
}
inline Bytes cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}
inline Bytes filler(std::size_t n, std::uint8_t start = 0) {
  Bytes b(n);
  for (std::size_t i = 0; i < n; ++i) b[i] = static_cast<std::uint8_t>(start + i);
  return b;
}
inline void set16(Bytes& b, std::size_t at, std::uint16_t v) {
  b.at(at) = static_cast<std::uint8_t>(v >> 8);
  b.at(at + 1) = static_cast<std::uint8_t>(v);
}

// ---- addresses
inline std::array<std::uint8_t, 4> ip4(const std::string& s) {
  std::array<std::uint8_t, 4> a{};
  if (inet_pton(AF_INET, s.c_str(), a.data()) != 1) throw std::invalid_argument("bad IPv4: " + s);
  return a;
}
inline std::array<std::uint8_t, 16> ip6(const std::string& s) {
  std::array<std::uint8_t, 16> a{};
  if (inet_pton(AF_INET6, s.c_str(), a.data()) != 1) throw std::invalid_argument("bad IPv6: " + s);
  return a;
}
// The 16-byte form Packet::src/dst use (IPv4 in the first 4 bytes).
inline std::array<std::uint8_t, 16> addr(const std::string& s) {
  std::array<std::uint8_t, 16> a{};
  if (s.find(':') != std::string::npos) return ip6(s);
  auto v4 = ip4(s);
  for (int i = 0; i < 4; ++i) a[i] = v4[i];
  return a;
}

// ---- L4
inline Bytes tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags, const Bytes& payload = {},
                 std::size_t option_bytes = 0, std::uint32_t seq = 1, std::uint32_t ack = 0) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, seq);
  put32(b, ack);
  const std::size_t hl = 20 + (option_bytes + 3) / 4 * 4;
  put8(b, static_cast<std::uint8_t>((hl / 4) << 4));
  put8(b, flags);
  put16(b, 65535);                   // window
  put16(b, 0);                       // checksum (not checked by the decoder)
  put16(b, 0);                       // urgent
  while (b.size() < hl) put8(b, 1);  // NOP options
  append(b, payload);
  return b;
}
inline Bytes udp(std::uint16_t sport, std::uint16_t dport, const Bytes& payload = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, static_cast<std::uint16_t>(8 + payload.size()));
  put16(b, 0);
  append(b, payload);
  return b;
}
inline Bytes icmp(std::uint8_t type, std::uint8_t code, const Bytes& payload = {}) {
  Bytes b{type, code, 0, 0, 0, 1, 0, 1};  // checksum, identifier, sequence
  append(b, payload);
  return b;
}
inline Bytes sctp(std::uint16_t sport, std::uint16_t dport, const Bytes& chunks = {}) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 0x01020304);  // verification tag
  put32(b, 0);           // checksum
  append(b, chunks);
  return b;
}

// ---- L3
struct Ipv4Opts {
  std::uint8_t ttl = 64;
  std::uint16_t id = 0x1234;
  bool df = false;
  bool mf = false;
  std::uint16_t frag_offset8 = 0;  // in 8-byte units
  std::size_t option_bytes = 0;    // rounded up to 4
};
inline Bytes ipv4(const std::string& src, const std::string& dst, std::uint8_t proto, const Bytes& payload,
                  Ipv4Opts o = {}) {
  Bytes b;
  const std::size_t hl = 20 + (o.option_bytes + 3) / 4 * 4;
  put8(b, static_cast<std::uint8_t>(0x40 | (hl / 4)));
  put8(b, 0);
  put16(b, static_cast<std::uint16_t>(hl + payload.size()));
  put16(b, o.id);
  put16(b, static_cast<std::uint16_t>((o.df ? 0x4000 : 0) | (o.mf ? 0x2000 : 0) | (o.frag_offset8 & 0x1FFF)));
  put8(b, o.ttl);
  put8(b, proto);
  put16(b, 0);
  for (auto x : ip4(src)) put8(b, x);
  for (auto x : ip4(dst)) put8(b, x);
  while (b.size() < hl) put8(b, 1);  // NOP options
  append(b, payload);
  return b;
}
inline Bytes ipv6(const std::string& src, const std::string& dst, std::uint8_t next, const Bytes& payload,
                  std::uint8_t hop_limit = 64) {
  Bytes b;
  put32(b, 0x60000000);
  put16(b, static_cast<std::uint16_t>(payload.size()));
  put8(b, next);
  put8(b, hop_limit);
  for (auto x : ip6(src)) put8(b, x);
  for (auto x : ip6(dst)) put8(b, x);
  append(b, payload);
  return b;
}
// Generic IPv6 extension header (hop-by-hop, routing, destination options):
// `units8` 8-byte units in total (>= 1).
inline Bytes ipv6_ext(std::uint8_t next, const Bytes& payload, std::size_t units8 = 1) {
  Bytes b{next, static_cast<std::uint8_t>(units8 - 1)};
  while (b.size() < units8 * 8) put8(b, 0);
  append(b, payload);
  return b;
}
inline Bytes ipv6_ah(std::uint8_t next, const Bytes& payload) {  // 24-byte AH
  Bytes b{next, 4, 0, 0};
  put32(b, 0x100);                      // SPI
  put32(b, 1);                          // sequence
  while (b.size() < 24) put8(b, 0xAA);  // ICV
  append(b, payload);
  return b;
}
inline Bytes ipv6_frag(std::uint8_t next, std::uint16_t offset8, bool more, const Bytes& payload,
                       std::uint32_t id = 0xABCD) {
  Bytes b{next, 0};
  put16(b, static_cast<std::uint16_t>((offset8 << 3) | (more ? 1 : 0)));
  put32(b, id);
  append(b, payload);
  return b;
}

// ---- L2
inline Bytes eth(std::uint16_t ethertype, const Bytes& payload,
                 std::array<std::uint8_t, 6> dst = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55},
                 std::array<std::uint8_t, 6> src = {0x00, 0x66, 0x77, 0x88, 0x99, 0xAA}) {
  Bytes b;
  b.reserve(14 + payload.size());
  for (std::uint8_t x : dst) b.push_back(x);
  for (std::uint8_t x : src) b.push_back(x);
  put16(b, ethertype);
  append(b, payload);
  return b;
}
// A VLAN tag body (TCI + next EtherType) followed by the payload; use after
// an EtherType of 0x8100 / 0x88A8.
inline Bytes vlan(std::uint16_t vid, std::uint16_t next_ethertype, const Bytes& payload,
                  std::uint8_t pcp = 0) {
  Bytes b;
  put16(b, static_cast<std::uint16_t>((pcp << 13) | (vid & 0x0FFF)));
  put16(b, next_ethertype);
  append(b, payload);
  return b;
}
inline Bytes mpls(const std::vector<std::uint32_t>& labels, const Bytes& payload, std::uint8_t ttl = 64) {
  Bytes b;
  for (std::size_t i = 0; i < labels.size(); ++i)
    put32(b, (labels[i] << 12) | (i + 1 == labels.size() ? 0x100u : 0u) | ttl);
  append(b, payload);
  return b;
}
inline Bytes ppp(std::uint16_t proto, const Bytes& payload, bool address_control = true) {
  Bytes b;
  if (address_control) b = {0xFF, 0x03};
  put16(b, proto);
  append(b, payload);
  return b;
}
inline Bytes pppoe_session(std::uint16_t session, std::uint16_t ppp_proto, const Bytes& payload) {
  Bytes b{0x11, 0x00};
  put16(b, session);
  put16(b, static_cast<std::uint16_t>(payload.size() + 2));
  put16(b, ppp_proto);
  append(b, payload);
  return b;
}
inline Bytes sll(std::uint16_t proto, const Bytes& payload) {
  Bytes b{0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0};
  put16(b, proto);
  append(b, payload);
  return b;
}
inline Bytes sll2(std::uint16_t proto, const Bytes& payload) {
  Bytes b;
  put16(b, proto);
  put16(b, 0);
  put32(b, 2);  // interface index
  put16(b, 1);  // ARPHRD_ETHER
  put8(b, 0);
  put8(b, 6);
  for (int i = 0; i < 8; ++i) put8(b, static_cast<std::uint8_t>(i));
  append(b, payload);
  return b;
}
inline Bytes chdlc(std::uint16_t proto, const Bytes& payload) {
  Bytes b{0x0F, 0x00};
  put16(b, proto);
  append(b, payload);
  return b;
}
inline Bytes null_loopback(std::uint32_t family_host_le, const Bytes& payload) {
  Bytes b;
  put32le(b, family_host_le);
  append(b, payload);
  return b;
}

// ---- tunnels
inline Bytes gre(std::uint16_t proto, const Bytes& payload, std::optional<std::uint32_t> key = {},
                 std::optional<std::uint32_t> seq = {}, bool checksum = false) {
  Bytes b;
  put16(b, static_cast<std::uint16_t>((checksum ? 0x8000 : 0) | (key ? 0x2000 : 0) | (seq ? 0x1000 : 0)));
  put16(b, proto);
  if (checksum) put32(b, 0);
  if (key) put32(b, *key);
  if (seq) put32(b, *seq);
  append(b, payload);
  return b;
}
// PPTP enhanced GRE (version 1) carrying a PPP frame.
inline Bytes gre_pptp(std::uint16_t call_id, const Bytes& ppp_frame, std::optional<std::uint32_t> seq = {},
                      std::optional<std::uint32_t> ack = {}) {
  Bytes b;
  put16(b, static_cast<std::uint16_t>(0x2000 | (seq ? 0x1000 : 0) | (ack ? 0x0080 : 0) | 1));
  put16(b, 0x880B);
  put16(b, static_cast<std::uint16_t>(ppp_frame.size()));
  put16(b, call_id);
  if (seq) put32(b, *seq);
  if (ack) put32(b, *ack);
  append(b, ppp_frame);
  return b;
}
inline Bytes vxlan(std::uint32_t vni, const Bytes& inner_ethernet) {
  Bytes b{0x08, 0, 0, 0};
  put32(b, vni << 8);
  append(b, inner_ethernet);
  return b;
}
// GTP-U G-PDU; `ext` are extension headers as (type, body) where the body
// fills len*4-2 bytes (the decoder only needs lengths and chaining).
inline Bytes gtpu(std::uint32_t teid, const Bytes& inner_ip, bool with_seq = false,
                  const std::vector<std::pair<std::uint8_t, Bytes>>& ext = {}) {
  Bytes opt;
  if (with_seq || !ext.empty()) {
    put16(opt, 7);  // sequence number
    put8(opt, 0);   // N-PDU
    put8(opt, ext.empty() ? 0 : ext[0].first);
    for (std::size_t i = 0; i < ext.size(); ++i) {
      const Bytes& body = ext[i].second;  // body.size() + 2 must be a multiple of 4
      put8(opt, static_cast<std::uint8_t>((body.size() + 2) / 4));
      append(opt, body);
      put8(opt, i + 1 < ext.size() ? ext[i + 1].first : 0);
    }
  }
  Bytes b;
  put8(b, static_cast<std::uint8_t>(0x30 | (ext.empty() ? 0 : 0x04) | (with_seq ? 0x02 : 0)));
  put8(b, 0xFF);
  put16(b, static_cast<std::uint16_t>(opt.size() + inner_ip.size()));
  put32(b, teid);
  append(b, opt);
  append(b, inner_ip);
  return b;
}

// ---- classic pcap writer (microsecond, little-endian)
inline bool write_pcap(const std::string& path, std::uint32_t linktype, const std::vector<Bytes>& frames,
                       std::uint32_t snaplen = 262144) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return false;
  Bytes h;
  put32le(h, 0xA1B2C3D4);
  h.push_back(2), h.push_back(0), h.push_back(4), h.push_back(0);  // version 2.4
  put32le(h, 0);
  put32le(h, 0);
  put32le(h, snaplen);
  put32le(h, linktype);
  std::uint32_t sec = 1700000000;
  for (const auto& fr : frames) {
    const auto cap = static_cast<std::uint32_t>(fr.size() < snaplen ? fr.size() : snaplen);
    put32le(h, sec++);
    put32le(h, 0);
    put32le(h, cap);
    put32le(h, static_cast<std::uint32_t>(fr.size()));
    for (std::uint32_t i = 0; i < cap; ++i) h.push_back(fr[i]);
  }
  const bool ok = std::fwrite(h.data(), 1, h.size(), f) == h.size();
  return std::fclose(f) == 0 && ok;
}

}  // namespace netloom::testing
