// A bounded least-recently-used map from an address to its anonymized form.
// Crypto-PAn costs 32 AES blocks per IPv4 address (128 per IPv6 one) while a
// capture repeats a few hosts endlessly; Tstat keeps the same kind of cache
// (max_crypto_cache_size, documented as 130000 entries).
#pragma once
#include <cstdint>
#include <cstring>
#include <list>
#include <netloom/ip.hpp>
#include <unordered_map>

namespace netloom::privacy {

class AddrCache {
 public:
  // capacity 0: nothing is cached.
  explicit AddrCache(std::size_t capacity) : capacity_(capacity) {}

  // The translation of (addr, ip_version), or nullptr; a hit becomes the most recent.
  const IpAddr* find(const IpAddr& addr, std::uint8_t ip_version);
  // Adds a translation, dropping the least recently used one when full.
  void insert(const IpAddr& addr, std::uint8_t ip_version, const IpAddr& anonymized);

  std::size_t size() const noexcept { return map_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Key {
    IpAddr addr;
    std::uint8_t ver;
    bool operator==(const Key& o) const noexcept { return ver == o.ver && addr == o.addr; }
  };
  struct Hash {
    std::size_t operator()(const Key& k) const noexcept {
      std::uint64_t a, b;
      std::memcpy(&a, k.addr.data(), 8);
      std::memcpy(&b, k.addr.data() + 8, 8);
      std::uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull) ^ k.ver) * 0xBF58476D1CE4E5B9ull;
      return static_cast<std::size_t>(h ^ (h >> 31));
    }
  };
  struct Entry {
    Key key;
    IpAddr value;
  };
  std::size_t capacity_;
  std::list<Entry> lru_;  // front: most recently used
  std::unordered_map<Key, std::list<Entry>::iterator, Hash> map_;
};

}  // namespace netloom::privacy
