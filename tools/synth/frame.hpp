// Frame builder: link headers (Ethernet/802.1Q, Linux SLL, raw IP), IPv4/IPv6,
// TCP/UDP/ICMP headers and their checksums.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "bytes.hpp"

namespace netloom::synth {

enum class LinkType { ethernet, raw, sll };

struct Addr {
  bool v6 = false;
  std::array<uint8_t, 16> b{};  // IPv4 uses the first 4 bytes

  static Addr v4(uint8_t a, uint8_t b1, uint8_t c, uint8_t d);
  // IPv6 from eight 16-bit groups.
  static Addr v6_groups(std::array<uint16_t, 8> g);
  std::string str() const;  // dotted quad, or RFC 5952 text for IPv6
  bool operator==(const Addr&) const = default;
};

using Mac = std::array<uint8_t, 6>;

namespace ipproto {
constexpr uint8_t icmp = 1, tcp = 6, udp = 17, icmpv6 = 58;
}

namespace tcpflag {
constexpr uint8_t fin = 0x01, syn = 0x02, rst = 0x04, psh = 0x08, ack = 0x10;
}

struct IpParams {
  Addr src, dst;
  uint8_t ttl = 64;
  uint16_t id = 0;           // IPv4 identification
  bool df = true;            // IPv4 don't-fragment
  uint32_t flow_label = 0;   // IPv6
  uint16_t frag_offset = 0;  // IPv4, in 8-byte units
  bool more_fragments = false;
};

// Builds the IPv4 or IPv6 header (by params.src.v6) in front of an L4 payload.
// For IPv4 fragments, `l4` is the fragment's slice of the datagram.
Bytes ip_packet(const IpParams& p, uint8_t proto, const Bytes& l4);

// Fills the checksum of a complete TCP/UDP/ICMP/ICMPv6 message in place.
void fill_l4_checksum(const Addr& src, const Addr& dst, uint8_t proto, Bytes& l4);

Bytes tcp_header(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t window,
                 const Bytes& options, const Bytes& payload);
Bytes udp_datagram(uint16_t sport, uint16_t dport, const Bytes& payload);

// Wraps an IP packet for the capture's link type. `outgoing` is the direction
// seen from the capturing host (Linux SLL packet type); vlan 0 means untagged.
Bytes link_frame(LinkType link, uint16_t vlan, const Mac& src, const Mac& dst, bool outgoing, bool v6,
                 const Bytes& ip);

}  // namespace netloom::synth
