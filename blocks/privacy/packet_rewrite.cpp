#include "packet_rewrite.hpp"

#include <cstring>

namespace netloom::privacy {
namespace {

std::uint16_t get16(const std::uint8_t* p) noexcept { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
void put16(std::uint8_t* p, std::uint16_t v) noexcept {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), over every 16-bit word that changed.
std::uint16_t adjusted(std::uint16_t hc, const std::uint8_t* from, const std::uint8_t* to, int n) noexcept {
  std::uint32_t s = static_cast<std::uint16_t>(~hc);
  for (int i = 0; i < n; i += 2) {
    s += static_cast<std::uint16_t>(~get16(from + i));
    s += get16(to + i);
  }
  return static_cast<std::uint16_t>(~ones_fold(s));
}

}  // namespace

std::uint32_t ones_sum(const std::uint8_t* p, std::size_t n, std::uint32_t acc) noexcept {
  std::uint64_t s = acc;
  for (std::size_t i = 0; i + 1 < n; i += 2) s += get16(p + i);
  if (n & 1) s += static_cast<std::uint32_t>(p[n - 1]) << 8;
  while (s >> 32) s = (s & 0xFFFFFFFFu) + (s >> 32);
  return static_cast<std::uint32_t>(s);
}

std::uint16_t ones_fold(std::uint32_t s) noexcept {
  while (s >> 16) s = (s & 0xFFFF) + (s >> 16);
  return static_cast<std::uint16_t>(s);
}

std::optional<IpHeaderRef> ip_header_at(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l3) noexcept {
  if (l3 >= caplen) return std::nullopt;
  std::uint8_t* h = data + l3;
  const std::uint32_t left = caplen - l3;
  IpHeaderRef r;
  r.version = h[0] >> 4;
  if (r.version == 4) {
    if (left < 20) return std::nullopt;
    r.src = h + 12;
    r.dst = h + 16;
    r.ip_checksum = h + 10;
    r.l4_proto = h[9];
    r.l4_off = l3 + 4u * (h[0] & 0x0F);
    r.first_fragment_or_whole = (get16(h + 6) & 0x1FFF) == 0;
  } else if (r.version == 6) {
    if (left < 40) return std::nullopt;
    r.src = h + 8;
    r.dst = h + 24;
    r.l4_proto = h[6];
    r.l4_off = l3 + 40;
  } else {
    return std::nullopt;
  }
  return r;
}

L4Checksum l4_checksum_at(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l4, std::uint8_t proto,
                          std::uint8_t ip_version) noexcept {
  std::uint32_t at;
  switch (proto) {
    case 6:
      at = 16;
      break;
    case 17:
      at = 6;
      break;
    case 58:
      if (ip_version != 6) return {};
      at = 2;
      break;
    default:
      return {};  // ICMPv4, GRE, ...: no pseudo-header in their checksum
  }
  if (l4 > caplen || caplen - l4 < at + 2) return {};
  std::uint8_t* f = data + l4 + at;
  if (proto == 17 && ip_version == 4 && get16(f) == 0) return {};
  return L4Checksum{f, proto == 17};
}

void replace_address(const IpHeaderRef& h, std::uint8_t* field, const std::uint8_t* to,
                     const L4Checksum& l4) noexcept {
  const int n = h.addr_len();
  if (std::memcmp(field, to, static_cast<std::size_t>(n)) == 0) return;
  if (h.ip_checksum) put16(h.ip_checksum, adjusted(get16(h.ip_checksum), field, to, n));
  if (l4.field) {
    std::uint16_t c = adjusted(get16(l4.field), field, to, n);
    if (l4.udp && c == 0) c = 0xFFFF;
    put16(l4.field, c);
  }
  std::memcpy(field, to, static_cast<std::size_t>(n));
}

void begin_edit(std::vector<Edit>& edits, const std::uint8_t* data, std::uint32_t off, std::uint8_t len) {
  Edit e;
  e.off = off;
  e.len = len;
  std::memcpy(e.before, data + off, len);
  edits.push_back(e);
}

void finish_edits(std::vector<Edit>& edits, const std::uint8_t* data) {
  for (Edit& e : edits) std::memcpy(e.after, data + e.off, e.len);
}

void adjust_for_edits(std::uint8_t* field, bool udp, std::uint32_t start,
                      const std::vector<Edit>& edits) noexcept {
  // A byte at an even distance from `start` is the high half of its 16-bit
  // word in the sum, at an odd one the low half.
  std::uint32_t old_sum = 0, new_sum = 0;
  bool any = false;
  for (const Edit& e : edits) {
    if (e.off < start) continue;
    for (std::uint32_t i = 0; i < e.len; ++i) {
      const unsigned shift = ((e.off + i - start) & 1) ? 0 : 8;
      old_sum += static_cast<std::uint32_t>(e.before[i]) << shift;
      new_sum += static_cast<std::uint32_t>(e.after[i]) << shift;
      any |= e.before[i] != e.after[i];
    }
  }
  if (!any) return;
  std::uint32_t s = static_cast<std::uint16_t>(~get16(field));
  s += static_cast<std::uint16_t>(~ones_fold(old_sum));
  s += ones_fold(new_sum);
  std::uint16_t c = static_cast<std::uint16_t>(~ones_fold(s));
  if (udp && c == 0) c = 0xFFFF;
  put16(field, c);
}

}  // namespace netloom::privacy
