#include "histo_defs.hpp"

#include <stdexcept>

namespace netloom::histo {
namespace {

using V = Variants;
using F = Feed;

// Names, ranges and bin sizes as spec §8 lists them ("Key histograms").
// Descriptions and the "fed by" text are netloom's own.
const std::vector<BaseDef> kBases = {
    // ---- every IP packet (ext<->ext packets are not counted)
    {ip_protocol, "ip_protocol", V::dir, 0, 255, 1, false, F::packet, "IPv4 protocol field",
     "protocol field of every IPv4 packet"},
    {ip_len, "ip_len", V::dir, 0, 1504, 4, false, F::packet, "IPv4 packet length [bytes]",
     "total length field of every IPv4 packet"},
    {ip_ttl, "ip_ttl", V::dir, 0, 255, 1, false, F::packet, "IPv4 TTL", "TTL of every IPv4 packet"},
    {ip_tos, "ip_tos", V::dir, 0, 255, 1, false, F::packet, "IPv4 type of service",
     "TOS byte of every IPv4 packet"},
    {ip6_plen, "ip6_plen", V::dir, 0, 1504, 16, false, F::packet, "IPv6 payload length [bytes]",
     "payload length field of every IPv6 packet"},
    {ip6_hop_limit, "ip6_hop_limit", V::dir, 0, 70, 1, false, F::packet, "IPv6 hop limit",
     "hop limit of every IPv6 packet"},
    {ip_bitrate, "ip_bitrate", V::dir, 0, 4, 1, true, F::packet,
     "IPv4 bitrate [bit/s]: 0 TCP, 1 UDP, 2 ICMP, 3 all IPv4",
     "IPv4 total length of every IPv4 packet, per protocol (pseudo-histogram)"},
    {L3_protocol, "L3_protocol", V::dir, 0, 6, 1, false, F::packet,
     "packets per class: 0 IPv4 TCP, 1 IPv4 UDP, 2 IPv4 other, 3 IPv6 TCP, 4 IPv6 UDP, 5 IPv6 other",
     "class of every IP packet"},
    {L3_bitrate, "L3_bitrate", V::dir, 0, 6, 1, true, F::packet,
     "bitrate [bit/s]: 0 IPv4 TCP, 1 IPv4 UDP, 2 IPv4 other, 3 IPv6 TCP, 4 IPv6 UDP, 5 IPv6 other",
     "IP length of every IP packet, per class (pseudo-histogram)"},
    {tcp_port_src, "tcp_port_src", V::dir, 0, 65536, 1, false, F::packet, "TCP source port",
     "source port of every segment of a tracked TCP flow"},
    {tcp_port_dst, "tcp_port_dst", V::dir, 0, 65536, 1, false, F::packet, "TCP destination port",
     "destination port of every segment of a tracked TCP flow"},
    {tcp_port_synsrc, "tcp_port_synsrc", V::dir, 0, 65536, 1, false, F::packet, "TCP source port of SYNs",
     "source port of every SYN (without ACK) of a tracked TCP flow"},
    {tcp_port_syndst, "tcp_port_syndst", V::dir, 0, 65536, 1, false, F::packet,
     "TCP destination port of SYNs", "destination port of every SYN (without ACK) of a tracked TCP flow"},
    {udp_port_dst, "udp_port_dst", V::dir, 0, 65536, 1, false, F::packet, "UDP destination port",
     "destination port of every datagram of a tracked UDP flow"},
    {tcp_bitrate, "tcp_bitrate", V::dir, 0, 50, 1, true, F::packet, "TCP bitrate per L7 type [bit/s]",
     "IP length of every segment of a tracked TCP flow, per the flow's L7 id when the packet passes "
     "(pseudo-histogram)"},
    {udp_bitrate, "udp_bitrate", V::dir, 0, 50, 1, true, F::packet, "UDP bitrate per L7 type [bit/s]",
     "IP length of every datagram of a tracked UDP flow, per the flow's L7 id when the packet passes "
     "(pseudo-histogram)"},
    // ---- new flows
    {L4_flow_number, "L4_flow_number", V::one, 0, 2, 1, false, F::flow_open, "new flows: 0 TCP, 1 UDP",
     "0 for every new TCP flow, 1 for every new UDP flow"},
    {udp_port_flow_dst, "udp_port_flow_dst", V::one, 0, 65536, 1, false, F::flow_open,
     "UDP server port of new flows", "server port of every new UDP flow"},
    // ---- complete TCP flows (whole flow: direction of client->server)
    {L7_TCP_num, "L7_TCP_num", V::dir, 0, 50, 1, false, F::tcp_closed, "complete TCP flows per L7 type",
     "L7 id of every complete TCP flow (netloom::l7::of)"},
    {tcp_opts_SACK, "tcp_opts_SACK", V::one, 1, 4, 1, false, F::tcp_closed,
     "SACK permitted: 1 both, 2 client only, 3 server only, 4 none",
     "SACK-permitted in the SYNs of every complete TCP flow"},
    {tcp_opts_WS, "tcp_opts_WS", V::one, 1, 4, 1, false, F::tcp_closed,
     "window scale: 1 both, 2 client only, 3 server only, 4 none",
     "window scale option in the SYNs of every complete TCP flow"},
    {tcp_opts_TS, "tcp_opts_TS", V::one, 1, 4, 1, false, F::tcp_closed,
     "timestamps: 1 both, 2 client only, 3 server only, 4 none",
     "timestamp option in the SYNs of every complete TCP flow"},
    {tcp_mss_a, "tcp_mss_a", V::one, 0, 1600, 4, false, F::tcp_closed, "MSS declared by the client [bytes]",
     "client's SYN MSS option of every complete TCP flow that has one"},
    {tcp_mss_b, "tcp_mss_b", V::one, 0, 1600, 4, false, F::tcp_closed, "MSS declared by the server [bytes]",
     "server's SYN MSS option of every complete TCP flow that has one"},
    {tcp_mss_used, "tcp_mss_used", V::one, 0, 1600, 4, false, F::tcp_closed, "MSS in use [bytes]",
     "smaller of the two declared MSS of every complete TCP flow, 536 if either is missing"},
    // ---- complete TCP flows, per half flow (direction of its sender)
    {tcp_win_max, "tcp_win_max", V::dir, 0, 65536, 256, false, F::tcp_closed,
     "largest advertised window [bytes]", "win_max of each half flow (scaled when both SYNs had WS)"},
    {tcp_win_min, "tcp_win_min", V::dir, 0, 65536, 256, false, F::tcp_closed,
     "smallest non-zero advertised window [bytes]", "win_min of each half flow that advertised one"},
    {tcp_cl_p, "tcp_cl_p", V::dir, 0, 1000, 1, false, F::tcp_closed, "TCP flow length [packets]",
     "segments sent (pkts_all) by each half flow"},
    {tcp_cl_b_s, "tcp_cl_b_s", V::dir, 0, 50000, 50, false, F::tcp_closed,
     "TCP flow length [bytes], fine granularity", "unique payload bytes (bytes_uniq) of each half flow"},
    {tcp_cl_b_l, "tcp_cl_b_l", V::dir, 0, 50000000, 50000, false, F::tcp_closed,
     "TCP flow length [bytes], coarse granularity", "unique payload bytes (bytes_uniq) of each half flow"},
    {tcp_rtt_min, "tcp_rtt_min", V::dir, 0, 2000, 1, false, F::tcp_closed, "TCP flow minimum RTT [ms]",
     "rtt_min of each half flow with RTT samples"},
    {tcp_rtt_avg, "tcp_rtt_avg", V::dir, 0, 2000, 1, false, F::tcp_closed, "TCP flow average RTT [ms]",
     "rtt_sum / (rtt_cnt + 0.0001) of each half flow with RTT samples (Tstat's log formula)"},
    {tcp_rtt_max, "tcp_rtt_max", V::dir, 0, 2000, 1, false, F::tcp_closed, "TCP flow maximum RTT [ms]",
     "rtt_max of each half flow with RTT samples"},
    {tcp_rtt_stdev, "tcp_rtt_stdev", V::dir, 0, 2000, 1, false, F::tcp_closed,
     "TCP flow RTT standard deviation [ms]",
     "sample standard deviation of each half flow with 3+ RTT samples"},
    {tcp_rtt_cnt, "tcp_rtt_cnt", V::dir, 0, 200, 1, false, F::tcp_closed, "TCP flow RTT samples",
     "rtt_cnt of each half flow"},
    {tcp_anomalies, "tcp_anomalies", V::dir, 0, 64, 1, false, F::tcp_closed,
     "TCP segments per anomaly class: 0 in sequence, 1 RTO, 2 FR, 3 reordering, 4 network duplicate, "
     "5 flow control, 6 unnecessary RTO, 7 unnecessary FR, 63 unknown",
     "each half flow's anomaly counters, each added with its class; data segments neither retransmitted "
     "nor out of order as class 0"},
    {tcp_rtx_RTO, "tcp_rtx_RTO", V::dir, 0, 100, 1, false, F::tcp_closed, "RTO retransmissions per flow",
     "pkts_rto of each half flow"},
    {tcp_rtx_FR, "tcp_rtx_FR", V::dir, 0, 100, 1, false, F::tcp_closed, "fast retransmissions per flow",
     "pkts_fr of each half flow"},
    {tcp_reordering, "tcp_reordering", V::dir, 0, 100, 1, false, F::tcp_closed, "reordered segments per flow",
     "pkts_reor of each half flow"},
    {tcp_net_dup, "tcp_net_dup", V::dir, 0, 100, 1, false, F::tcp_closed, "network duplicates per flow",
     "pkts_dup of each half flow"},
    {tcp_unknown, "tcp_unknown", V::dir, 0, 100, 1, false, F::tcp_closed, "unclassified anomalies per flow",
     "pkts_unk of each half flow"},
    {tcp_flow_ctrl, "tcp_flow_ctrl", V::dir, 0, 100, 1, false, F::tcp_closed,
     "flow control window probes per flow", "pkts_fc of each half flow"},
    {tcp_unnrtx, "tcp_unnrtx", V::dir, 0, 100, 1, false, F::tcp_closed,
     "unnecessary retransmissions per flow", "pkts_unrto + pkts_unfr of each half flow"},
    // ---- complete TCP flows, whole flow
    {tcp_tot_time, "tcp_tot_time", V::one, 0, 720000, 50, false, F::tcp_closed, "TCP flow duration [ms]",
     "last - first packet time of every complete TCP flow"},
    {tcp_thru, "tcp_thru", V::half, 0, 1000, 1, false, F::tcp_closed, "TCP throughput [kbit/s]",
     "bytes_uniq * 8 / (last payload - flow's first packet) [ms] of each half flow that sent payload"},
    {tcp_thru_lf, "tcp_thru_lf", V::half, 0, 20000, 10, false, F::tcp_closed,
     "TCP throughput of large flows (>= 1 MB) [kbit/s]",
     "as tcp_thru, for half flows with bytes_uniq >= 1,000,000"},
    // ---- UDP flows
    {L7_UDP_num, "L7_UDP_num", V::dir, 0, 50, 1, false, F::udp_closed, "UDP flows per L7 type",
     "L7 id of every UDP flow (netloom::l7::of)"},
    {udp_cl_p, "udp_cl_p", V::dir, 0, 1000, 1, false, F::udp_closed, "UDP flow length [packets]",
     "datagrams of each half flow that sent any"},
    {udp_cl_b_s, "udp_cl_b_s", V::dir, 0, 50000, 50, false, F::udp_closed,
     "UDP flow length [bytes], fine granularity", "payload bytes of each half flow that sent any datagram"},
    {udp_cl_b_l, "udp_cl_b_l", V::dir, 0, 50000000, 50000, false, F::udp_closed,
     "UDP flow length [bytes], coarse granularity", "payload bytes of each half flow that sent any datagram"},
    {udp_tot_time, "udp_tot_time", V::one, 0, 720000, 50, false, F::udp_closed, "UDP flow duration [ms]",
     "last - first packet time of every UDP flow"},
};

std::string_view variant_text(Variants v, unsigned i) {
  static constexpr std::string_view kDir[] = {" - incoming", " - outgoing", " - local"};
  static constexpr std::string_view kHalf[] = {" - client to server", " - server to client"};
  switch (v) {
    case Variants::dir:
      return kDir[i];
    case Variants::half:
      return kHalf[i];
    default:
      return "";
  }
}

struct Table {
  std::vector<Def> defs;
  std::vector<std::size_t> first;  // per base: index of its first variant
};

Table build() {
  Table t;
  for (std::size_t b = 0; b < kBases.size(); ++b) {
    const BaseDef& bd = kBases[b];
    // The enum and the table must stay in step, and every range must be whole bins.
    if (bd.id != static_cast<Base>(b) || bd.bin <= 0 || bd.max <= bd.min || (bd.max - bd.min) % bd.bin != 0)
      throw std::logic_error("histogram table: bad entry " + std::string(bd.name));
    t.first.push_back(t.defs.size());
    for (unsigned v = 0; v < variant_count(bd.variants); ++v) {
      Def d;
      d.name = std::string(bd.name) + std::string(variant_suffix(bd.variants, v));
      d.description = std::string(bd.description) + std::string(variant_text(bd.variants, v));
      d.min = bd.min;
      d.max = bd.max;
      d.bin = bd.bin;
      d.pseudo = bd.pseudo;
      d.base = bd.id;
      d.variant = v;
      d.index = t.defs.size();
      t.defs.push_back(std::move(d));
    }
  }
  if (kBases.size() != kBaseCount) throw std::logic_error("histogram table: base count");
  return t;
}

const Table& table() {
  static const Table t = build();
  return t;
}

}  // namespace

unsigned variant_count(Variants v) { return v == Variants::dir ? 3 : v == Variants::half ? 2 : 1; }

std::string_view variant_suffix(Variants v, unsigned i) {
  static constexpr std::string_view kDir[] = {"_in", "_out", "_loc"};
  static constexpr std::string_view kHalf[] = {"_c2s", "_s2c"};
  switch (v) {
    case Variants::dir:
      return kDir[i];
    case Variants::half:
      return kHalf[i];
    default:
      return "";
  }
}

const std::vector<BaseDef>& bases() { return kBases; }
const std::vector<Def>& definitions() { return table().defs; }
std::size_t instance(Base b, unsigned v) { return table().first[b] + v; }

std::size_t find(std::string_view name) {
  const auto& d = definitions();
  for (std::size_t i = 0; i < d.size(); ++i)
    if (d[i].name == name) return i;
  return d.size();
}

}  // namespace netloom::histo
