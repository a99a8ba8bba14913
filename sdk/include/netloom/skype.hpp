// What the Bayesian Skype classifier measured on a flow it calls Skype: the
// per-direction figures of Tstat's log_skype_complete (spec §7.5). Attached
// to FlowRecord::skype; log sinks write one log_skype_complete line per such
// flow.
#pragma once
#include <array>
#include <cstdint>

namespace netloom {

struct SkypeDirFacts {
  std::uint64_t bytes = 0, pkts = 0;                     // UDP payload bytes / TCP unique bytes, packets
  std::uint64_t e2e = 0, out = 0, sig = 0, unknown = 0;  // deterministic per-packet types (UDP)
  std::uint64_t audio = 0, video = 0;                    // audio(+video) and video-only packets
  double avg_pkt_size = 0;                               // bytes / packets
  double pktsize_belief = 0, avgipg_belief = 0;          // mean max belief of each feature
  double avg_ipg_ms = 0;                                 // direction duration / packets
  // Chi-square of the first 16 payload nibbles: the figures the decision used.
  double chi_min_e2o_hdr = 0;  // min over nibbles 0-7 (SkypeOut header)
  double chi_max_e2e_hdr = 0;  // max over nibbles 0-3, 6-7 (E2E: random part of the header)
  double chi_min_e2e_hdr = 0;  // min of nibbles 4-5 (E2E: the function byte)
  double chi_max_hdr = 0;      // max over nibbles 0-7 (TCP)
  double chi_max_payload = 0;  // max over nibbles 8-15
  std::uint16_t udp_type = 0;  // deterministic type (Tstat's udp_type)
  int bayes_flag = 0;          // 1 both features pass, 0 none, -1 pktsize only, -2 avgipg only
  int chi_class = 0;           // Tstat L7 id the chi-square test gives: 5 E2E, 6 E2O, 7 TCP, 0 none
  bool video_present = false;  // video-only packets > 10 % of audio packets
};

struct SkypeFacts {
  bool tcp = false;
  std::array<SkypeDirFacts, 2> dir{};  // [0] client, [1] server
};

}  // namespace netloom
