// Replacing the addresses of an IP header inside captured bytes. Checksums
// that cover an address (the IPv4 header checksum; TCP, UDP and ICMPv6
// through their pseudo-header) are updated incrementally (RFC 1624): a
// checksum that was right stays right, a wrong one stays wrong by the same
// amount, and packets cut by the snap length need no payload to fix.
#pragma once
#include <cstdint>
#include <optional>
#include <vector>

namespace netloom::privacy {

struct IpHeaderRef {
  std::uint8_t version = 0;     // 4 or 6
  std::uint8_t* src = nullptr;  // 4 or 16 bytes, inside the frame
  std::uint8_t* dst = nullptr;
  std::uint8_t* ip_checksum = nullptr;  // IPv4 header checksum; nullptr for IPv6
  std::uint8_t l4_proto = 0;            // protocol / next header field (first one for IPv6)
  std::uint32_t l4_off = 0;             // offset of what follows the fixed header (IPv4: after options)
  bool first_fragment_or_whole = true;  // IPv4: fragment offset 0
  int addr_len() const noexcept { return version == 6 ? 16 : 4; }
};

// The IP header at data[l3], if its version is 4 or 6 and both addresses were captured.
std::optional<IpHeaderRef> ip_header_at(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l3) noexcept;

// A checksum field whose sum covers the IP pseudo-header.
struct L4Checksum {
  std::uint8_t* field = nullptr;  // nullptr: none to update
  bool udp = false;               // a result of 0 is sent as 0xFFFF (0 means "no checksum")
};

// The L4 checksum of a TCP / UDP / ICMPv6 header at data[l4], if captured.
// IPv4 UDP with checksum 0 carries none: nothing to update.
L4Checksum l4_checksum_at(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l4, std::uint8_t proto,
                          std::uint8_t ip_version) noexcept;

// Overwrites `field` (h.src or h.dst) with `to`, updating h's header checksum and `l4`.
void replace_address(const IpHeaderRef& h, std::uint8_t* field, const std::uint8_t* to,
                     const L4Checksum& l4) noexcept;

// A byte range of a frame before and after a rewrite.
struct Edit {
  std::uint32_t off = 0;  // from the frame start
  std::uint8_t len = 0;   // <= 16
  std::uint8_t before[16] = {}, after[16] = {};
};

// Records the current bytes of [off, off+len) as the `before` of a new edit;
// finish_edits() fills the `after`s once the rewrite is done.
void begin_edit(std::vector<Edit>& edits, const std::uint8_t* data, std::uint32_t off, std::uint8_t len);
void finish_edits(std::vector<Edit>& edits, const std::uint8_t* data);

// Updates a checksum whose sum starts at frame offset `start` (a tunnel's
// outer UDP header) for the edits made at or after `start` (the inner
// packet's addresses and checksums, which it covers).
void adjust_for_edits(std::uint8_t* field, bool udp, std::uint32_t start,
                      const std::vector<Edit>& edits) noexcept;

// Internet checksum helpers, exposed for the tests.
std::uint32_t ones_sum(const std::uint8_t* p, std::size_t n, std::uint32_t acc = 0) noexcept;
std::uint16_t ones_fold(std::uint32_t sum) noexcept;

}  // namespace netloom::privacy
