// Entry point of the decoder and the symmetric flow hash.
#include "decode/decode.hpp"

#include <cstring>

#include "decode/detail.hpp"

namespace netloom::decode {

namespace {

constexpr std::uint64_t kMulA = 0x9E3779B97F4A7C15ull;
constexpr std::uint64_t kMulB = 0xC2B2AE3D27D4EB4Full;
constexpr std::uint64_t kMulC = 0x165667B19E3779F9ull;

inline std::uint64_t rotl64(std::uint64_t x, int r) noexcept { return (x << r) | (x >> (64 - r)); }

// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
inline std::uint64_t fmix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xFF51AFD7ED558CCDull;
  x ^= x >> 33;
  x *= 0xC4CEB9FE1A85EC53ull;
  x ^= x >> 33;
  return x;
}

// One endpoint (address, port) folded into 64 bits. For IPv4 the fold is
// exact (32-bit address, 16-bit port).
inline std::uint64_t endpoint_key(const IpAddr& a, std::uint16_t port, bool v4) noexcept {
  if (v4) {
    std::uint32_t w;
    std::memcpy(&w, a.data(), 4);
    return (std::uint64_t{w} << 16) | port;
  }
  std::uint64_t w0, w1;
  std::memcpy(&w0, a.data(), 8);
  std::memcpy(&w1, a.data() + 8, 8);
  return rotl64(w0 * kMulA, 31) ^ (w1 * kMulB) ^ port;
}

inline bool has_ports(std::uint8_t proto) noexcept {
  return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

}  // namespace

std::uint32_t flow_hash(const IpAddr& a, const IpAddr& b, std::uint16_t pa, std::uint16_t pb,
                        std::uint8_t proto, std::uint8_t ip_version) noexcept {
  const bool v4 = ip_version == 4;
  const std::uint64_t ka = endpoint_key(a, pa, v4);
  const std::uint64_t kb = endpoint_key(b, pb, v4);
  // Order the endpoints so both directions hash the same tuple.
  const std::uint64_t lo = ka < kb ? ka : kb;
  const std::uint64_t hi = ka < kb ? kb : ka;
  const std::uint64_t x =
      fmix64(lo * kMulC + rotl64(hi, 23) * kMulA + ((std::uint64_t{proto} << 8) | ip_version));
  return static_cast<std::uint32_t>(x ^ (x >> 32));
}

bool decode_packet(Packet& p) noexcept {
  // Reset what a previous use of this Packet may have left (pooled batches
  // hand out packets without re-initialising them: PacketBatch::append_raw).
  p.flow = nullptr;
  p.payload_len = 0;
  p.ip_len = 0;
  p.flow_hash = 0;
  p.tunnel_id = 0;
  p.l3_off = p.l4_off = p.payload_off = p.outer_l3_off = kNoOffset;
  p.sport = p.dport = 0;
  p.vlan = 0;
  p.ip_version = 0;
  p.l4_proto = 0;
  p.tcp_flags = 0;
  p.tunnel = TunnelType::none;
  p.ttl = 0;

  const std::uint32_t cap = p.data ? p.caplen : 0;
  const std::uint32_t wire = p.wirelen > cap ? p.wirelen : cap;
  p.flags = cap < wire ? kTruncated : 0;

  detail::Ctx c{p.data, cap, p};
  const bool ok = NETLOOM_LIKELY(p.linktype == 1) ? detail::decode_ethernet(c, 0, wire)
                                                  : detail::decode_link(c, p.linktype, 0, wire);
  if (NETLOOM_LIKELY(ok)) {
    const bool ports = has_ports(p.l4_proto) && !(p.flags & kFragment);
    p.flow_hash = flow_hash(p.src, p.dst, ports ? p.sport : 0, ports ? p.dport : 0, p.l4_proto, p.ip_version);
  } else {
    p.src = IpAddr{};
    p.dst = IpAddr{};
  }
  return ok;
}

}  // namespace netloom::decode
