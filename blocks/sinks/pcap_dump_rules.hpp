// Tstat's dump selection rules (spec §10 "Dump engine", tstat/dump.c), free of
// any I/O: the UDP class files and the udp_type codes they take, the STUN
// binding-request test, and the per-direction state behind tcp_maxpackets /
// tcp_maxbytes / udp_maxpackets / udp_maxbytes.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netloom::pcapdump {

// The per-class UDP dumps, in Tstat's order (udp_type enum, stun last); the
// file of class i is "udp_<kUdpClasses[i]>".
inline constexpr std::array<std::string_view, 25> kUdpClasses = {
    "unknown", "rtp",    "rtcp",    "edk",    "kad",   "kadu", "gnutella", "bittorrent", "dc",
    "kazaa",   "pplive", "sopcast", "tvants", "okad",  "dns",  "utp",      "vod",        "ppstream",
    "teredo",  "sip",    "dtls",    "quic",   "mturn", "sye",  "stun"};
inline constexpr int kStunClass = 24;

// The class whose file takes a direction of type `udp_type` (Tstat's logged
// c_type/s_type), or -1: FIRST_RTP/FIRST_RTCP/FIRST_RTP_PLUS halves and the
// Skype types have no file, as in Tstat. uTP+BT goes with uTP, RTP_PLUS
// with RTP. (STUN is not a type: see is_stun_binding_request.)
int udp_class_of(std::uint16_t udp_type) noexcept;

// Parses the `udp` parameter ("dns, rtp"): class indices in list order.
// Throws ConfigError naming the bad entry and listing the valid names.
std::vector<int> parse_udp_classes(std::string_view list);

// Tstat's is_stun(): a UDP payload that is exactly one STUN Binding Request
// (type 0x0001, message length + 20 == payload length).
bool is_stun_binding_request(const std::uint8_t* payload, std::uint32_t len) noexcept;

// ---- per-direction limits

struct Limits {
  std::uint64_t max_packets = 0;  // 0: no packet limit
  std::uint64_t max_bytes = 0;    // 0: no byte limit
  bool any() const noexcept { return max_packets || max_bytes; }
};

// One direction of a TCP connection as the dump engine follows it.
struct TcpDir {
  bool seen = false, syn = false, ack_seen = false, fin = false;
  std::uint32_t isn = 0;      // SYN's sequence number (first seq - 1 without a SYN)
  std::uint32_t max_end = 0;  // highest sequence end sent (Tstat's thisdir->seq)
  std::uint32_t ack = 0;      // last acknowledgment number sent
  std::uint32_t fin_seq = 0;  // sequence number of the FIN
  std::uint64_t data_pkts = 0;
};

struct TcpSegment {
  std::uint32_t seq = 0, ack = 0;
  std::uint8_t flags = 0;      // TCP flag byte
  std::uint32_t data_len = 0;  // payload length the IP header claims
};

// Accounts the segment in `self` (its direction), then says whether
// tcp_complete keeps it under `lim` (Tstat's rule): SYN, FIN and RST always;
// a data segment while its start is at most max_bytes into the direction's
// stream or it is among the direction's first max_packets data segments
// (retransmissions count); a segment without data when it acknowledges all
// the other direction sent and that direction is still kept (or its FIN is
// being acknowledged).
bool tcp_keep(TcpDir& self, const TcpDir& other, const TcpSegment& s, const Limits& lim) noexcept;

struct UdpDir {
  std::uint64_t packets = 0, bytes = 0;  // bytes: UDP payload per the UDP length field
};

// Accounts the datagram, then says whether udp_complete keeps it: while the
// direction has at most max_packets packets or max_bytes payload bytes
// (counting this one). A limit of 0 is off.
bool udp_keep(UdpDir& d, std::uint32_t payload, const Limits& lim) noexcept;

}  // namespace netloom::pcapdump
