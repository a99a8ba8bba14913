// What the Anonymizer block does to one address, flow record or packet:
// which addresses are anonymized (policy), how (Crypto-PAn through a cache,
// or Tstat's XOR mask), and the counts of what happened.
#pragma once
#include <cstdint>
#include <memory>
#include <netloom/netloom.hpp>
#include <optional>
#include <vector>

#include "addr_cache.hpp"
#include "cryptopan.hpp"
#include "netfile.hpp"
#include "packet_rewrite.hpp"
#include "xor_mask.hpp"

namespace netloom::privacy {

enum class Mode { cryptopan, xor_mask };

// Which addresses are anonymized.
enum class Ends {
  internal,     // addresses of internal ends (FlowRecord::internal): Tstat's -A
  all,          // every address
  crypto_nets,  // addresses inside Policy::crypto_nets: Tstat's -Y
};

struct Policy {
  Mode mode = Mode::cryptopan;
  Ends ends = Ends::internal;
  Key key{};                              // cryptopan
  std::uint32_t xor_mask = 0;             // xor_mask
  std::vector<flow::NetList> whitelists;  // left in clear (Tstat's -W); any list matches
  flow::NetList crypto_nets;              // ends == crypto_nets
  // Packets without a flow context and tunnels' outer headers: which addresses
  // are internal (Tstat's -N; empty: all, as Tstat without -N).
  flow::NetList internal_nets;
  std::size_t cache_size = 130000;
  bool strict = false;  // Tstat's -0: payload-derived strings cleared from records
};

struct Stats {
  std::uint64_t anonymized = 0;    // addresses replaced (records and packets)
  std::uint64_t whitelisted = 0;   // addresses to anonymize left in clear by the whitelist
  std::uint64_t not_maskable = 0;  // IPv6 addresses in mode xor_mask (IPv4 only, as Tstat's -A)
  std::uint64_t cache_hits = 0, cache_misses = 0;
  std::uint64_t strings_cleared = 0;  // strict: non-empty strings cleared
};

class Anonymizer {
 public:
  explicit Anonymizer(Policy p);

  // The anonymized form of an address, without policy (through the cache in cryptopan mode).
  IpAddr translate(const IpAddr& a, std::uint8_t ip_version);

  // Replaces `a` and returns true if policy says it is anonymized; `internal`: its end is internal.
  bool apply(IpAddr& a, std::uint8_t ip_version, bool internal);

  // A flow record's ends (FlowRecord::crypto set for those replaced; ends
  // already marked crypto are left alone) and, with strict, its strings.
  void apply(FlowRecord& r);

  // A packet's IP header in place (and a tunnel's outermost one): bytes,
  // checksums, Packet::src/dst. The packet's bytes must be writable.
  // nullopt: no complete IP header; else whether an address was replaced.
  std::optional<bool> apply(Packet& p);

  bool internal_by_nets(const IpAddr& a, std::uint8_t ip_version) const {
    return policy_.internal_nets.internal(a, ip_version);
  }
  const Stats& stats() const noexcept { return stats_; }
  const Policy& policy() const noexcept { return policy_; }
  std::size_t cache_entries() const noexcept { return cache_.size(); }

 private:
  // One IP header's addresses (and the checksums covering them); `edits`
  // records the bytes touched, for a tunnel's outer checksum.
  bool rewrite_header(std::uint8_t* data, std::uint32_t caplen, std::uint32_t l3, std::uint32_t l4,
                      std::uint8_t l4_proto, bool src_internal, bool dst_internal, IpAddr* src_out,
                      IpAddr* dst_out, std::vector<Edit>* edits, L4Checksum* l4_out);

  Policy policy_;
  std::unique_ptr<CryptoPan> cpan_;
  XorMask xor_;
  AddrCache cache_;
  Stats stats_;
  std::vector<Edit> edits_;
};

}  // namespace netloom::privacy
