#include "tcp.hpp"

#include <algorithm>
#include <vector>

namespace netloom::synth {

TcpProfile linux_client(bool v6) {
  TcpProfile p;
  p.mss = v6 ? 1440 : 1460;
  return p;
}

TcpProfile windows_client(bool v6) {
  TcpProfile p;
  p.mss = v6 ? 1440 : 1460;
  p.wscale = 8;
  p.timestamps = false;
  p.windows_layout = true;
  p.syn_window = 64240;
  p.window = 1026;
  return p;
}

TcpProfile linux_server(bool v6, uint16_t mss) {
  TcpProfile p;
  p.mss = v6 ? static_cast<uint16_t>(mss - 20) : mss;
  p.syn_window = 65160;
  p.window = 509;
  return p;
}

TcpConn::TcpConn(FlowEmitter& flow, Rng& rng, const TcpProfile& client, const TcpProfile& server,
                 uint64_t rtt, uint64_t t0)
    : flow_(flow), rng_(rng), rtt_(rtt), lan_rtt_(static_cast<uint64_t>(rng.range(80, 400)) * kUs), t0_(t0) {
  side_[c2s].prof = client;
  side_[s2c].prof = server;
  for (auto& s : side_) {
    s.isn = rng_.u32();
    s.nxt = s.isn;
    s.ts_base = rng_.u32();
  }
  ts_ok_ = client.timestamps && server.timestamps;
  sack_ok_ = client.sack && server.sack;
  ws_ok_ = true;
  side_[c2s].ready = t0;
}

Bytes TcpConn::ts_option(Dir d, uint64_t t) {
  Side& s = side_[d];
  uint32_t val = s.ts_base + static_cast<uint32_t>(t / kMs);
  side_[other(d)].ts_recent = val;
  Bytes o{8, 10};
  put32(o, val);
  put32(o, s.ts_recent);
  return o;
}

void TcpConn::segment(Dir d, uint64_t t, uint8_t flags, const Bytes& payload, const Bytes& extra_options,
                      uint32_t seq_override, bool use_override) {
  Side& s = side_[d];
  Bytes opts;
  if (ts_ok_ && !(flags & tcpflag::rst)) {
    opts = {1, 1};
    append(opts, ts_option(d, t));
  }
  append(opts, extra_options);
  const uint32_t seq = use_override ? seq_override : s.nxt;
  const uint16_t win = (flags & tcpflag::rst) ? 0 : s.prof.window;
  flow_.emit(d, t,
             tcp_header(d == c2s ? flow_.spec().client.port : flow_.spec().server.port,
                        d == c2s ? flow_.spec().server.port : flow_.spec().client.port, seq, s.rcv, flags,
                        win, opts, payload));
  if (!use_override) s.nxt += static_cast<uint32_t>(payload.size()) + ((flags & tcpflag::fin) ? 1 : 0);
  if (flags & tcpflag::ack) {
    s.last_ack_sent = s.rcv;
    s.sent_ack = true;
    s.unacked = 0;
    s.pending_ack = 0;
  }
  s.ready = std::max(s.ready, t);
  last_ = std::max(last_, t);
}

void TcpConn::pure_ack(Dir d, uint64_t t, bool with_sack) {
  Side& s = side_[d];
  if (s.sent_ack && s.last_ack_sent == s.rcv && !with_sack) return;  // never a duplicate ACK
  Bytes sack;
  if (with_sack && sack_ok_ && !s.ooo.empty()) {
    sack = {1, 1, 5, static_cast<uint8_t>(2 + 8 * std::min<size_t>(s.ooo.size(), 3))};
    size_t n = 0;
    for (auto& [a, b] : s.ooo) {
      if (n++ == 3) break;
      put32(sack, a);
      put32(sack, b);
    }
  }
  segment(d, t, tcpflag::ack, {}, sack);
}

void TcpConn::flush_pending(Dir d, uint64_t before) {
  Side& s = side_[d];
  if (s.pending_ack != 0 && s.pending_ack <= before) pure_ack(d, s.pending_ack);
}

uint64_t TcpConn::receive(Dir r, uint32_t seq, uint32_t len, uint64_t t) {
  Side& s = side_[r];
  const uint64_t at = t + turnaround(r);
  flush_pending(r, at);
  if (seq != s.rcv) {  // a hole: ACK at once with SACK
    s.ooo[seq] = seq + len;
    pure_ack(r, at, true);
    return at;
  }
  s.rcv += len;
  bool filled = false;
  for (auto it = s.ooo.begin(); it != s.ooo.end() && it->first == s.rcv; it = s.ooo.erase(it)) {
    s.rcv = it->second;
    filled = true;
  }
  if (filled || ++s.unacked >= 2) {
    pure_ack(r, at);
    return at;
  }
  s.pending_ack = at + s.prof.delack;
  return 0;
}

namespace {

Bytes mss_option(uint16_t mss) {
  Bytes o{2, 4};
  put16(o, mss);
  return o;
}

}  // namespace

Bytes TcpConn::syn_options(Dir d, uint64_t t) {
  const bool answer = d == s2c;
  const TcpProfile& p = answer ? side_[1].prof : side_[0].prof;
  const TcpProfile& peer = answer ? side_[0].prof : side_[1].prof;
  const bool sack = p.sack && (!answer || peer.sack);
  const bool ts = p.timestamps && (!answer || peer.timestamps);
  Bytes o = mss_option(p.mss);
  if (p.windows_layout) {
    append(o, Bytes{1, 3, 3, p.wscale, 1, 1});
    if (sack) append(o, Bytes{4, 2});
    return o;
  }
  if (sack && ts) {
    append(o, Bytes{4, 2});
    Bytes tso = ts_option(d, t);
    if (!answer) std::fill(tso.end() - 4, tso.end(), 0);  // TSecr is 0 on a SYN
    append(o, tso);
  } else if (ts) {
    append(o, Bytes{1, 1});
    append(o, ts_option(d, t));
  } else if (sack) {
    append(o, Bytes{1, 1, 4, 2});
  }
  append(o, Bytes{1, 3, 3, p.wscale});
  return o;
}

void TcpConn::syn(Dir d, uint64_t t) {
  Side& s = side_[d];
  const TcpProfile saved = s.prof;
  Bytes opts = syn_options(d, t);
  uint8_t flags = tcpflag::syn | (d == s2c ? tcpflag::ack : 0);
  flow_.emit(d, t,
             tcp_header(d == c2s ? flow_.spec().client.port : flow_.spec().server.port,
                        d == c2s ? flow_.spec().server.port : flow_.spec().client.port, s.isn, s.rcv, flags,
                        saved.syn_window, opts, {}));
  s.nxt = s.isn + 1;
  if (d == s2c) {
    s.sent_ack = true;
    s.last_ack_sent = s.rcv;
  }
  last_ = std::max(last_, t);
}

void TcpConn::syn_unanswered(int retransmissions) {
  uint64_t t = t0_, rto = kSec;
  for (int i = 0; i <= retransmissions; ++i, t += rto, rto *= 2) syn(c2s, t);
}

void TcpConn::syn_refused() {
  syn(c2s, t0_);
  Side& srv = side_[s2c];
  srv.rcv = side_[c2s].isn + 1;
  uint64_t t = t0_ + rtt_;
  flow_.emit(s2c, t,
             tcp_header(flow_.spec().server.port, flow_.spec().client.port, 0, srv.rcv,
                        tcpflag::rst | tcpflag::ack, 0, {}, {}));
  last_ = std::max(last_, t);
}

void TcpConn::handshake() {
  Side& c = side_[c2s];
  Side& s = side_[s2c];
  syn(c2s, t0_);
  s.rcv = c.isn + 1;
  const uint64_t t_synack = t0_ + rtt_;
  syn(s2c, t_synack);
  c.rcv = s.isn + 1;
  const uint16_t c_mss = c.prof.mss, s_mss = s.prof.mss;
  const uint16_t ts_cost = ts_ok_ ? 12 : 0;
  c.mss_send = static_cast<uint16_t>(std::min(c_mss, s_mss) - ts_cost);
  s.mss_send = static_cast<uint16_t>(std::min(c_mss, s_mss) - ts_cost);
  const uint64_t t_ack = t_synack + lan_rtt_;
  segment(c2s, t_ack, tcpflag::ack, {});
  c.ready = t_ack;
  s.ready = t_ack + rtt_;  // the server application sees the connection once the ACK arrives
}

void TcpConn::send(Dir d, const Bytes& data, uint64_t think, SendOpts o) {
  Side& s = side_[d];
  const Dir r = other(d);
  uint64_t t = s.ready + think;
  flush_pending(d, t);
  // Split into segments.
  std::vector<std::pair<uint32_t, Bytes>> segs;
  for (size_t off = 0; off < data.size(); off += s.mss_send) {
    size_t n = std::min<size_t>(s.mss_send, data.size() - off);
    segs.emplace_back(static_cast<uint32_t>(off), Bytes(data.begin() + off, data.begin() + off + n));
  }
  const uint32_t base = s.nxt;
  // Servers' segments reach the probe spaced by the bottleneck link; the client's leave back to back.
  const uint64_t gap = d == s2c ? static_cast<uint64_t>(rng_.range(90, 250)) * kUs : 15 * kUs;
  uint64_t last_arrival = t;
  for (size_t i = 0; i < segs.size();) {
    const size_t n = std::min<size_t>(static_cast<size_t>(s.cwnd), segs.size() - i);
    std::vector<size_t> order(n);
    for (size_t k = 0; k < n; ++k) order[k] = i + k;
    if (o.reorder_at >= 0 && static_cast<size_t>(o.reorder_at) >= i &&
        static_cast<size_t>(o.reorder_at) + 1 < i + n)
      std::swap(order[o.reorder_at - i], order[o.reorder_at - i + 1]);
    uint64_t last_ack = 0;
    for (size_t k = 0; k < n; ++k) {
      const size_t idx = order[k];
      const bool last = idx + 1 == segs.size();
      const uint64_t ts = t + k * gap;  // a reordered segment trails its successor by one gap
      const uint8_t flags = tcpflag::ack | (last ? tcpflag::psh : 0);
      const uint32_t seq = base + segs[idx].first;
      const uint32_t len = static_cast<uint32_t>(segs[idx].second.size());
      segment(d, ts, flags, segs[idx].second, {}, seq, true);
      uint64_t arrival = ts;
      if (last && o.lose_last) {
        // Dropped beyond the probe: retransmitted when the RTO fires.
        arrival = ts + std::max<uint64_t>(200 * kMs, 3 * rtt_) + rtt_;
        segment(d, arrival, flags, segs[idx].second, {}, seq, true);
      }
      last_arrival = std::max(last_arrival, arrival);
      uint64_t a = receive(r, seq, len, arrival);
      last_ack = std::max(last_ack, a);
    }
    i += n;
    s.cwnd = std::min(s.cwnd * 2, 40);
    if (i < segs.size()) t = std::max(last_ack, t + (n - 1) * gap) + turnaround(d);
  }
  s.nxt = base + static_cast<uint32_t>(data.size());
  s.ready = std::max(s.ready, last_);
  side_[r].ready = std::max(side_[r].ready, last_arrival + turnaround(r));
}

void TcpConn::close(Dir initiator, uint64_t think, bool four_way) {
  const Dir p = other(initiator);
  uint64_t t = side_[initiator].ready + think;
  flush_pending(initiator, t);
  segment(initiator, t, tcpflag::fin | tcpflag::ack, {});
  uint64_t tp = t + turnaround(p);
  flush_pending(p, tp);  // a delayed ACK due before the FIN arrives does not acknowledge it
  side_[p].rcv += 1;
  if (four_way) {
    segment(p, tp, tcpflag::ack, {});
    tp += static_cast<uint64_t>(rng_.range(1, 30)) * kMs + (p == s2c ? rtt_ : 0);
  }
  segment(p, tp, tcpflag::fin | tcpflag::ack, {});
  side_[initiator].rcv += 1;
  segment(initiator, tp + turnaround(initiator), tcpflag::ack, {});
}

void TcpConn::reset(Dir d, uint64_t think) {
  uint64_t t = side_[d].ready + think;
  flush_pending(d, t);
  segment(d, t, tcpflag::rst | tcpflag::ack, {});
}

}  // namespace netloom::synth
