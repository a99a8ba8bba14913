// TCP per-direction accounting; see tcp_analyzer.hpp for the conventions.
#include "tcp_analyzer.hpp"

#include <algorithm>
#include <cmath>

namespace netloom::flow {
namespace {

constexpr std::uint64_t kQuad = std::uint64_t{1} << 30;
constexpr std::uint64_t kSpace = std::uint64_t{1} << 32;
constexpr double kMs = 1e6;  // ns

// Wrap-aware comparisons in the 32-bit sequence space.
inline bool seq_lt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) < 0; }
inline bool seq_gt(std::uint32_t a, std::uint32_t b) { return static_cast<std::int32_t>(a - b) > 0; }
inline bool seq_leq(std::uint32_t a, std::uint32_t b) { return !seq_gt(a, b); }

inline std::uint64_t ov(std::uint64_t a, std::uint64_t b, std::uint64_t c, std::uint64_t d) {
  const std::uint64_t lo = std::max(a, c), hi = std::min(b, d);
  return hi > lo ? hi - lo : 0;
}

}  // namespace

TcpOptions parse_tcp_options(const std::uint8_t* p, std::size_t len) noexcept {
  TcpOptions o;
  if (p == nullptr) return o;
  std::size_t i = 0;
  while (i < len) {
    const std::uint8_t kind = p[i];
    if (kind == 0) break;  // end of option list
    if (kind == 1) {
      ++i;
      continue;
    }                         // NOP
    if (i + 1 >= len) break;  // no room for the length byte
    const std::uint8_t olen = p[i + 1];
    if (olen < 2 || i + olen > len) break;  // malformed: stop, never read past the end
    switch (kind) {
      case 2:
        if (olen == 4) {
          o.mss_present = true;
          o.mss = static_cast<std::uint16_t>((p[i + 2] << 8) | p[i + 3]);
        }
        break;
      case 3:
        if (olen == 3) {
          o.ws_present = true;
          o.ws = p[i + 2];
        }
        break;
      case 4:
        if (olen == 2) o.sack_permitted = true;
        break;
      case 5:
        if (olen >= 10 && (olen - 2) % 8 == 0) o.sack = true;
        break;
      case 8:
        if (olen == 10) o.ts = true;
        break;
      default:
        break;
    }
    i += olen;
  }
  return o;
}

double rtt_avg_ms(const TcpDirStats& s) noexcept {
  return s.rtt_sum_us / 1000.0 / (static_cast<double>(s.rtt_cnt) + 0.0001);
}

double rtt_std_ms(const TcpDirStats& s) noexcept {
  if (s.rtt_cnt <= 2) return 0.0;
  const double n = static_cast<double>(s.rtt_cnt);
  const double var = (s.rtt_sum2_us - s.rtt_sum_us * s.rtt_sum_us / n) / (n - 1.0);
  return var > 0 ? std::sqrt(var) / 1000.0 : 0.0;
}

TcpConnAnalyzer::TcpConnAnalyzer(std::uint32_t max_seg_per_quad) : max_seg_per_quad_(max_seg_per_quad) {}

void TcpConnAnalyzer::reset() {
  for (Dir& d : dirs_) {
    std::array<std::vector<Seg>, 4> kept = std::move(d.quad);
    for (auto& v : kept) {
      v.clear();
      // A pathological previous flow (hundreds of segments in flight) does
      // not pin its lists' memory in the pool: a few segments' worth stays.
      if (v.capacity() > kKeptSegments) std::vector<Seg>().swap(v);
    }
    d = Dir{};
    d.quad = std::move(kept);
  }
}

std::size_t TcpConnAnalyzer::memory() const {
  std::size_t m = sizeof(*this);
  for (const Dir& d : dirs_)
    for (const auto& v : d.quad) m += v.capacity() * sizeof(Seg);
  return m;
}

void TcpConnAnalyzer::enforce_cap(std::vector<Seg>& v) {
  if (max_seg_per_quad_ == 0 || v.size() <= max_seg_per_quad_) return;
  // Drop the oldest segments, merging their range into the next one.
  const std::size_t k = v.size() - max_seg_per_quad_;
  v[k].lo = v[0].lo;
  v.erase(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k));
}

void TcpConnAnalyzer::insert_piece(Dir& d, unsigned q, std::uint64_t lo, std::uint64_t hi,
                                   std::uint64_t shift, std::uint64_t pl_lo, std::uint64_t pl_hi,
                                   const TcpSegment& s, Insert& r) {
  // Keep only the current quadrant and its neighbours.
  auto& opposite = d.quad[(q + 2) & 3];
  if (!opposite.empty()) opposite.clear();
  auto& v = d.quad[q];
  const std::uint64_t a = lo - shift, b = hi - shift;
  auto pay = [&](std::uint64_t x, std::uint64_t y) { return ov(x + shift, y + shift, pl_lo, pl_hi); };

  std::size_t i = static_cast<std::size_t>(
      std::partition_point(v.begin(), v.end(), [a](const Seg& g) { return g.hi <= a; }) - v.begin());
  if (!r.has_before) {
    const Seg* before = nullptr;
    if (i > 0) {
      before = &v[i - 1];
    } else {
      const auto& pv = d.quad[(q + 3) & 3];
      if (!pv.empty()) before = &pv.back();
    }
    if (before) {
      r.has_before = true;
      r.before_ns = before->time_ns;
      r.before_acks = before->acked;
      r.before_cls = before->cls;
    }
  }

  std::uint64_t cur = a;
  std::size_t j = i;
  std::size_t first_new = SIZE_MAX;
  while (cur < b) {
    if (j < v.size() && v[j].lo <= cur) {
      Seg& g = v[j];
      const std::uint64_t oe = std::min(b, g.hi);
      r.retx_payload += pay(cur, oe);
      if (!r.overlap) {
        r.overlap = true;
        r.ov_acked = g.acked > 0;
        r.ov_same_id = s.ip_id != 0 && g.ip_id == s.ip_id;
        r.ov_prev_ns = g.time_ns;
        r.has_target = true;
        r.target_q = q;
        r.target_i = j;
      }
      g.prev_ns = g.time_ns;
      g.time_ns = s.ts_ns;
      if (g.retx < 0xFFFF) ++g.retx;
      cur = oe;
      ++j;
    } else {
      const std::uint64_t ge = j < v.size() ? std::min(b, v[j].lo) : b;
      Seg n;
      n.lo = cur;
      n.hi = ge;
      n.time_ns = s.ts_ns;
      n.ip_id = s.ip_id;
      const auto end32 = static_cast<std::uint32_t>(ge + shift);
      if (d.ack_valid && seq_leq(end32, d.ack_rcvd)) n.acked = 1;
      r.new_payload += pay(cur, ge);
      // A quadrant holds a few segments (ACKs merge them): one allocation
      // of four, rather than growing through 1, 2 and 4.
      if (v.capacity() == 0) v.reserve(4);
      v.insert(v.begin() + static_cast<std::ptrdiff_t>(j), n);
      if (first_new == SIZE_MAX) first_new = j;
      cur = ge;
      ++j;
    }
  }
  if (!r.overlap && first_new != SIZE_MAX) {
    // Anything recorded after the new range means it filled a hole.
    const Seg* after = nullptr;
    if (j < v.size()) {
      after = &v[j];
    } else {
      const auto& nv = d.quad[(q + 1) & 3];
      if (!nv.empty()) after = &nv.front();
    }
    if (after && !r.ooo) {
      r.ooo = true;
      r.has_after = true;
      r.after_ns = after->time_ns;
      r.has_target = true;
      r.target_q = q;
      r.target_i = first_new;
    }
  }
}

void TcpConnAnalyzer::insert_range(Dir& d, std::uint64_t lo, std::uint64_t hi, std::uint64_t pl_lo,
                                   std::uint64_t pl_hi, const TcpSegment& s, Insert& r) {
  const unsigned q = static_cast<unsigned>((lo >> 30) & 3);
  const std::uint64_t boundary = ((lo >> 30) + 1) << 30;
  if (hi <= boundary) {
    insert_piece(d, q, lo, hi, 0, pl_lo, pl_hi, s, r);
  } else {
    insert_piece(d, q, lo, boundary, 0, pl_lo, pl_hi, s, r);
    const std::uint64_t shift = boundary == kSpace ? kSpace : 0;
    insert_piece(d, (q + 1) & 3, boundary, hi, shift, pl_lo, pl_hi, s, r);
  }
  if (r.overlap && r.ooo) r.ooo = false;  // a retransmission is never counted out-of-order too
}

void TcpConnAnalyzer::process_ack(int dir, const TcpSegment& s, std::array<TcpDirStats, 2>& stats) {
  Dir& d = dirs_[1 - dir];  // the direction whose data this ACK acknowledges
  const std::uint32_t A = s.ack;
  if (!d.ack_valid || seq_gt(A, d.ack_rcvd)) {
    d.ack_rcvd = A;
    d.ack_valid = true;
  }
  if (!d.any_seq) return;
  if (d.iw_open && seq_gt(A, d.syn_seen ? d.isn + 1 : d.first_seq)) d.iw_open = false;
  // Only ACKs within a quadrant of what was sent mean anything.
  const auto dist = static_cast<std::int32_t>(A - d.snd_max);
  if (dist > static_cast<std::int32_t>(kQuad) || dist < -static_cast<std::int32_t>(kQuad)) return;

  const std::uint64_t a64 = static_cast<std::uint64_t>(static_cast<std::uint32_t>(A - 1)) + 1;
  const unsigned qa = static_cast<unsigned>(((A - 1) >> 30) & 3);
  auto& prev = d.quad[(qa + 3) & 3];
  if (!prev.empty() && (prev.back().acked == 0 || prev.size() > 1)) {
    // Everything in the quadrant behind the ACK is acknowledged: one segment.
    Seg merged = prev.back();
    merged.lo = prev.front().lo;
    if (merged.acked == 0) merged.acked = 1;
    prev.assign(1, merged);
  }

  auto& v = d.quad[qa];
  const std::size_t k = static_cast<std::size_t>(
      std::partition_point(v.begin(), v.end(), [a64](const Seg& g) { return g.hi <= a64; }) - v.begin());
  if (k == 0) return;
  Seg& m = v[k - 1];
  const bool pure = s.payload_len == 0 && (s.flags & (tcpflag::kSyn | tcpflag::kFin)) == 0;
  if (m.hi == a64) {
    if (m.acked > 0) {
      if (pure && m.acked < 0xFFFF) ++m.acked;  // duplicate ACK
    } else {
      bool ambiguous = m.retx > 0;
      for (std::size_t j = k - 1; !ambiguous && j-- > 0;) {
        if (v[j].acked > 0) break;
        if (v[j].retx > 0 && v[j].time_ns > m.time_ns) ambiguous = true;  // Karn: resent after m
      }
      if (!ambiguous && s.ts_ns >= m.time_ns) {
        const double us = static_cast<double>(s.ts_ns - m.time_ns) / 1000.0;
        TcpDirStats& st = stats[1 - dir];
        // As Tstat: a minimum of 0 counts as "unset", so a 0 µs sample is
        // replaced by the next one (verified on the corpus, gnutella_B.pcap).
        if (st.rtt_cnt == 0 || st.rtt_min_us == 0 || us < st.rtt_min_us) st.rtt_min_us = us;
        if (st.rtt_cnt == 0 || us > st.rtt_max_us) st.rtt_max_us = us;
        st.rtt_sum_us += us;
        st.rtt_sum2_us += us * us;
        ++st.rtt_cnt;
      }
    }
  }
  for (std::size_t j = 0; j < k; ++j)
    if (v[j].acked == 0) v[j].acked = 1;
  // Coalesce the acknowledged prefix into one segment.
  if (k >= 2) {
    Seg merged = v[k - 1];
    merged.lo = v[0].lo;
    v[0] = merged;
    v.erase(v.begin() + 1, v.begin() + static_cast<std::ptrdiff_t>(k));
  }
}

void TcpConnAnalyzer::classify(int dir, const TcpSegment& s, const Insert& r,
                               std::array<TcpDirStats, 2>& stats) {
  const TcpDirStats& me = stats[dir];
  const TcpDirStats& ot = stats[1 - dir];
  const Dir& d = dirs_[dir];
  const Dir& o = dirs_[1 - dir];
  const bool no_rtt = me.rtt_cnt == 0 || ot.rtt_cnt == 0;
  double rtt_sum_min, mean_rtt, rto;  // ns
  if (no_rtt) {
    rtt_sum_min = mean_rtt = 5 * kMs;
    rto = 500 * kMs;
  } else {
    rtt_sum_min = std::max(1 * kMs, (me.rtt_min_us + ot.rtt_min_us) * 1000.0);
    mean_rtt =
        (me.rtt_sum_us / static_cast<double>(me.rtt_cnt) + ot.rtt_sum_us / static_cast<double>(ot.rtt_cnt)) *
        1000.0;
    const double n = static_cast<double>(me.rtt_cnt + ot.rtt_cnt);
    const double sum = me.rtt_sum_us + ot.rtt_sum_us, sum2 = me.rtt_sum2_us + ot.rtt_sum2_us;
    const double var = n > 1 ? (sum2 - sum * sum / n) / (n - 1) : 0.0;
    rto = std::max(100 * kMs, mean_rtt + 4.0 * (var > 0 ? std::sqrt(var) : 0.0) * 1000.0);
  }
  const std::uint64_t ref = r.overlap ? r.ov_prev_ns : (r.has_before ? r.before_ns : s.ts_ns);
  const double recovery = s.ts_ns > ref ? static_cast<double>(s.ts_ns - ref) : 0.0;
  const bool r1b = recovery > rto;
  const bool r1d = recovery < mean_rtt;
  const bool r2b = r.has_before && r.before_acks > 3 && recovery < rto;
  const bool r2c =
      r.has_after && s.ts_ns >= r.after_ns && static_cast<double>(s.ts_ns - r.after_ns) < rtt_sum_min;
  const bool probe = s.payload_len == 1 && o.last_win_valid && o.last_win == 0 && d.syn_seen && o.syn_seen;

  TcpAnomaly c;
  if (probe) {
    c = TcpAnomaly::flow_control;
  } else if (r1d && r.has_before && r.before_cls != TcpAnomaly::in_sequence) {
    c = r.before_cls;  // part of a batch
  } else if (r.overlap && !r.ov_acked) {
    c = r.ov_same_id ? TcpAnomaly::net_dup
        : r2b        ? TcpAnomaly::fast_retx
        : r1b        ? TcpAnomaly::rto
                     : TcpAnomaly::unknown;
  } else if (!r.overlap) {
    c = r2b   ? TcpAnomaly::fast_retx
        : r1b ? TcpAnomaly::rto
        : r2c ? TcpAnomaly::reordering
              : TcpAnomaly::unknown;
  } else {
    c = r.ov_same_id ? TcpAnomaly::net_dup
        : r2b        ? TcpAnomaly::unnecessary_fr
        : r1b        ? TcpAnomaly::unnecessary_rto
                     : TcpAnomaly::unknown;
  }
  TcpDirStats& st = stats[dir];
  switch (c) {
    case TcpAnomaly::rto:
      ++st.pkts_rto;
      break;
    case TcpAnomaly::fast_retx:
      ++st.pkts_fr;
      break;
    case TcpAnomaly::reordering:
      ++st.pkts_reor;
      break;
    case TcpAnomaly::net_dup:
      ++st.pkts_dup;
      break;
    case TcpAnomaly::flow_control:
      ++st.pkts_fc;
      break;
    case TcpAnomaly::unnecessary_rto:
      ++st.pkts_unrto;
      break;
    case TcpAnomaly::unnecessary_fr:
      ++st.pkts_unfr;
      break;
    default:
      ++st.pkts_unk;
      break;
  }
  Dir& dm = dirs_[dir];
  dm.last_class = c;
  dm.last_class_no_rtt = no_rtt;
  auto& v = dm.quad[r.target_q];
  if (r.has_target && r.target_i < v.size()) v[r.target_i].cls = c;
}

void TcpConnAnalyzer::on_segment(int dir, const TcpSegment& s, std::array<TcpDirStats, 2>& stats) {
  dir &= 1;
  Dir& d = dirs_[dir];
  Dir& o = dirs_[1 - dir];
  TcpDirStats& st = stats[dir];
  const bool syn = s.flags & tcpflag::kSyn, fin = s.flags & tcpflag::kFin, rst = s.flags & tcpflag::kRst,
             ack = s.flags & tcpflag::kAck, psh = s.flags & tcpflag::kPsh;

  // Options.
  if (s.options != nullptr && s.options_len > 0) {
    const TcpOptions opt = parse_tcp_options(s.options, s.options_len);
    if (opt.sack) ++st.sack_cnt;
    if (syn) {
      st.ws_requested = opt.ws_present;
      st.ts_requested = opt.ts;
      st.sack_requested = opt.sack_permitted;
      if (opt.mss_present) st.mss = opt.mss;
      d.ws_offered = opt.ws_present;
      d.ws_declared = std::min<std::uint8_t>(opt.ws, 14);
    }
  } else if (syn) {
    st.ws_requested = st.ts_requested = st.sack_requested = false;
    d.ws_offered = false;
  }
  if (syn) {
    if (d.syn_seen && s.seq != d.isn) ++st.syn_retx;
    d.isn = s.seq;
    d.syn_seen = true;
    if (!d.push_base_set || !d.any_seq) {
      d.push_base = s.seq + 1;
      d.push_base_set = true;
    }
    st.win_scale = d.ws_offered ? d.ws_declared : 0;
    if (o.syn_seen) {
      const bool both = d.ws_offered && o.ws_offered;
      st.win_scale = both ? d.ws_declared : 0;
      stats[1 - dir].win_scale = both ? o.ws_declared : 0;
    }
  }
  const std::uint32_t syn_len = syn ? 1 : 0;
  if (fin) {
    const std::uint32_t fin_pos = s.seq + syn_len + s.payload_len;
    if (d.fin_seen && fin_pos != d.fin_seq) ++st.syn_retx;
    d.fin_seen = true;
    d.fin_seq = fin_pos;
  }

  // The ACK this segment carries, for the other direction's data.
  if (ack) process_ack(dir, s, stats);  // RST segments included (Tstat takes their samples)

  // Advertised window.
  std::uint64_t win = s.window;
  if (!syn && d.syn_seen && o.syn_seen && d.ws_offered && o.ws_offered) win <<= d.ws_declared;
  if (!rst) {
    st.win_max = std::max(st.win_max, win);
    if (win > 0 && (st.win_min == 0 || win < st.win_min)) st.win_min = win;
    if (ack && win == 0) ++st.win_zero;
    d.last_win = win;
    d.last_win_valid = true;
  }

  if (s.payload_len > 0) {
    st.seg_max = std::max<std::uint64_t>(st.seg_max, s.payload_len);
    if (st.seg_min == 0 || s.payload_len < st.seg_min) st.seg_min = s.payload_len;
  }

  // Sequence space: SYN and FIN count one byte each.
  const std::uint64_t total = std::uint64_t{s.payload_len} + syn_len + (fin ? 1 : 0);
  if (total > 0) {
    const std::uint64_t lo = s.seq, hi = lo + total;
    const std::uint64_t pl_lo = lo + syn_len, pl_hi = pl_lo + s.payload_len;
    if (!d.push_base_set) {
      d.push_base = s.seq;
      d.push_base_set = true;
    }
    Insert r;
    insert_range(d, lo, hi, pl_lo, pl_hi, s, r);
    const auto end32 = static_cast<std::uint32_t>(hi);
    if (!d.any_seq) d.first_seq = s.seq;
    if (!d.any_seq || seq_gt(end32, d.snd_max)) d.snd_max = end32;
    d.any_seq = true;
    st.bytes_uniq += r.new_payload;
    if (d.iw_open) st.cwin_ini += r.new_payload;
    if (r.overlap) {
      ++st.pkts_retx;
      st.bytes_retx += r.retx_payload;
      classify(dir, s, r, stats);
    } else if (r.ooo) {
      ++st.pkts_ooo;
      classify(dir, s, r, stats);
    } else if (!syn && s.payload_len > 0 && d.ack_valid) {
      const auto cw = static_cast<std::int32_t>(static_cast<std::uint32_t>(pl_hi) - d.ack_rcvd);
      if (cw > 0) {
        const auto c = static_cast<std::uint64_t>(cw);
        st.cwin_max = std::max(st.cwin_max, c);
        if (st.cwin_min == 0 || c < st.cwin_min) st.cwin_min = c;
      }
    }
    for (auto& v : d.quad) enforce_cap(v);
  }

  // PSH-delimited messages.
  if (ack && (psh || fin) && d.push_base_set) {
    const auto end = static_cast<std::uint32_t>(s.seq + syn_len + s.payload_len);
    if (seq_gt(end, d.push_base)) {
      ++st.pkts_push;
      d.push_base = end;
    }
  }
}

}  // namespace netloom::flow
