#include "addr_cache.hpp"

namespace netloom::privacy {

const IpAddr* AddrCache::find(const IpAddr& addr, std::uint8_t ip_version) {
  if (capacity_ == 0) return nullptr;
  const auto it = map_.find(Key{addr, ip_version});
  if (it == map_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return &it->second->value;
}

void AddrCache::insert(const IpAddr& addr, std::uint8_t ip_version, const IpAddr& anonymized) {
  if (capacity_ == 0) return;
  const Key k{addr, ip_version};
  if (const auto it = map_.find(k); it != map_.end()) {
    it->second->value = anonymized;
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  if (map_.size() >= capacity_) {
    map_.erase(lru_.back().key);
    lru_.pop_back();
  }
  lru_.push_front(Entry{k, anonymized});
  map_.emplace(k, lru_.begin());
}

}  // namespace netloom::privacy
