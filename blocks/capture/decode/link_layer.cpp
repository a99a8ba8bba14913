// Link layer: DLT dispatch, Ethernet with VLAN/QinQ, MPLS and PPPoE, PPP,
// Cisco HDLC, Linux cooked capture v1/v2, BSD loopback, raw IP, PPI, 802.11.
#include "decode/detail.hpp"

namespace netloom::decode::detail {

namespace {

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86DD;
constexpr std::uint16_t kEthVlan = 0x8100;
constexpr std::uint16_t kEthQinQ = 0x88A8;
constexpr std::uint16_t kEthQinQOld = 0x9100;
constexpr std::uint16_t kEthQinQOld2 = 0x9200;
constexpr std::uint16_t kEthMpls = 0x8847;
constexpr std::uint16_t kEthMplsMc = 0x8848;
constexpr std::uint16_t kEthPppoeSession = 0x8864;

constexpr std::uint16_t kPppIpv4 = 0x0021;
constexpr std::uint16_t kPppIpv6 = 0x0057;
constexpr std::uint16_t kPppMpls = 0x0281;
constexpr std::uint16_t kPppMplsMc = 0x0283;

bool not_ip(Ctx& c) noexcept {
  c.p.flags |= kNotIp;
  return false;
}

// Bottom of an MPLS label stack: no type field, guess from the IP version.
bool decode_mpls(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  c.p.flags |= kMpls;
  for (int i = 0; i < kMaxMplsLabels; ++i) {
    if (!need(c, off, 4, end)) return false;
    const bool bottom = (c.d[off + 2] & 0x01) != 0;
    off += 4;
    if (bottom) {
      if (!need(c, off, 1, end)) return false;
      const int v = c.d[off] >> 4;
      if (v == 4 || v == 6) return decode_ip(c, off, end, v);
      return not_ip(c);  // pseudowire control word, Ethernet over MPLS...
    }
  }
  c.p.flags |= kMalformed;  // no bottom-of-stack within a sane depth
  return false;
}

bool decode_ppp_proto(Ctx& c, std::uint16_t proto, std::uint32_t off, std::uint32_t end) noexcept {
  switch (proto) {
    case kPppIpv4:
      return decode_ip(c, off, end, 4);
    case kPppIpv6:
      return decode_ip(c, off, end, 6);
    case kPppMpls:
    case kPppMplsMc:
      return decode_mpls(c, off, end);
    default:
      return not_ip(c);
  }
}

// BSD loopback address family values for IPv4 / IPv6 (the IPv6 one differs
// between BSDs: 24 NetBSD/OpenBSD, 28 FreeBSD, 30 Darwin; 10 is Linux AF_INET6).
bool decode_af(Ctx& c, std::uint32_t af, std::uint32_t off, std::uint32_t end) noexcept {
  switch (af) {
    case 2:
      return decode_ip(c, off, end, 4);
    case 10:
    case 24:
    case 28:
    case 30:
      return decode_ip(c, off, end, 6);
    default:
      return not_ip(c);
  }
}

}  // namespace

bool decode_ethertype(Ctx& c, std::uint16_t etype, std::uint32_t off, std::uint32_t end) noexcept {
  for (;;) {
    if (NETLOOM_LIKELY(etype == kEthIpv4)) return decode_ip(c, off, end, 4);
    if (etype == kEthIpv6) return decode_ip(c, off, end, 6);
    switch (etype) {
      case kEthVlan:
      case kEthQinQ:
      case kEthQinQOld:
      case kEthQinQOld2: {
        if (!need(c, off, 4, end)) return false;
        if (++c.vlan_tags > kMaxVlanTags) {
          c.p.flags |= kMalformed;
          return false;
        }
        if (!(c.p.flags & kVlan)) {
          c.p.flags |= kVlan;
          c.p.vlan = rd16(c.d, off) & 0x0FFF;
        }
        etype = rd16(c.d, off + 2);
        off += 4;
        continue;
      }
      case kEthMpls:
      case kEthMplsMc:
        return decode_mpls(c, off, end);
      case kEthPppoeSession: {
        // ver/type(1) code(1) session(2) length(2), then the PPP protocol.
        if (!need(c, off, 8, end)) return false;
        c.p.flags |= kPppoe;
        const std::uint32_t len = rd16(c.d, off + 4);
        if (c.d[off] != 0x11 || c.d[off + 1] != 0 || len < 2) {
          c.p.flags |= kMalformed;
          return false;
        }
        // The PPPoE length bounds the PPP frame (Ethernet padding follows).
        const std::uint32_t pend = min32(end, off + 6 + len);
        return decode_ppp_proto(c, rd16(c.d, off + 6), off + 8, pend);
      }
      default:
        return not_ip(c);
    }
  }
}

bool decode_ethernet(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  // Shorter than its header: kMalformed when the frame (or the tunnel
  // payload) really is that short, only kTruncated under a small snaplen.
  if (NETLOOM_UNLIKELY(!need(c, off, 14, end))) return false;
  const std::uint16_t etype = rd16(c.d, off + 12);
  if (NETLOOM_LIKELY(etype >= 0x0600)) return decode_ethertype(c, etype, off + 14, end);
  // 802.3 length field: only LLC/SNAP with an EtherType can carry IP.
  if (!need(c, off + 14, 8, end)) return not_ip(c);
  const std::uint8_t* s = c.d + off + 14;
  if (s[0] == 0xAA && s[1] == 0xAA && s[2] == 0x03)
    return decode_ethertype(c, rd16(c.d, off + 20), off + 22, end);
  return not_ip(c);
}

bool decode_ppp(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  if (!need(c, off, 1, end)) return false;
  if (c.d[off] == 0xFF) {  // HDLC-like framing: address FF, control 03
    if (!need(c, off, 2, end)) return false;
    if (c.d[off + 1] != 0x03) return not_ip(c);
    off += 2;
    if (!need(c, off, 1, end)) return false;
  }
  // Protocol field compression (RFC 1661): a 1-byte protocol is odd.
  if (c.d[off] & 0x01) return decode_ppp_proto(c, c.d[off], off + 1, end);
  if (!need(c, off, 2, end)) return false;
  return decode_ppp_proto(c, rd16(c.d, off), off + 2, end);
}

bool decode_80211(Ctx& c, std::uint32_t off, std::uint32_t end, bool fc_swapped) noexcept {
  if (!need(c, off, 24, end)) return false;
  const std::uint8_t fc0 = c.d[off + (fc_swapped ? 1 : 0)], fc1 = c.d[off + (fc_swapped ? 0 : 1)];
  if (((fc0 >> 2) & 0x3) != 2) return not_ip(c);  // not a data frame
  const std::uint8_t subtype = fc0 >> 4;
  if (subtype & 0x4) return not_ip(c);  // null function: no payload
  if (fc1 & 0x40) return not_ip(c);     // protected: encrypted payload
  std::uint32_t h = 24;
  if ((fc1 & 0x03) == 0x03) h += 6;  // ToDS and FromDS: 4th address
  if (subtype & 0x8) {               // QoS data
    h += 2;
    if (fc1 & 0x80) h += 4;  // +HTC
  }
  off += h;
  if (!need(c, off, 8, end)) return false;
  const std::uint8_t* s = c.d + off;
  if (s[0] != 0xAA || s[1] != 0xAA || s[2] != 0x03) return not_ip(c);
  return decode_ethertype(c, rd16(c.d, off + 6), off + 8, end);
}

bool decode_link(Ctx& c, std::uint32_t linktype, std::uint32_t off, std::uint32_t end) noexcept {
  switch (linktype) {
    case 1:  // EN10MB
      return decode_ethernet(c, off, end);
    case 12:   // RAW (OpenBSD DLT value, LINKTYPE_RAW on Linux)
    case 14:   // RAW on OpenBSD
    case 101:  // LINKTYPE_RAW
    case 228:  // IPV4
    case 229:  // IPV6
    {
      if (!need(c, off, 1, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      const int want = linktype == 228 ? 4 : linktype == 229 ? 6 : 0;
      return decode_ip(c, off, end, want);
    }
    case 0:  // NULL: 4-byte family in the capturing host's byte order
    {
      if (!need(c, off, 4, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      std::uint32_t af = rd32le(c.d, off);
      if (af > 0xFFFF) af = rd32(c.d, off);
      return decode_af(c, af, off + 4, end);
    }
    case 108:  // LOOP: family in network order
      if (!need(c, off, 4, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_af(c, rd32(c.d, off), off + 4, end);
    case 51:  // PPP_ETHER (BSD): PPPoE session header, then PPP
      if (!need(c, off, 6, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      c.p.flags |= kPppoe;
      return decode_ppp(c, off + 6, end);
    case 9:   // PPP
    case 50:  // PPP_SERIAL (HDLC-like framing, sometimes Cisco HDLC)
      if (!need(c, off, 2, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      if (linktype == 50 && (c.d[off] == 0x0F || c.d[off] == 0x8F)) {
        if (!need(c, off, 4, end)) {
          c.p.flags |= kMalformed;
          return false;
        }
        return decode_ethertype(c, rd16(c.d, off + 2), off + 4, end);
      }
      return decode_ppp(c, off, end);
    case 104:  // C_HDLC: address, control, EtherType
      if (!need(c, off, 4, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_ethertype(c, rd16(c.d, off + 2), off + 4, end);
    case 113:  // LINUX_SLL: 16 bytes, protocol at 14
      if (!need(c, off, 16, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_ethertype(c, rd16(c.d, off + 14), off + 16, end);
    case 276:  // LINUX_SLL2: 20 bytes, protocol at 0
      if (!need(c, off, 20, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_ethertype(c, rd16(c.d, off), off + 20, end);
    case 105:  // IEEE802_11
      if (!need(c, off, 24, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_80211(c, off, end);
    case 127:  // IEEE802_11_RADIOTAP: little-endian length at 2
    {
      if (!need(c, off, 4, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      const std::uint32_t len = rd16le(c.d, off + 2);
      if (len < 8 || !need(c, off, len, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_80211(c, off + len, end);
    }
    case 192:  // PPI: version, flags, LE length, LE DLT of the payload
    {
      if (!need(c, off, 8, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      const std::uint32_t len = rd16le(c.d, off + 2);
      const std::uint32_t dlt = rd32le(c.d, off + 4);
      if (len < 8 || dlt == 192 || !need(c, off, len, end)) {
        c.p.flags |= kMalformed;
        return false;
      }
      return decode_link(c, dlt, off + len, end);
    }
    default:
      c.p.flags |= kUnknownLink;
      return false;
  }
}

}  // namespace netloom::decode::detail
