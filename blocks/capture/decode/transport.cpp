// Transport layer: TCP, UDP (and the UDP-borne tunnels), ICMP/ICMPv6, SCTP;
// IP-in-IP and GRE are handed to the tunnel code.
#include "decode/detail.hpp"

namespace netloom::decode::detail {

namespace {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoIpip = 4;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIpv6 = 41;
constexpr std::uint8_t kProtoGre = 47;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoSctp = 132;
constexpr std::uint8_t kProtoUdplite = 136;

inline std::uint16_t off16(std::uint32_t v) noexcept { return static_cast<std::uint16_t>(v); }

// L4 header of `hlen` bytes at `off` is not completely available.
inline void l4_cut(Ctx& c, std::uint32_t off, std::uint32_t hlen, std::uint32_t ip_end) noexcept {
  c.p.flags |= kL4Truncated;
  if (off + hlen > ip_end) c.p.flags |= kMalformed;  // the IP length leaves no room
}

inline void set_payload(Packet& p, std::uint32_t start, std::uint32_t stop, std::uint32_t cap) noexcept {
  const std::uint32_t avail = min32(stop, cap);
  p.payload_off = off16(start);
  p.payload_len = avail > start ? avail - start : 0;
}

}  // namespace

void decode_l4(Ctx& c, std::uint8_t proto, std::uint32_t off, std::uint32_t ip_end) noexcept {
  Packet& p = c.p;
  if (NETLOOM_UNLIKELY(off > kMaxHeaderOffset)) {
    p.flags |= kMalformed | kL4Truncated;
    return;
  }
  const std::uint8_t* d = c.d;
  const std::uint32_t avail = min32(ip_end, c.cap);  // readable L4 bytes end here
  if (NETLOOM_LIKELY(proto == kProtoTcp)) {
    if (NETLOOM_UNLIKELY(off + 20 > avail)) {
      if (off + 4 <= avail) {
        p.l4_off = off16(off);
        p.sport = rd16(d, off);
        p.dport = rd16(d, off + 2);
        if (off + 14 <= avail) p.tcp_flags = d[off + 13];
      }
      l4_cut(c, off, 20, ip_end);
      return;
    }
    p.l4_off = off16(off);
    p.sport = rd16(d, off);
    p.dport = rd16(d, off + 2);
    p.tcp_flags = d[off + 13];
    const std::uint32_t hl = (d[off + 12] >> 4) * 4u;
    if (NETLOOM_UNLIKELY(hl < 20 || off + hl > ip_end)) {
      p.flags |= kMalformed;
      return;
    }
    if (NETLOOM_UNLIKELY(off + hl > c.cap)) {
      p.flags |= kL4Truncated;  // options cut by the snaplen
      return;
    }
    set_payload(p, off + hl, ip_end, c.cap);
    return;
  }
  if (NETLOOM_LIKELY(proto == kProtoUdp || proto == kProtoUdplite)) {
    if (NETLOOM_UNLIKELY(off + 8 > avail)) {
      if (off + 4 <= avail) {
        p.l4_off = off16(off);
        p.sport = rd16(d, off);
        p.dport = rd16(d, off + 2);
      }
      l4_cut(c, off, 8, ip_end);
      return;
    }
    p.l4_off = off16(off);
    p.sport = rd16(d, off);
    p.dport = rd16(d, off + 2);
    std::uint32_t udp_end = ip_end;
    if (proto == kProtoUdp) {
      const std::uint32_t ulen = rd16(d, off + 4);
      if (NETLOOM_UNLIKELY(ulen < 8 || off + ulen > ip_end)) {
        // A first fragment's UDP length covers the whole datagram; otherwise
        // the length lies (0 is legal only in IPv6 jumbograms): keep the IP
        // bound for the payload and say so.
        if (ulen < 8 || !(p.flags & kFirstFragment)) p.flags |= kMalformed;
      } else {
        udp_end = off + ulen;
      }
    }
    set_payload(p, off + 8, udp_end, c.cap);
    if (NETLOOM_UNLIKELY(c.depth < kMaxTunnelDepth && !(p.flags & (kFirstFragment | kMalformed)))) {
      const std::uint16_t sp = p.sport, dp = p.dport;
      if (dp == 4789 || dp == 2152 || sp == 2152 || dp == 5247 || sp == 5247) decap_udp(c, off + 8, udp_end);
    }
    return;
  }
  switch (proto) {
    case kProtoIcmp:
    case kProtoIcmpv6:
      if (off + 2 <= avail) {
        p.l4_off = off16(off);
        p.sport = d[off];
        p.dport = d[off + 1];
      }
      if (off + 8 > avail) {
        l4_cut(c, off, 8, ip_end);
        return;
      }
      set_payload(p, off + 8, ip_end, c.cap);
      return;
    case kProtoSctp:
      if (off + 12 > avail) {
        if (off + 4 <= avail) {
          p.l4_off = off16(off);
          p.sport = rd16(d, off);
          p.dport = rd16(d, off + 2);
        }
        l4_cut(c, off, 12, ip_end);
        return;
      }
      p.l4_off = off16(off);
      p.sport = rd16(d, off);
      p.dport = rd16(d, off + 2);
      set_payload(p, off + 12, ip_end, c.cap);
      return;
    case kProtoIpip:
    case kProtoIpv6:
      p.l4_off = off16(off);
      if (c.depth < kMaxTunnelDepth && !(p.flags & kFirstFragment))
        decap_ipip(c, off, ip_end, proto == kProtoIpip ? 4 : 6);
      return;
    case kProtoGre:
      p.l4_off = off16(off);
      if (c.depth < kMaxTunnelDepth && !(p.flags & kFirstFragment)) decap_gre(c, off, ip_end);
      return;
    default:
      // Other protocols (ESP, OSPF...): where their header starts, no ports.
      p.l4_off = off16(off);
      return;
  }
}

}  // namespace netloom::decode::detail
