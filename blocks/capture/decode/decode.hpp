// L2–L4 decoding, done once per packet in the capture path.
#pragma once
#include <cstdint>

#include "netloom/packet.hpp"

namespace netloom::decode {

// Fills every metadata field of `p` from p.data/p.caplen/p.wirelen/p.linktype
// (which the caller sets). Never reads outside [data, data+caplen). Sets
// kMalformed when a header lies; returns false when the frame is not an IP
// packet the decoder understood (the metadata then says how far it got).
//
// Conventions:
// - kTruncated: caplen < wirelen (snap length); kMalformed: a header claims
//   bytes beyond what encloses it (wire length, outer IP/UDP length) or has an
//   impossible field (IPv4 IHL < 5, TCP data offset < 5, UDP length < 8...).
// - Tunnels (IP-in-IP, GRE incl. PPTP, VXLAN, GTP-U, CAPWAP data) are
//   decapsulated up to kMaxTunnelDepth levels; L3/L4 fields then describe the
//   innermost IP packet, outer_l3_off the outermost IP header, and
//   tunnel/tunnel_id the innermost tunnel (GRE key or PPTP call id, VXLAN VNI,
//   GTP TEID). When the inner packet is not IP or not decodable, the packet
//   keeps describing the outer datagram (not kTunneled).
// - vlan is the outermost VLAN id; IPv4 fragments other than the first and
//   IPv6 non-first fragments get kFragment, payload_off/len = the fragment's
//   data and no L4; flow_hash then uses ports 0 (also for non-TCP/UDP/SCTP).
// - Link types: EN10MB, RAW (12, 14, 101), IPV4/IPV6 (228/229), NULL, LOOP,
//   PPP, PPP_SERIAL, PPP_ETHER, C_HDLC, LINUX_SLL/SLL2, IEEE802_11,
//   RADIOTAP, PPI. Others set kUnknownLink.
bool decode_packet(Packet& p) noexcept;

// Maximum number of nested tunnels decapsulated in one packet.
inline constexpr int kMaxTunnelDepth = 4;

// Symmetric 5-tuple hash: equal for both directions of a connection.
std::uint32_t flow_hash(const IpAddr& a, const IpAddr& b, std::uint16_t pa, std::uint16_t pb,
                        std::uint8_t proto, std::uint8_t ip_version) noexcept;

}  // namespace netloom::decode
