// Network layer: IPv4 (options, fragments) and IPv6 (extension header chain).
// Nothing is written to the packet until the IP header has been validated, so
// a tunnel whose inner header turns out bad leaves the outer packet intact.
#include <cstring>

#include "decode/detail.hpp"

namespace netloom::decode::detail {

namespace {

constexpr std::uint8_t kProtoHopByHop = 0;
constexpr std::uint8_t kProtoRouting = 43;
constexpr std::uint8_t kProtoFragment = 44;
constexpr std::uint8_t kProtoAh = 51;
constexpr std::uint8_t kProtoDstOpts = 60;
constexpr std::uint8_t kProtoMobility = 135;
constexpr std::uint8_t kProtoHip = 139;
constexpr std::uint8_t kProtoShim6 = 140;

// Resets what an outer packet may have left behind before the (inner) IP
// header's fields are written.
inline void reset_l3l4(Packet& p) noexcept {
  p.l4_off = kNoOffset;
  p.payload_off = kNoOffset;
  p.payload_len = 0;
  p.sport = p.dport = 0;
  p.tcp_flags = 0;
  p.l4_proto = 0;
  p.flags &= static_cast<std::uint16_t>(~(kFragment | kFirstFragment | kL4Truncated));
}

inline bool ip_start_ok(Ctx& c, std::uint32_t off, std::uint32_t hdr, std::uint32_t end) noexcept {
  if (NETLOOM_UNLIKELY(off > kMaxHeaderOffset)) {
    c.p.flags |= kMalformed;
    return false;
  }
  return need(c, off, hdr, end);
}

bool decode_ipv4(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  if (NETLOOM_UNLIKELY(!ip_start_ok(c, off, 20, end))) return false;
  const std::uint8_t* h = c.d + off;
  const std::uint32_t hl = (h[0] & 0x0F) * 4u;
  const std::uint32_t tot = rd16(h, 2);
  if (NETLOOM_UNLIKELY((h[0] >> 4) != 4 || hl < 20 || tot < hl || off + tot > end)) {
    c.p.flags |= kMalformed;
    return false;
  }
  if (NETLOOM_UNLIKELY(off + hl > c.cap)) return false;  // options cut by the snaplen

  Packet& p = c.p;
  reset_l3l4(p);
  p.ip_version = 4;
  p.l3_off = static_cast<std::uint16_t>(off);
  p.ip_len = tot;
  p.ttl = h[8];
  const std::uint8_t proto = h[9];
  p.l4_proto = proto;
  p.src = IpAddr{};
  p.dst = IpAddr{};
  std::memcpy(p.src.data(), h + 12, 4);
  std::memcpy(p.dst.data(), h + 16, 4);

  const std::uint32_t ip_end = off + tot;
  const std::uint16_t frag = rd16(h, 6);
  if (NETLOOM_UNLIKELY(frag & 0x3FFF)) {  // MF set or non-zero offset
    if (frag & 0x1FFF) {
      p.flags |= kFragment;  // no L4 header here
      p.payload_off = static_cast<std::uint16_t>(off + hl);
      const std::uint32_t avail = min32(ip_end, c.cap);
      p.payload_len = avail > off + hl ? avail - (off + hl) : 0;
      return true;
    }
    p.flags |= kFirstFragment;
  }
  decode_l4(c, proto, off + hl, ip_end);
  return true;
}

bool decode_ipv6(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  if (NETLOOM_UNLIKELY(!ip_start_ok(c, off, 40, end))) return false;
  const std::uint8_t* h = c.d + off;
  const std::uint32_t plen = rd16(h, 4);
  if (NETLOOM_UNLIKELY((h[0] >> 4) != 6 || off + 40 + plen > end)) {
    c.p.flags |= kMalformed;
    return false;
  }
  Packet& p = c.p;
  reset_l3l4(p);
  p.ip_version = 6;
  p.l3_off = static_cast<std::uint16_t>(off);
  p.ip_len = 40 + plen;
  p.ttl = h[7];
  std::memcpy(p.src.data(), h + 8, 16);
  std::memcpy(p.dst.data(), h + 24, 16);

  const std::uint32_t ip_end = off + 40 + plen;
  std::uint8_t nh = h[6];
  std::uint32_t pos = off + 40;
  for (int i = 0; i < kMaxIpv6ExtHeaders; ++i) {
    std::uint32_t len;
    switch (nh) {
      case kProtoHopByHop:
      case kProtoRouting:
      case kProtoDstOpts:
      case kProtoMobility:
      case kProtoHip:
      case kProtoShim6:
        if (!need(c, pos, 2, ip_end)) goto cut;
        len = (c.d[pos + 1] + 1u) * 8u;
        break;
      case kProtoAh:
        if (!need(c, pos, 2, ip_end)) goto cut;
        len = (c.d[pos + 1] + 2u) * 4u;
        break;
      case kProtoFragment: {
        if (!need(c, pos, 8, ip_end)) goto cut;
        const std::uint16_t fo = rd16(c.d, pos + 2);
        nh = c.d[pos];
        pos += 8;
        if (fo & 0xFFF8) {
          p.flags |= kFragment;
          p.l4_proto = nh;
          p.payload_off = static_cast<std::uint16_t>(pos);
          const std::uint32_t avail = min32(ip_end, c.cap);
          p.payload_len = avail > pos ? avail - pos : 0;
          return true;
        }
        if (fo & 0x0001) p.flags |= kFirstFragment;
        continue;
      }
      default:
        p.l4_proto = nh;
        decode_l4(c, nh, pos, ip_end);
        return true;
    }
    if (NETLOOM_UNLIKELY(pos + len > ip_end)) {  // claims bytes beyond the datagram
      p.flags |= kMalformed;
      goto cut;
    }
    nh = c.d[pos];
    pos += len;
  }
  // Too long a chain: stop, as if the L4 header were not reachable.
cut:
  p.l4_proto = nh;
  p.flags |= kL4Truncated;
  return true;
}

}  // namespace

bool decode_ip(Ctx& c, std::uint32_t off, std::uint32_t end, int want) noexcept {
  if (NETLOOM_LIKELY(want == 4)) return decode_ipv4(c, off, end);
  if (want == 6) return decode_ipv6(c, off, end);
  if (!need(c, off, 1, end)) return false;
  const int v = c.d[off] >> 4;
  if (v == 4) return decode_ipv4(c, off, end);
  if (v == 6) return decode_ipv6(c, off, end);
  c.p.flags |= kMalformed;
  return false;
}

}  // namespace netloom::decode::detail
