#include "xor_mask.hpp"

namespace netloom::privacy {

void XorMask::apply(std::uint8_t* v4) const noexcept {
  for (int i = 0; i < 4; ++i) v4[i] ^= static_cast<std::uint8_t>(mask_ >> (24 - 8 * i));
}

}  // namespace netloom::privacy
