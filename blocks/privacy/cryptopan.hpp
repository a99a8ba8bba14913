// Crypto-PAn (Xu, Fan, Ammar, Moon, "Prefix-preserving IP address
// anonymization", ICNP 2002), the scheme behind Tstat's -Y option.
//
// Key: 32 bytes. The first 16 are an AES-128 key K; the last 16, encrypted
// with K, form the pad P. Output bit i is input bit i XOR the top bit of
// AES_K(the first i input bits followed by bits i.. of P). Bit i therefore
// depends only on bits 0..i-1: two addresses sharing exactly a k-bit prefix
// map to two addresses sharing exactly a k-bit prefix. IPv6 uses the same
// construction over 128 bits (128 AES blocks per address, 32 for IPv4).
// AES comes from OpenSSL's libcrypto (ECB, all blocks of an address in one call).
#pragma once
#include <array>
#include <cstdint>
#include <memory>

namespace netloom::privacy {

using Key = std::array<std::uint8_t, 32>;

class CryptoPan {
 public:
  // Throws std::runtime_error if OpenSSL cannot set up AES.
  explicit CryptoPan(const Key& key);
  ~CryptoPan();
  CryptoPan(const CryptoPan&) = delete;
  CryptoPan& operator=(const CryptoPan&) = delete;

  // Anonymizes `bytes` (4: IPv4, 16: IPv6) of a network-order address in place.
  // Not thread-safe: one instance per thread.
  void anonymize(std::uint8_t* addr, int bytes);

  // IPv4 in host order (the reference implementation's interface).
  std::uint32_t anonymize_v4(std::uint32_t addr);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace netloom::privacy
