// ADX: per external IPv4 subnet (adx_mask, /24 by default), the packets and
// bytes it sent (src) and received (dst) in a window: Tstat's `addresses` file.
#pragma once
#include <cstdint>
#include <map>
#include <string>

namespace netloom::histo {

class AddressHits {
 public:
  explicit AddressHits(std::uint32_t mask = 0xFFFFFF00u) : mask_(mask) {}
  // `addr` in host order; `as_src`: the external host sent the packet.
  void add(std::uint32_t addr, bool as_src, std::uint64_t bytes);
  void reset() { nets_.clear(); }
  bool empty() const { return nets_.empty(); }
  std::size_t size() const { return nets_.size(); }
  // "#subnet/mask src_hits dst_hits src_bytes dst_bytes" then one line per
  // subnet in address order: "a.b.c.d src_hits dst_hits src_bytes dst_bytes".
  std::string text() const;

  struct Hits {
    std::uint64_t src_hits = 0, dst_hits = 0, src_bytes = 0, dst_bytes = 0;
  };
  const std::map<std::uint32_t, Hits>& nets() const { return nets_; }
  std::uint32_t mask() const { return mask_; }

 private:
  std::uint32_t mask_;
  std::map<std::uint32_t, Hits> nets_;
};

}  // namespace netloom::histo
