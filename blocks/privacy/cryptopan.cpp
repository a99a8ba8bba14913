#include "cryptopan.hpp"

#include <openssl/evp.h>

#include <bit>
#include <cstring>
#include <stdexcept>

namespace netloom::privacy {

struct CryptoPan::Impl {
  EVP_CIPHER_CTX* ctx = nullptr;
  std::array<std::uint8_t, 16> pad{};
  // One AES block per address bit: 128 for IPv6.
  std::array<std::uint8_t, 16 * 128> in{}, out{};

  void encrypt(const std::uint8_t* src, std::uint8_t* dst, int len) {
    int outl = 0;
    if (EVP_EncryptUpdate(ctx, dst, &outl, src, len) != 1 || outl != len)
      throw std::runtime_error("Crypto-PAn: AES encryption failed");
  }
};

CryptoPan::CryptoPan(const Key& key) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_CIPHER_CTX_new();
  if (!impl_->ctx || EVP_EncryptInit_ex(impl_->ctx, EVP_aes_128_ecb(), nullptr, key.data(), nullptr) != 1 ||
      EVP_CIPHER_CTX_set_padding(impl_->ctx, 0) != 1) {
    EVP_CIPHER_CTX_free(impl_->ctx);
    throw std::runtime_error("Crypto-PAn: cannot set up AES-128 (OpenSSL)");
  }
  impl_->encrypt(key.data() + 16, impl_->pad.data(), 16);
}

CryptoPan::~CryptoPan() {
  if (impl_) EVP_CIPHER_CTX_free(impl_->ctx);
}

namespace {

std::uint64_t to_from_be(std::uint64_t v) noexcept {
  if constexpr (std::endian::native == std::endian::little) return __builtin_bswap64(v);
  return v;
}
std::uint64_t load_be64(const std::uint8_t* p) noexcept {
  std::uint64_t v;
  std::memcpy(&v, p, 8);
  return to_from_be(v);
}
void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
  v = to_from_be(v);
  std::memcpy(p, &v, 8);
}
// Mask of the first n bits (0..64) of a 64-bit word.
std::uint64_t lead(int n) noexcept { return n <= 0 ? 0 : n >= 64 ? ~0ull : ~0ull << (64 - n); }

}  // namespace

void CryptoPan::anonymize(std::uint8_t* addr, int bytes) {
  const int bits = bytes * 8;
  Impl& m = *impl_;
  // The address as the first `bytes` of a 128-bit big-endian block.
  std::uint8_t a[16] = {};
  std::memcpy(a, addr, static_cast<std::size_t>(bytes));
  const std::uint64_t a_hi = load_be64(a), a_lo = load_be64(a + 8);
  const std::uint64_t p_hi = load_be64(m.pad.data()), p_lo = load_be64(m.pad.data() + 8);
  // Block i: the first i bits of the address, then the pad's bits from i on.
  for (int i = 0; i < bits; ++i) {
    const std::uint64_t mh = lead(i), ml = lead(i - 64);
    std::uint8_t* blk = m.in.data() + 16 * i;
    store_be64(blk, (a_hi & mh) | (p_hi & ~mh));
    store_be64(blk + 8, (a_lo & ml) | (p_lo & ~ml));
  }
  m.encrypt(m.in.data(), m.out.data(), 16 * bits);
  for (int i = 0; i < bits; ++i)
    if (m.out[16 * static_cast<std::size_t>(i)] & 0x80)
      addr[i / 8] ^= static_cast<std::uint8_t>(0x80 >> (i % 8));
}

std::uint32_t CryptoPan::anonymize_v4(std::uint32_t addr) {
  std::uint8_t b[4] = {static_cast<std::uint8_t>(addr >> 24), static_cast<std::uint8_t>(addr >> 16),
                       static_cast<std::uint8_t>(addr >> 8), static_cast<std::uint8_t>(addr)};
  anonymize(b, 4);
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 | b[3];
}

}  // namespace netloom::privacy
