// The link types fuzz_decode feeds the decoder: every DLT decode_packet()
// knows (decode.hpp) and one it does not. The first input byte picks one
// (modulo the table size; bit 7 set means the frame was cut by a snap length).
#pragma once
#include <cstddef>
#include <cstdint>

namespace netloom::fuzz {

inline constexpr std::uint16_t kLinkTypes[] = {
    1,    // EN10MB
    12,   // RAW (Linux DLT value)
    14,   // RAW (OpenBSD)
    101,  // LINKTYPE_RAW
    228,  // IPV4
    229,  // IPV6
    0,    // NULL (host byte order family)
    108,  // LOOP (network byte order family)
    51,   // PPP_ETHER
    9,    // PPP
    50,   // PPP_SERIAL
    104,  // C_HDLC
    113,  // LINUX_SLL
    276,  // LINUX_SLL2
    105,  // IEEE802_11
    127,  // IEEE802_11_RADIOTAP
    192,  // PPI
    147,  // USER0: unknown to the decoder
};
inline constexpr std::size_t kNumLinkTypes = sizeof kLinkTypes / sizeof kLinkTypes[0];
inline constexpr std::uint8_t kSnapCut = 0x80;

// The selector byte for `linktype`, or -1 when the table does not have it.
inline int linktype_selector(std::uint16_t linktype) {
  for (std::size_t i = 0; i < kNumLinkTypes; ++i)
    if (kLinkTypes[i] == linktype) return static_cast<int>(i);
  return -1;
}

}  // namespace netloom::fuzz
