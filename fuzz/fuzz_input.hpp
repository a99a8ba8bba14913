// The framing shared by the fuzz targets that take a header and a sequence of
// records (fsmdpi_flow, pdpi_match), and by make_seeds, which writes seeds in
// the same framing from the dev captures.
//
// A record is: one header byte, a 16-bit big-endian length, that many bytes
// (fewer if the input ends first). Each record is handed to the code under
// test as its own exactly sized heap copy, so that AddressSanitizer catches a
// read past its end (inside the fuzzer's input it would read the next record).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace netloom::fuzz {

class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size) : p_(data), n_(size) {}
  bool empty() const { return n_ == 0; }
  std::uint8_t u8() {
    if (n_ == 0) return 0;
    --n_;
    return *p_++;
  }
  std::uint16_t u16() {
    const std::uint16_t hi = u8();
    return static_cast<std::uint16_t>(hi << 8 | u8());
  }
  // The next `len` bytes (fewer at the end of the input), copied.
  std::vector<std::uint8_t> take(std::size_t len) {
    if (len > n_) len = n_;
    std::vector<std::uint8_t> out(p_, p_ + len);
    p_ += len;
    n_ -= len;
    return out;
  }

 private:
  const std::uint8_t* p_;
  std::size_t n_;
};

struct Record {
  std::uint8_t header = 0;
  std::vector<std::uint8_t> bytes;
};

// The next record, false at the end of the input.
inline bool next_record(Input& in, Record& r) {
  if (in.empty()) return false;
  r.header = in.u8();
  const std::size_t len = in.u16();
  r.bytes = in.take(len);
  return true;
}

// Writing side (make_seeds).
inline void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u16(std::string& out, std::uint16_t v) {
  put_u8(out, static_cast<std::uint8_t>(v >> 8));
  put_u8(out, static_cast<std::uint8_t>(v));
}
inline void put_record(std::string& out, std::uint8_t header, const std::uint8_t* data, std::size_t len) {
  if (len > 0xFFFF) len = 0xFFFF;
  put_u8(out, header);
  put_u16(out, static_cast<std::uint16_t>(len));
  out.append(reinterpret_cast<const char*>(data), len);
}

}  // namespace netloom::fuzz
