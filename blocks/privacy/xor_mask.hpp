// Tstat's -A mask: internal IPv4 addresses XORed with a 32-bit mask (the
// address read as a big-endian number, so mask 0xFF flips the last octet).
// Its own inverse; not prefix-preserving beyond the mask's leading zero bits.
#pragma once
#include <cstdint>

namespace netloom::privacy {

class XorMask {
 public:
  explicit XorMask(std::uint32_t mask) : mask_(mask) {}
  // Four network-order bytes, in place.
  void apply(std::uint8_t* v4) const noexcept;
  std::uint32_t mask() const noexcept { return mask_; }

 private:
  std::uint32_t mask_;
};

}  // namespace netloom::privacy
