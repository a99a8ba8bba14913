// Tunnels: IP-in-IP, GRE (RFC 2784/2890 and PPTP's enhanced GRE), VXLAN,
// GTP-U, CAPWAP data. A tunnel is "entered" only for as long as its inner
// packet decodes; when the inner packet is not IP or is cut short the packet
// keeps describing the outer datagram (plus kMalformed if the inner lied).
#include "decode/detail.hpp"

namespace netloom::decode::detail {

namespace {

constexpr std::uint16_t kGreChecksum = 0x8000;
constexpr std::uint16_t kGreRouting = 0x4000;
constexpr std::uint16_t kGreKey = 0x2000;
constexpr std::uint16_t kGreSeq = 0x1000;
constexpr std::uint16_t kGreAck = 0x0080;  // enhanced GRE (version 1)
constexpr std::uint16_t kGreTeb = 0x6558;  // transparent Ethernet bridging
constexpr std::uint16_t kGrePpp = 0x880B;

template <class Inner>
bool enter(Ctx& c, TunnelType type, std::uint32_t id, Inner&& inner) noexcept {
  Packet& p = c.p;
  const std::uint16_t flags = p.flags, vlan = p.vlan, outer = p.outer_l3_off;
  const TunnelType old_type = p.tunnel;
  const std::uint32_t old_id = p.tunnel_id;
  const int vlan_tags = c.vlan_tags;

  if (p.outer_l3_off == kNoOffset) p.outer_l3_off = p.l3_off;
  p.tunnel = type;
  p.tunnel_id = id;
  p.flags |= kTunneled;
  ++c.depth;
  const bool ok = inner();
  --c.depth;
  if (!ok) {
    const std::uint16_t lied = p.flags & kMalformed;
    p.flags = flags | lied;
    p.vlan = vlan;
    p.outer_l3_off = outer;
    p.tunnel = old_type;
    p.tunnel_id = old_id;
    c.vlan_tags = vlan_tags;
  }
  return ok;
}

bool decap_vxlan(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  // flags(1: I=0x08) reserved(3) VNI(3) reserved(1)
  if (!need(c, off, 8, end)) return false;
  if (!(c.d[off] & 0x08)) return false;
  const std::uint32_t vni = rd32(c.d, off + 4) >> 8;
  return enter(c, TunnelType::vxlan, vni, [&] { return decode_ethernet(c, off + 8, end); });
}

bool decap_gtpu(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  // flags(1: version 3 bits, PT, *, E, S, PN) type(1) length(2) TEID(4)
  if (!need(c, off, 8, end)) return false;
  const std::uint8_t fl = c.d[off];
  if ((fl >> 5) != 1 || !(fl & 0x10) || c.d[off + 1] != 0xFF) return false;  // G-PDU only
  const std::uint32_t teid = rd32(c.d, off + 4);
  const std::uint32_t gend = off + 8 + rd16(c.d, off + 2);
  if (gend > end) {
    c.p.flags |= kMalformed;
    return false;
  }
  std::uint32_t h = 8;
  if (fl & 0x07) {  // sequence, N-PDU and next extension type are all present
    if (!need(c, off, 12, gend)) return false;
    h = 12;
    std::uint8_t next = (fl & 0x04) ? c.d[off + 11] : 0;
    for (int i = 0; next != 0; ++i) {
      if (i == kMaxGtpExtHeaders || !need(c, off + h, 1, gend)) {
        if (i == kMaxGtpExtHeaders) c.p.flags |= kMalformed;
        return false;
      }
      const std::uint32_t len = c.d[off + h] * 4u;
      if (len == 0) {
        c.p.flags |= kMalformed;
        return false;
      }
      if (!need(c, off + h, len, gend)) return false;
      next = c.d[off + h + len - 1];
      h += len;
    }
  }
  const std::uint32_t in = off + h;
  if (!need(c, in, 1, gend)) return false;
  const int v = c.d[in] >> 4;
  if (v != 4 && v != 6) return false;
  return enter(c, TunnelType::gtpu, teid, [&] { return decode_ip(c, in, gend, v); });
}

bool decap_capwap(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  // preamble(8) HLEN(5) RID(5) WBID(5) T F L W M K flags(3)
  if (!need(c, off, 8, end)) return false;
  const std::uint32_t w = rd32(c.d, off);
  if ((w >> 24) != 0) return false;  // version 0, CAPWAP header (not DTLS)
  const std::uint32_t hlen = ((w >> 19) & 0x1F) * 4u;
  const std::uint32_t wbid = (w >> 9) & 0x1F;
  const bool native = (w >> 8) & 1, fragment = (w >> 7) & 1, keepalive = (w >> 3) & 1;
  if (fragment || keepalive) return false;
  if (hlen < 8) {
    c.p.flags |= kMalformed;
    return false;
  }
  if (!need(c, off, hlen, end)) return false;
  const std::uint32_t in = off + hlen;
  if (in >= end) return false;  // no payload
  if (native) {
    if (wbid != 1) return false;  // only IEEE 802.11 bindings
    // Some access points (Cisco) send the frame control field byte-swapped:
    // a data frame's type bits then show up in the second byte.
    bool swapped = false;
    if (c.cap >= in + 2) swapped = ((c.d[in] >> 2) & 0x3) != 2 && ((c.d[in + 1] >> 2) & 0x3) == 2;
    return enter(c, TunnelType::capwap, 0, [&] { return decode_80211(c, in, end, swapped); });
  }
  return enter(c, TunnelType::capwap, 0, [&] { return decode_ethernet(c, in, end); });
}

}  // namespace

bool decap_ipip(Ctx& c, std::uint32_t off, std::uint32_t end, int want) noexcept {
  return enter(c, TunnelType::ipip, 0, [&] { return decode_ip(c, off, end, want); });
}

bool decap_gre(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  if (!need(c, off, 4, end)) return false;
  const std::uint16_t fl = rd16(c.d, off);
  const std::uint16_t proto = rd16(c.d, off + 2);
  const int version = fl & 0x7;
  if (version == 0) {
    if (fl & kGreRouting) return false;  // source routing (RFC 1701): obsolete
    std::uint32_t h = 4;
    if (fl & kGreChecksum) h += 4;
    std::uint32_t key = 0;
    if (fl & kGreKey) {
      if (!need(c, off + h, 4, end)) return false;
      key = rd32(c.d, off + h);
      h += 4;
    }
    if (fl & kGreSeq) h += 4;
    const std::uint32_t in = off + h;
    if (proto == kGreTeb) return enter(c, TunnelType::gre, key, [&] { return decode_ethernet(c, in, end); });
    if (proto == kGrePpp) return enter(c, TunnelType::gre, key, [&] { return decode_ppp(c, in, end); });
    return enter(c, TunnelType::gre, key, [&] { return decode_ethertype(c, proto, in, end); });
  }
  if (version == 1) {  // PPTP: key = payload length(2) + call id(2)
    if (!(fl & kGreKey) || proto != kGrePpp) return false;
    if (!need(c, off, 8, end)) return false;
    const std::uint32_t plen = rd16(c.d, off + 4);
    const std::uint32_t call_id = rd16(c.d, off + 6);
    std::uint32_t h = 8;
    if (fl & kGreSeq) h += 4;
    if (fl & kGreAck) h += 4;
    if (plen == 0) return false;  // acknowledgement only
    const std::uint32_t in = off + h;
    if (in + plen > end) {
      c.p.flags |= kMalformed;
      return false;
    }
    return enter(c, TunnelType::gre, call_id, [&] { return decode_ppp(c, in, in + plen); });
  }
  return false;
}

bool decap_udp(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept {
  const std::uint16_t sp = c.p.sport, dp = c.p.dport;
  if (dp == 4789) return decap_vxlan(c, off, end);
  if (dp == 2152 || sp == 2152) return decap_gtpu(c, off, end);
  if (dp == 5247 || sp == 5247) return decap_capwap(c, off, end);
  return false;
}

}  // namespace netloom::decode::detail
