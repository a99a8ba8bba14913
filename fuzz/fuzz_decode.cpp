// Target: the L2–L4 decoder (blocks/capture/decode). Input: one selector byte
// (fuzz_linktypes.hpp: the link type, and whether the frame was cut by a snap
// length), then the frame. libFuzzer's input buffer ends exactly where the
// frame ends, so AddressSanitizer sees any read past caplen.
//
// Besides memory errors, it checks what the decoder promises its readers:
// offsets inside the captured bytes, the payload inside the frame, and that
// decoding a pooled Packet that held another frame gives exactly what
// decoding a fresh one gives (decode_packet resets every field it owns).
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "decode/decode.hpp"
#include "fuzz_check.hpp"
#include "fuzz_linktypes.hpp"

using netloom::kNoOffset;
using netloom::Packet;

namespace {

void print(const char* what, const Packet& p) {
  std::fprintf(stderr,
               "%s: linktype %u caplen %u wirelen %u flags 0x%x ip_version %u l4_proto %u l3_off %u "
               "l4_off %u payload_off %u payload_len %u outer_l3_off %u tunnel %u ports %u %u\n",
               what, p.linktype, p.caplen, p.wirelen, p.flags, p.ip_version, p.l4_proto, p.l3_off, p.l4_off,
               p.payload_off, p.payload_len, p.outer_l3_off, static_cast<unsigned>(p.tunnel), p.sport,
               p.dport);
}

// FUZZ_CHECK, printing the decoded packet first.
#define CHECK_PACKET(cond, p)         \
  do {                                \
    if (!(cond)) print("decoded", p); \
    FUZZ_CHECK(cond);                 \
  } while (0)

void check_bounds(const Packet& p, bool ok) {
  // A header may start past the captured bytes only when the snap length cut them.
  for (std::uint16_t off : {p.l3_off, p.l4_off, p.payload_off, p.outer_l3_off})
    CHECK_PACKET(off == kNoOffset || off <= p.caplen || p.has(netloom::kTruncated), p);
  if (p.payload_off == kNoOffset)
    CHECK_PACKET(p.payload_len == 0, p);
  else
    CHECK_PACKET(std::uint64_t{p.payload_off} + p.payload_len <= p.caplen, p);
  if (p.l4_off != kNoOffset) CHECK_PACKET(p.l3_off != kNoOffset && p.l3_off < p.l4_off, p);
  if (ok) CHECK_PACKET(p.ip_version == 4 || p.ip_version == 6, p);
  if (p.ip_version != 0) CHECK_PACKET(p.l3_off != kNoOffset, p);
  if (p.has(netloom::kTunneled)) CHECK_PACKET(p.outer_l3_off != kNoOffset && p.outer_l3_off < p.l3_off, p);
  CHECK_PACKET(p.flow == nullptr, p);
}

// Every field decode_packet() sets.
bool same_decode(const Packet& a, const Packet& b) {
  return a.payload_len == b.payload_len && a.ip_len == b.ip_len && a.flow_hash == b.flow_hash &&
         a.tunnel_id == b.tunnel_id && a.l3_off == b.l3_off && a.l4_off == b.l4_off &&
         a.payload_off == b.payload_off && a.outer_l3_off == b.outer_l3_off && a.sport == b.sport &&
         a.dport == b.dport && a.vlan == b.vlan && a.flags == b.flags && a.ip_version == b.ip_version &&
         a.l4_proto == b.l4_proto && a.tcp_flags == b.tcp_flags && a.tunnel == b.tunnel && a.ttl == b.ttl &&
         a.src == b.src && a.dst == b.dst && a.flow == b.flow;
}

Packet g_previous;  // what the last input left in a "pooled" packet

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 0xFFFF) return 0;
  const std::uint8_t sel = data[0];
  Packet p{};
  p.data = data + 1;
  p.caplen = static_cast<std::uint32_t>(size - 1);
  p.wirelen = p.caplen + ((sel & netloom::fuzz::kSnapCut) ? 100 : 0);
  p.linktype = netloom::fuzz::kLinkTypes[(sel & 0x7F) % netloom::fuzz::kNumLinkTypes];
  const bool ok = netloom::decode::decode_packet(p);
  check_bounds(p, ok);

  Packet reused = g_previous;  // stale fields, as PacketBatch::append_raw hands them out
  reused.data = p.data;
  reused.caplen = p.caplen;
  reused.wirelen = p.wirelen;
  reused.linktype = p.linktype;
  FUZZ_CHECK(netloom::decode::decode_packet(reused) == ok);
  if (!same_decode(p, reused)) {
    print("fresh packet", p);
    print("reused packet", reused);
  }
  FUZZ_CHECK(same_decode(p, reused));

  g_previous = p;
  g_previous.data = nullptr;
  g_previous.flow = reinterpret_cast<netloom::FlowContext*>(&g_previous);  // a stale flow pointer
  return 0;
}
