#include "histo_collect.hpp"

#include <algorithm>
#include <cmath>
#include <netloom/l7.hpp>

namespace netloom::histo {
namespace {

constexpr std::uint8_t kIcmp = 1, kTcp = 6, kUdp = 17;
constexpr std::uint8_t kSyn = 0x02, kAck = 0x10;
constexpr double kNsPerMs = 1e6;

std::uint32_t v4(const IpAddr& a) {
  return static_cast<std::uint32_t>(a[0]) << 24 | static_cast<std::uint32_t>(a[1]) << 16 |
         static_cast<std::uint32_t>(a[2]) << 8 | a[3];
}

// tcp_opts_*: 1 both, 2 client only, 3 server only, 4 none.
double both_client_server_none(bool c, bool s) { return c ? (s ? 1 : 2) : (s ? 3 : 4); }

}  // namespace

Collector::Collector(const Selection& sel) {
  const auto& defs = definitions();
  h_.resize(defs.size());
  for (const Def& d : defs)
    if (d.index < sel.enabled.size() && sel.enabled[d.index]) h_[d.index] = std::make_unique<Histogram>(d);
  if (sel.adx) adx_.emplace(sel.adx_mask);
  for (std::size_t b = 0; b < bases().size(); ++b) first_.push_back(instance(static_cast<Base>(b)));
}

bool Collector::packet(const Packet& p, bool src_internal, bool dst_internal) {
  const DirClass c = dir_class(src_internal, dst_internal);
  if (c == kExt) return false;
  const unsigned v = static_cast<unsigned>(c);
  const std::uint64_t len = p.ip_len;
  std::size_t l3;  // L3_protocol / L3_bitrate class
  if (p.ip_version == 4) {
    add_int(ip_protocol, v, p.l4_proto);
    add_int(ip_len, v, static_cast<std::int64_t>(len));
    add_int(ip_ttl, v, p.ttl);
    if (p.l3_off != kNoOffset && std::uint32_t{p.l3_off} + 1 < p.caplen)
      add_int(ip_tos, v, p.data[p.l3_off + 1]);
    const std::size_t cat = p.l4_proto == kTcp ? 0 : p.l4_proto == kUdp ? 1 : p.l4_proto == kIcmp ? 2 : 4;
    if (cat < 3) add_bytes(ip_bitrate, v, cat, len);
    add_bytes(ip_bitrate, v, 3, len);
    l3 = p.l4_proto == kTcp ? 0 : p.l4_proto == kUdp ? 1 : 2;
    if (adx_ && c != kLoc) {
      if (c == kOut)
        adx_->add(v4(p.dst), false, len);
      else
        adx_->add(v4(p.src), true, len);
    }
  } else {
    add_int(ip6_plen, v, static_cast<std::int64_t>(len >= 40 ? len - 40 : 0));
    add_int(ip6_hop_limit, v, p.ttl);
    l3 = p.l4_proto == kTcp ? 3 : p.l4_proto == kUdp ? 4 : 5;
  }
  add_int(L3_protocol, v, static_cast<std::int64_t>(l3));
  add_bytes(L3_bitrate, v, l3, len);

  if (p.flow) {
    // Labels as the classifiers have set them so far (Tstat: the flow's
    // type when the packet is accounted).
    const FlowLabels& lab = p.flow->record.labels;
    if (p.l4_proto == kTcp) {
      add_int(tcp_port_src, v, p.sport);
      add_int(tcp_port_dst, v, p.dport);
      if ((p.tcp_flags & (kSyn | kAck)) == kSyn) {
        add_int(tcp_port_synsrc, v, p.sport);
        add_int(tcp_port_syndst, v, p.dport);
      }
      add_bytes(tcp_bitrate, v, l7::of_tcp(lab), len);
    } else if (p.l4_proto == kUdp) {
      add_int(udp_port_dst, v, p.dport);
      add_bytes(udp_bitrate, v, l7::of_udp(lab), len);
    }
  }
  return true;
}

void Collector::flow_opened(const FlowRecord& r) {
  if (r.key.l4_proto == kTcp) {
    add(L4_flow_number, 0, 0);
  } else if (r.key.l4_proto == kUdp) {
    add(L4_flow_number, 0, 1);
    add(udp_port_flow_dst, 0, r.key.server_port);
  }
}

Collector::Closed Collector::flow_closed(const FlowRecord& r) {
  const std::uint8_t proto = r.key.l4_proto;
  if (proto != kTcp && proto != kUdp) return Closed::other;
  if (proto == kTcp && !r.complete) return Closed::tcp_nocomplete;
  const DirClass c = dir_class(r.internal[0], r.internal[1]);
  if (c == kExt) return Closed::external;  // Tstat does not account them at all
  const unsigned v = static_cast<unsigned>(c);
  const double duration_ms =
      r.last_ns > r.first_ns ? static_cast<double>(r.last_ns - r.first_ns) / kNsPerMs : 0;

  if (proto == kUdp) {
    add(L7_UDP_num, v, l7::of_udp(r.labels));
    add(udp_tot_time, 0, duration_ms);
    for (int d = 0; d < 2; ++d) {
      const UdpDirStats& s = r.udp[d];
      if (s.pkts_all == 0) continue;
      const unsigned hv = static_cast<unsigned>(dir_class(r.internal[d], r.internal[1 - d]));
      add(udp_cl_p, hv, static_cast<double>(s.pkts_all));
      add(udp_cl_b_s, hv, static_cast<double>(s.bytes_all));
      add(udp_cl_b_l, hv, static_cast<double>(s.bytes_all));
    }
    return Closed::fed;
  }

  const TcpDirStats &cs = r.tcp[0], &ss = r.tcp[1];
  add(L7_TCP_num, v, l7::of_tcp(r.labels));
  add(tcp_opts_SACK, 0, both_client_server_none(cs.sack_requested, ss.sack_requested));
  add(tcp_opts_WS, 0, both_client_server_none(cs.ws_requested, ss.ws_requested));
  add(tcp_opts_TS, 0, both_client_server_none(cs.ts_requested, ss.ts_requested));
  if (cs.mss) add(tcp_mss_a, 0, cs.mss);
  if (ss.mss) add(tcp_mss_b, 0, ss.mss);
  add(tcp_mss_used, 0, cs.mss && ss.mss ? std::min(cs.mss, ss.mss) : 536);
  add(tcp_tot_time, 0, duration_ms);
  for (int d = 0; d < 2; ++d) {
    const TcpDirStats& s = r.tcp[d];
    if (s.bytes_uniq > 0 && s.last_payload_ns > r.first_ns) {
      const double ms = static_cast<double>(s.last_payload_ns - r.first_ns) / kNsPerMs;
      const double kbps = static_cast<double>(s.bytes_uniq) * 8.0 / ms;
      add(tcp_thru, static_cast<unsigned>(d), kbps);
      if (s.bytes_uniq >= 1000000) add(tcp_thru_lf, static_cast<unsigned>(d), kbps);
    }
    tcp_half(r, d);
  }
  return Closed::fed;
}

// Per half flow d (the direction of its sender).
void Collector::tcp_half(const FlowRecord& r, int d) {
  const TcpDirStats& s = r.tcp[d];
  const unsigned v = static_cast<unsigned>(dir_class(r.internal[d], r.internal[1 - d]));
  add(tcp_cl_p, v, static_cast<double>(s.pkts_all));
  add(tcp_cl_b_s, v, static_cast<double>(s.bytes_uniq));
  add(tcp_cl_b_l, v, static_cast<double>(s.bytes_uniq));
  add(tcp_win_max, v, static_cast<double>(s.win_max));
  if (s.win_min) add(tcp_win_min, v, static_cast<double>(s.win_min));
  add(tcp_rtt_cnt, v, static_cast<double>(s.rtt_cnt));
  if (s.rtt_cnt > 0) {
    const double n = static_cast<double>(s.rtt_cnt);
    add(tcp_rtt_min, v, s.rtt_min_us / 1000.0);
    add(tcp_rtt_max, v, s.rtt_max_us / 1000.0);
    add(tcp_rtt_avg, v, s.rtt_sum_us / (n + 0.0001) / 1000.0);
    if (s.rtt_cnt > 2) {
      const double var = (s.rtt_sum2_us - s.rtt_sum_us * s.rtt_sum_us / n) / (n - 1);
      add(tcp_rtt_stdev, v, var > 0 ? std::sqrt(var) / 1000.0 : 0.0);
    }
  }
  add(tcp_rtx_RTO, v, static_cast<double>(s.pkts_rto));
  add(tcp_rtx_FR, v, static_cast<double>(s.pkts_fr));
  add(tcp_reordering, v, static_cast<double>(s.pkts_reor));
  add(tcp_net_dup, v, static_cast<double>(s.pkts_dup));
  add(tcp_unknown, v, static_cast<double>(s.pkts_unk));
  add(tcp_flow_ctrl, v, static_cast<double>(s.pkts_fc));
  add(tcp_unnrtx, v, static_cast<double>(s.pkts_unrto + s.pkts_unfr));
  // Segments per anomaly class (Tstat feeds this per segment; the record
  // has the per-class totals, which give the same histogram).
  const std::uint64_t anomalies =
      s.pkts_rto + s.pkts_fr + s.pkts_reor + s.pkts_dup + s.pkts_fc + s.pkts_unrto + s.pkts_unfr + s.pkts_unk;
  add(tcp_anomalies, v, 0, s.pkts_data > anomalies ? s.pkts_data - anomalies : 0);
  add(tcp_anomalies, v, 1, s.pkts_rto);
  add(tcp_anomalies, v, 2, s.pkts_fr);
  add(tcp_anomalies, v, 3, s.pkts_reor);
  add(tcp_anomalies, v, 4, s.pkts_dup);
  add(tcp_anomalies, v, 5, s.pkts_fc);
  add(tcp_anomalies, v, 6, s.pkts_unrto);
  add(tcp_anomalies, v, 7, s.pkts_unfr);
  add(tcp_anomalies, v, 63, s.pkts_unk);
}

void Collector::finish(double elapsed_ms) {
  for (auto& h : h_)
    if (h && h->pseudo()) h->finish_rates(elapsed_ms);
}

void Collector::reset() {
  for (auto& h : h_)
    if (h) h->reset();
  reset_others();
}

void Collector::reset_others() {
  if (adx_) adx_->reset();
}

}  // namespace netloom::histo
