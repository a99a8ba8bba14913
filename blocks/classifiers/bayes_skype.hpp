// Tstat's Skype detector (spec §7) on top of the netloom_bayes engine:
// per-direction features (PKTSIZE, AVGIPG), deterministic per-packet UDP
// typing, the nibble chi-square test, and the E2E / E2O / TCP decision.
// Independent of the Block API so it can be unit tested directly.
#pragma once
#include <cstdint>
#include <string>

#include "bayes_engine.hpp"

namespace netloom::bayes::skype {

// Tstat's codes (spec §4.1, §4.3, §4.4).
inline constexpr std::uint32_t kConTypeSkype = 512;  // TCP con_type bit
inline constexpr std::uint16_t kUdpUnknown = 0, kUdpFirstRtp = 1, kUdpFirstRtpPlus = 28;
inline constexpr std::uint16_t kUdpSkypeE2E = 5, kUdpSkypeOut = 6, kUdpSkypeSig = 7;
inline constexpr int kL7SkypeE2E = 5, kL7SkypeE2O = 6, kL7SkypeTcp = 7;

struct Params {
  double chi_threshold = 150;       // chi2 at/above: "not random"
  double chi_func_threshold = 100;  // E2E: chi2 of nibble 5 (function byte, high nibble)
  std::uint64_t tcp_min_samples = 50;
  std::uint64_t min_dir_packets = 10;    // deterministic typing needs this many packets
  std::uint64_t type_min_packets = 100;  // E2E_DATA / OUT_DATA packets for SKYPE_E2E / SKYPE_OUT
  double type_share = 0.9;
  std::uint64_t early_ns = 20'000'000'000ULL;  // early typing: direction older than this...
  std::uint64_t early_packets = 200;           // ...with more packets than this
};

struct Configs {
  Config pktsize, avgipg;
};
// dir/pktsize.conf (FEATURE PKTSIZE) and dir/avgipg.conf (FEATURE AVGIPG).
Configs load_configs(const std::string& dir);

// One direction of one flow.
class Direction {
 public:
  Direction(const Configs& c, const Params& p) : pkt_(c.pktsize), ipg_(c.avgipg), p_(&p) {}
  void add_udp(const std::uint8_t* payload, std::uint32_t len, std::uint64_t ts_ns);
  // TCP segments; only data segments (len > 0) are features.
  void add_tcp(const std::uint8_t* payload, std::uint32_t len, std::uint64_t ts_ns);

  // §7.3 deterministic type, given the type another classifier already set.
  std::uint16_t udp_type(std::uint16_t current) const;
  // Early typing (> early_ns and > early_packets): freezes the type once.
  void maybe_freeze(std::uint16_t current);

  bool pktsize_passes() const { return pkt_.passes(); }
  bool avgipg_passes() const { return ipg_.passes(); }
  // log_skype_complete's Bayes flag: 1 both, 0 none, -1 pktsize only, -2 avgipg only.
  int bayes_flag() const;
  ChiClass chi_udp_class() const;
  ChiClass chi_tcp_class() const;

  const Session& pktsize() const { return pkt_; }
  const Session& avgipg() const { return ipg_; }
  const NibbleChi2& chi() const { return chi_; }

  std::uint64_t pkts = 0, bytes = 0, e2e = 0, out = 0, nak = 0, fun2 = 0, fun3 = 0, unknown = 0;
  std::uint64_t audio = 0, video = 0;
  std::uint64_t first_ns = 0, last_ns = 0;

 private:
  void features(std::uint32_t len, std::uint64_t ts_ns, bool pktsize_sample);
  Session pkt_, ipg_;
  NibbleChi2 chi_;
  const Params* p_;
  std::uint64_t ipg_start_ns_ = 0;
  std::uint32_t ipg_count_ = 0;
  bool have_prev_ = false;
  std::uint8_t prev_[4]{};
  int frozen_ = -1;
};

struct Verdict {
  bool skype = false;
  int l7 = 0;                  // 5 E2E, 6 E2O, 7 TCP, 0 not Skype
  std::uint16_t udp_type = 0;  // UDP: the type to label the direction with
};
// UDP direction: skype when both Bayes features pass, chi2 says E2E or E2O
// and the deterministic type is SKYPE_E2E or SKYPE_OUT. udp_type follows
// §4.3: SKYPE_E2E/OUT only when chi2 agreed, SKYPE_SIG as is.
Verdict decide_udp(const Direction& d, std::uint16_t current_type, const Params& p);
// TCP direction: both Bayes features pass and all 16 nibbles random.
Verdict decide_tcp(const Direction& d, const Params& p);

}  // namespace netloom::bayes::skype
