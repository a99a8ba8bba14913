#include "histo_adx.hpp"

#include <cinttypes>
#include <cstdio>

namespace netloom::histo {

void AddressHits::add(std::uint32_t addr, bool as_src, std::uint64_t bytes) {
  Hits& h = nets_[addr & mask_];
  if (as_src) {
    ++h.src_hits;
    h.src_bytes += bytes;
  } else {
    ++h.dst_hits;
    h.dst_bytes += bytes;
  }
}

std::string AddressHits::text() const {
  std::string s;
  char b[160];
  std::snprintf(b, sizeof b, "#subnet/%u.%u.%u.%u src_hits dst_hits src_bytes dst_bytes\n", mask_ >> 24,
                mask_ >> 16 & 0xFF, mask_ >> 8 & 0xFF, mask_ & 0xFF);
  s += b;
  for (const auto& [net, h] : nets_) {
    std::snprintf(b, sizeof b, "%u.%u.%u.%u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", net >> 24,
                  net >> 16 & 0xFF, net >> 8 & 0xFF, net & 0xFF, h.src_hits, h.dst_hits, h.src_bytes,
                  h.dst_bytes);
    s += b;
  }
  return s;
}

}  // namespace netloom::histo
