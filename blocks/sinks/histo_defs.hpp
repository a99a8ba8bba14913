// The histograms HistogramSink knows: one table (histo_defs.cpp) of Tstat's
// most used histograms (spec §8), each a base name expanded into its
// direction variants (`_in _out _loc` or `_c2s _s2c`). docs/histograms.md
// lists exactly this set (a test compares them).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace netloom::histo {

// Which instances a base name expands into.
enum class Variants : std::uint8_t {
  one,   // the base name itself
  dir,   // _in _out _loc (direction classes, spec §2.6)
  half,  // _c2s _s2c (client->server / server->client half flows)
};

// Direction classes, the variant index of Variants::dir.
enum DirClass : int { kIn = 0, kOut = 1, kLoc = 2, kExt = -1 };

// What feeds a histogram (for the docs and the engine's dispatch).
enum class Feed : std::uint8_t {
  packet,      // every IP packet (direction from the flow or the net file)
  flow_open,   // a flow's `opened` event
  tcp_closed,  // a complete TCP flow's final record (`closed` event)
  udp_closed,  // a UDP flow's final record
};

// Base histograms, in table order.
enum Base : std::uint16_t {
  // packets
  ip_protocol,
  ip_len,
  ip_ttl,
  ip_tos,
  ip6_plen,
  ip6_hop_limit,
  ip_bitrate,
  L3_protocol,
  L3_bitrate,
  tcp_port_src,
  tcp_port_dst,
  tcp_port_synsrc,
  tcp_port_syndst,
  udp_port_dst,
  tcp_bitrate,
  udp_bitrate,
  // new flows
  L4_flow_number,
  udp_port_flow_dst,
  // complete TCP flows
  L7_TCP_num,
  tcp_opts_SACK,
  tcp_opts_WS,
  tcp_opts_TS,
  tcp_mss_a,
  tcp_mss_b,
  tcp_mss_used,
  tcp_win_max,
  tcp_win_min,
  tcp_cl_p,
  tcp_cl_b_s,
  tcp_cl_b_l,
  tcp_rtt_min,
  tcp_rtt_avg,
  tcp_rtt_max,
  tcp_rtt_stdev,
  tcp_rtt_cnt,
  tcp_anomalies,
  tcp_rtx_RTO,
  tcp_rtx_FR,
  tcp_reordering,
  tcp_net_dup,
  tcp_unknown,
  tcp_flow_ctrl,
  tcp_unnrtx,
  tcp_tot_time,
  tcp_thru,
  tcp_thru_lf,
  // UDP flows
  L7_UDP_num,
  udp_cl_p,
  udp_cl_b_s,
  udp_cl_b_l,
  udp_tot_time,
  kBaseCount
};

struct BaseDef {
  Base id;
  std::string_view name;
  Variants variants;
  std::int64_t min, max, bin;  // [min, max) in steps of bin; (max-min) % bin == 0
  bool pseudo;                 // bitrate pseudo-histogram: slot i+1 = bit/s of category i
  Feed feed;
  std::string_view description;  // Tstat-style, without the direction
  std::string_view fed_by;       // the value added, for docs/histograms.md
};

// One histogram as written to disk: a base in one of its variants.
struct Def {
  std::string name;         // e.g. "ip_len_in"
  std::string description;  // e.g. "IPv4 packet length [bytes] - incoming packets"
  std::int64_t min = 0, max = 0, bin = 1;
  bool pseudo = false;
  Base base = kBaseCount;
  unsigned variant = 0;
  std::size_t index = 0;  // position in definitions()
};

const std::vector<BaseDef>& bases();  // indexed by Base
// Every histogram, in table order; Def::index is the position.
const std::vector<Def>& definitions();
// Index in definitions() of `b` in variant `v` (0 for Variants::one).
std::size_t instance(Base b, unsigned v = 0);
// Index of the histogram called `name`, or definitions().size() if none.
std::size_t find(std::string_view name);
unsigned variant_count(Variants v);
std::string_view variant_suffix(Variants v, unsigned i);  // "_in", "_c2s", ""

}  // namespace netloom::histo
