// Small byte-buffer helpers shared by the synthesizer (network byte order).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace netloom::synth {

using Bytes = std::vector<uint8_t>;

inline void put8(Bytes& b, uint32_t v) { b.push_back(static_cast<uint8_t>(v)); }
inline void put16(Bytes& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put24(Bytes& b, uint32_t v) {
  put8(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void put64(Bytes& b, uint64_t v) {
  put32(b, static_cast<uint32_t>(v >> 32));
  put32(b, static_cast<uint32_t>(v));
}
inline void append(Bytes& b, const Bytes& more) { b.insert(b.end(), more.begin(), more.end()); }
inline void append(Bytes& b, std::string_view s) { b.insert(b.end(), s.begin(), s.end()); }
inline void set16(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 8);
  b[at + 1] = static_cast<uint8_t>(v);
}
inline void set24(Bytes& b, size_t at, uint32_t v) {
  b[at] = static_cast<uint8_t>(v >> 16);
  set16(b, at + 1, v & 0xffff);
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A length-prefixed block: remembers where the prefix is and patches it on close().
class LengthPrefix {
 public:
  LengthPrefix(Bytes& b, int width) : b_(b), at_(b.size()), width_(width) { b.insert(b.end(), width, 0); }
  void close() {
    size_t len = b_.size() - at_ - width_;
    for (int i = width_ - 1; i >= 0; --i, len >>= 8) b_[at_ + i] = static_cast<uint8_t>(len);
  }

 private:
  Bytes& b_;
  size_t at_;
  int width_;
};

}  // namespace netloom::synth
