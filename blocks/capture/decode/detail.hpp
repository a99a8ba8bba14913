// Internals shared by the decoder's layers: the decoding context, bounds-checked
// big-endian readers and the cross-layer entry points. Not part of the API.
//
// Bounds model. Every layer gets `off` (where its header starts) and `end`
// (where the enclosing data ends according to the headers seen so far: the
// wire length for the link layer, the outer IP/UDP length for a tunnel's
// payload). Bytes can be read only below `c.cap` (captured bytes). A header
// that needs bytes beyond `end` lies (kMalformed); one that needs bytes beyond
// `cap` but not beyond `end` was cut by the snap length (kTruncated, set up
// front when caplen < wirelen).
#pragma once
#include <cstdint>

#include "decode/decode.hpp"
#include "netloom/packet.hpp"

namespace netloom::decode::detail {

#if defined(__GNUC__)
#define NETLOOM_LIKELY(x) __builtin_expect(!!(x), 1)
#define NETLOOM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define NETLOOM_LIKELY(x) (x)
#define NETLOOM_UNLIKELY(x) (x)
#endif

using decode::kMaxTunnelDepth;
constexpr int kMaxVlanTags = 8;     // 802.1Q / QinQ tags in one frame
constexpr int kMaxMplsLabels = 16;  // labels in one MPLS stack
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr int kMaxGtpExtHeaders = 8;
// Offsets in Packet are 16-bit; headers starting past this are refused.
constexpr std::uint32_t kMaxHeaderOffset = 0xFF00;

struct Ctx {
  const std::uint8_t* d;
  std::uint32_t cap;  // captured bytes: reads stay below this
  Packet& p;
  int depth = 0;      // tunnels decapsulated so far
  int vlan_tags = 0;  // tags seen in this frame (all levels)
};

inline std::uint16_t rd16(const std::uint8_t* d, std::uint32_t off) noexcept {
  return static_cast<std::uint16_t>((d[off] << 8) | d[off + 1]);
}
inline std::uint32_t rd32(const std::uint8_t* d, std::uint32_t off) noexcept {
  return (std::uint32_t{d[off]} << 24) | (std::uint32_t{d[off + 1]} << 16) |
         (std::uint32_t{d[off + 2]} << 8) | std::uint32_t{d[off + 3]};
}
inline std::uint32_t rd32le(const std::uint8_t* d, std::uint32_t off) noexcept {
  return (std::uint32_t{d[off + 3]} << 24) | (std::uint32_t{d[off + 2]} << 16) |
         (std::uint32_t{d[off + 1]} << 8) | std::uint32_t{d[off]};
}
inline std::uint16_t rd16le(const std::uint8_t* d, std::uint32_t off) noexcept {
  return static_cast<std::uint16_t>((d[off + 1] << 8) | d[off]);
}

// True when [off, off+n) is captured and inside `end`. Otherwise flags a lie
// (kMalformed) when the header would extend past `end`; a snaplen cut needs no
// extra flag (kTruncated is already set).
inline bool need(Ctx& c, std::uint32_t off, std::uint32_t n, std::uint32_t end) noexcept {
  const std::uint64_t e = std::uint64_t{off} + n;
  if (NETLOOM_LIKELY(e <= c.cap && e <= end)) return true;
  if (e > end) c.p.flags |= kMalformed;
  return false;
}

inline std::uint32_t min32(std::uint32_t a, std::uint32_t b) noexcept { return a < b ? a : b; }

// ---- entry points of each layer (defined in the layer headers / tunnels.cpp)

// Link layer: a frame of DLT `linktype` starting at `off`.
bool decode_link(Ctx& c, std::uint32_t linktype, std::uint32_t off, std::uint32_t end) noexcept;
// Ethernet header at `off`.
bool decode_ethernet(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept;
// Payload of EtherType `etype` at `off` (VLAN tags, MPLS, PPPoE, IP...).
bool decode_ethertype(Ctx& c, std::uint16_t etype, std::uint32_t off, std::uint32_t end) noexcept;
// PPP protocol field (+ optional FF 03) at `off`.
bool decode_ppp(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept;
// IEEE 802.11 data frame at `off` (LLC/SNAP payload). `fc_swapped`: the two
// frame control bytes are in swapped order (some CAPWAP access points).
bool decode_80211(Ctx& c, std::uint32_t off, std::uint32_t end, bool fc_swapped = false) noexcept;
// IP header of either version at `off` (version from the first nibble);
// `want` is 4 or 6 when the link layer said which, 0 to accept both.
bool decode_ip(Ctx& c, std::uint32_t off, std::uint32_t end, int want) noexcept;
// Transport header `proto` at `off`, IP datagram ends at `ip_end` (claimed).
void decode_l4(Ctx& c, std::uint8_t proto, std::uint32_t off, std::uint32_t ip_end) noexcept;

// Tunnels (tunnels.cpp). Each returns true when the inner IP packet was
// decoded (p then describes it); on false, p still describes the outer packet.
bool decap_ipip(Ctx& c, std::uint32_t off, std::uint32_t end, int want) noexcept;
bool decap_gre(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept;
bool decap_udp(Ctx& c, std::uint32_t off, std::uint32_t end) noexcept;  // off: UDP payload

}  // namespace netloom::decode::detail
