// IP addresses as carried by packets and flows.
#pragma once
#include <array>
#include <cstdint>

namespace netloom {

// 16-byte address; IPv4 uses the first 4 bytes (network order), rest zero.
using IpAddr = std::array<std::uint8_t, 16>;

}  // namespace netloom
