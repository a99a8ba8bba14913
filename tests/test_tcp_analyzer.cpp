// TcpConnAnalyzer: hand-built segment sequences with exact expected stats.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "corpus.hpp"
#include "tcp_analyzer.hpp"

using namespace netloom;
using namespace netloom::flow;
using namespace netloom::flow::tcpflag;

namespace {

constexpr std::uint64_t kMsNs = 1000000;

// SYN options: MSS, WS, SACK-permitted, timestamps.
std::vector<std::uint8_t> syn_opts(std::uint16_t mss, int ws, bool sack = true, bool ts = true) {
  std::vector<std::uint8_t> o{2, 4, static_cast<std::uint8_t>(mss >> 8),
                              static_cast<std::uint8_t>(mss & 0xFF)};
  if (sack) o.insert(o.end(), {4, 2});
  if (ts) o.insert(o.end(), {8, 10, 0, 0, 0, 1, 0, 0, 0, 0});
  if (ws >= 0) o.insert(o.end(), {1, 3, 3, static_cast<std::uint8_t>(ws)});
  return o;
}

struct Conn {
  TcpConnAnalyzer a;
  std::array<TcpDirStats, 2> st{};
  explicit Conn(std::uint32_t cap = 100) : a(cap) {}
  // t in ms (fractional allowed)
  void seg(int dir, double t_ms, std::uint32_t seq, std::uint32_t ack, std::uint32_t len, std::uint8_t flags,
           std::uint16_t win = 500, std::uint16_t ip_id = 0, const std::vector<std::uint8_t>& opts = {}) {
    TcpSegment s;
    s.ts_ns = 1'700'000'000'000'000'000ull + static_cast<std::uint64_t>(std::llround(t_ms * 1e6));
    s.seq = seq;
    s.ack = ack;
    s.payload_len = len;
    s.flags = flags;
    s.window = win;
    s.ip_id = ip_id;
    s.ttl = 64;
    s.options = opts.empty() ? nullptr : opts.data();
    s.options_len = static_cast<std::uint8_t>(opts.size());
    a.on_segment(dir, s, st);
  }
  // Client ISN 1000, server ISN 5000, 10 ms each way; both offer WS (7 / 8) unless told.
  void handshake(int cws = 7, int sws = 8) {
    seg(0, 0, 1000, 0, 0, kSyn, 64240, 1, syn_opts(1460, cws));
    seg(1, 10, 5000, 1001, 0, kSyn | kAck, 65535, 100, syn_opts(1400, sws));
    seg(0, 20, 1001, 5001, 0, kAck, 500, 2);
  }
  std::uint64_t anomalies(int d) const {
    const auto& s = st[d];
    return s.pkts_rto + s.pkts_fr + s.pkts_reor + s.pkts_dup + s.pkts_unk + s.pkts_fc + s.pkts_unrto +
           s.pkts_unfr;
  }
};

}  // namespace

TEST(TcpAnalyzer, CleanConnection) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck | kPsh, 500, 3);     // request
  c.seg(1, 51, 5001, 1101, 0, kAck, 300, 101);            // ACK of the request: c sample 30 ms
  c.seg(1, 52, 5001, 1101, 1000, kAck | kPsh, 300, 102);  // response, two segments
  c.seg(1, 53, 6001, 1101, 500, kAck | kPsh, 300, 103);
  c.seg(0, 60, 1101, 6501, 0, kAck, 500, 4);  // ACKs both: s sample 7 ms (last segment)
  c.seg(0, 70, 1101, 6501, 0, kAck | kFin, 500, 5);
  c.seg(1, 80, 6501, 1102, 0, kAck | kFin, 300, 104);  // c sample 10 ms (FIN)
  c.seg(0, 90, 1102, 6502, 0, kAck, 500, 6);           // s sample 10 ms (FIN)

  const TcpDirStats& cs = c.st[0];
  const TcpDirStats& ss = c.st[1];
  EXPECT_EQ(cs.bytes_uniq, 100u);
  EXPECT_EQ(ss.bytes_uniq, 1500u);
  EXPECT_EQ(cs.pkts_retx + cs.bytes_retx + cs.pkts_ooo, 0u);
  EXPECT_EQ(ss.pkts_retx + ss.bytes_retx + ss.pkts_ooo, 0u);
  // RTT: client data (SYN, request, FIN) acknowledged by the server.
  EXPECT_EQ(cs.rtt_cnt, 3u);
  EXPECT_DOUBLE_EQ(cs.rtt_min_us, 10000);
  EXPECT_DOUBLE_EQ(cs.rtt_max_us, 30000);
  EXPECT_DOUBLE_EQ(cs.rtt_sum_us, 50000);
  EXPECT_DOUBLE_EQ(cs.rtt_sum2_us, 1e8 + 9e8 + 1e8);
  EXPECT_EQ(ss.rtt_cnt, 3u);  // SYN/ACK, response (cumulative ACK matching the last segment), FIN
  EXPECT_DOUBLE_EQ(ss.rtt_min_us, 7000);
  EXPECT_DOUBLE_EQ(ss.rtt_max_us, 10000);
  EXPECT_DOUBLE_EQ(ss.rtt_sum_us, 27000);
  // Options.
  EXPECT_TRUE(cs.ws_requested && cs.ts_requested && cs.sack_requested);
  EXPECT_TRUE(ss.ws_requested && ss.ts_requested && ss.sack_requested);
  EXPECT_EQ(cs.win_scale, 7);
  EXPECT_EQ(ss.win_scale, 8);
  EXPECT_EQ(cs.mss, 1460);
  EXPECT_EQ(ss.mss, 1400);
  EXPECT_EQ(cs.sack_cnt, 0u);
  // Segment sizes and windows (SYN windows are never scaled).
  EXPECT_EQ(cs.seg_max, 100u);
  EXPECT_EQ(cs.seg_min, 100u);
  EXPECT_EQ(ss.seg_max, 1000u);
  EXPECT_EQ(ss.seg_min, 500u);
  EXPECT_EQ(cs.win_max, 64240u);
  EXPECT_EQ(cs.win_min, 500u << 7);
  EXPECT_EQ(ss.win_max, 300u << 8);
  EXPECT_EQ(ss.win_min, 65535u);
  EXPECT_EQ(cs.win_zero + ss.win_zero, 0u);
  // Congestion window estimate and initial window.
  EXPECT_EQ(cs.cwin_max, 100u);
  EXPECT_EQ(cs.cwin_min, 100u);
  EXPECT_EQ(cs.cwin_ini, 100u);
  EXPECT_EQ(ss.cwin_max, 1500u);
  EXPECT_EQ(ss.cwin_min, 1000u);
  EXPECT_EQ(ss.cwin_ini, 1500u);
  // PSH-delimited messages: one request, two response segments.
  EXPECT_EQ(cs.pkts_push, 1u);
  EXPECT_EQ(ss.pkts_push, 2u);
  EXPECT_EQ(c.anomalies(0) + c.anomalies(1), 0u);
  EXPECT_EQ(cs.syn_retx + ss.syn_retx, 0u);
  EXPECT_LT(c.a.memory(), 2048u);
}

TEST(TcpAnalyzer, RetransmissionAfterTimeoutGivesNoSample) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck | kPsh, 500, 3);
  c.seg(0, 321, 1001, 5001, 100, kAck | kPsh, 500, 4);  // RTO retransmission
  c.seg(1, 351, 5001, 1101, 0, kAck, 300, 101);         // Karn: no sample
  const TcpDirStats& cs = c.st[0];
  EXPECT_EQ(cs.pkts_retx, 1u);
  EXPECT_EQ(cs.bytes_retx, 100u);
  EXPECT_EQ(cs.bytes_uniq, 100u);
  EXPECT_EQ(cs.rtt_cnt, 1u);  // the SYN only
  EXPECT_EQ(cs.pkts_rto, 1u);
  EXPECT_EQ(c.anomalies(0), 1u);
  EXPECT_EQ(c.a.last_anomaly(0), TcpAnomaly::rto);
  EXPECT_FALSE(c.a.last_anomaly_without_rtt(0));
}

TEST(TcpAnalyzer, KarnEarlierSegmentResentAfter) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(0, 22, 1101, 5001, 100, kAck, 500, 4);
  c.seg(0, 400, 1001, 5001, 100, kAck, 500, 5);  // first segment resent after the second was sent
  c.seg(1, 420, 5001, 1201, 0, kAck, 300, 101);  // ACK matches the second segment's end
  EXPECT_EQ(c.st[0].rtt_cnt, 1u);
  EXPECT_EQ(c.st[0].pkts_retx, 1u);
  EXPECT_EQ(c.st[0].bytes_uniq, 200u);
  // Afterwards a clean segment gives a sample again.
  c.seg(0, 430, 1201, 5001, 100, kAck, 500, 6);
  c.seg(1, 445, 5001, 1301, 0, kAck, 300, 102);
  EXPECT_EQ(c.st[0].rtt_cnt, 2u);
  EXPECT_DOUBLE_EQ(c.st[0].rtt_max_us, 15000);
}

TEST(TcpAnalyzer, CumulativeAckInsideASegmentGivesNoSample) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(1, 40, 5001, 1051, 0, kAck, 300, 101);  // acks half the segment
  EXPECT_EQ(c.st[0].rtt_cnt, 1u);
  c.seg(1, 41, 5001, 1101, 0, kAck, 300, 102);  // now the whole of it
  EXPECT_EQ(c.st[0].rtt_cnt, 2u);
  EXPECT_DOUBLE_EQ(c.st[0].rtt_max_us, 20000);
}

TEST(TcpAnalyzer, OutOfOrderIsReordering) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(0, 22, 1201, 5001, 100, kAck, 500, 5);
  c.seg(0, 23, 1101, 5001, 100, kAck, 500, 4);  // fills the hole 1 ms after the following one
  const TcpDirStats& cs = c.st[0];
  EXPECT_EQ(cs.pkts_ooo, 1u);
  EXPECT_EQ(cs.pkts_retx, 0u);
  EXPECT_EQ(cs.bytes_uniq, 300u);
  EXPECT_EQ(cs.pkts_reor, 1u);
  EXPECT_EQ(c.anomalies(0), 1u);
  // The ACK of everything matches the last recorded end (1301): sample from its send time.
  c.seg(1, 50, 5001, 1301, 0, kAck, 300, 101);
  EXPECT_EQ(cs.rtt_cnt, 2u);
  EXPECT_DOUBLE_EQ(cs.rtt_max_us, 28000);
}

TEST(TcpAnalyzer, PartialOverlap) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(0, 400, 1051, 5001, 150, kAck, 500, 4);  // 50 old bytes + 100 new
  const TcpDirStats& cs = c.st[0];
  EXPECT_EQ(cs.pkts_retx, 1u);
  EXPECT_EQ(cs.bytes_retx, 50u);
  EXPECT_EQ(cs.bytes_uniq, 200u);
  EXPECT_EQ(cs.pkts_ooo, 0u);
  // Overlapping two recorded segments and a gap between them.
  c.seg(0, 401, 1301, 5001, 100, kAck, 500, 5);  // [1301,1401), leaves hole [1201,1301)
  c.seg(0, 402, 1151, 5001, 300, kAck, 500, 6);  // [1151,1451): 50 old, 100 new, 100 old, 50 new
  EXPECT_EQ(cs.pkts_retx, 2u);
  EXPECT_EQ(cs.bytes_retx, 200u);
  EXPECT_EQ(cs.bytes_uniq, 450u);
}

TEST(TcpAnalyzer, SequenceWraparound) {
  Conn c;
  const std::uint32_t isn = 0xFFFFFF00u;
  c.seg(0, 0, isn, 0, 0, kSyn, 1000, 1, syn_opts(1460, -1));
  c.seg(1, 10, 7, isn + 1, 0, kSyn | kAck, 1000, 1, syn_opts(1460, -1));
  c.seg(0, 20, isn + 1, 8, 0, kAck, 1000, 2);
  std::uint32_t seq = isn + 1;
  for (int i = 0; i < 4; ++i) {
    c.seg(0, 21 + i, seq, 8, 100, kAck, 1000, static_cast<std::uint16_t>(3 + i));
    seq += 100;
  }
  EXPECT_EQ(seq, 0x91u);
  // ACK the third segment, which straddles 2^32 (ends at 0x2D).
  c.seg(1, 43, 8, 0x2D, 0, kAck, 1000, 10);
  EXPECT_EQ(c.st[0].rtt_cnt, 2u);
  EXPECT_DOUBLE_EQ(c.st[0].rtt_max_us, 20000);
  // Retransmit the straddling segment: 100 bytes retransmitted, across both quadrants.
  c.seg(0, 500, isn + 201, 8, 100, kAck, 1000, 20);
  EXPECT_EQ(c.st[0].pkts_retx, 1u);
  EXPECT_EQ(c.st[0].bytes_retx, 100u);
  EXPECT_EQ(c.st[0].pkts_unrto, 1u);  // it had been acknowledged already
  EXPECT_EQ(c.st[0].bytes_uniq, 400u);
  c.seg(1, 510, 8, 0x91, 0, kAck, 1000, 11);  // last segment, never resent: a sample
  EXPECT_EQ(c.st[0].rtt_cnt, 3u);
  EXPECT_EQ(c.st[0].pkts_ooo, 0u);
}

TEST(TcpAnalyzer, LongTransferWrapsTheSequenceSpace) {
  Conn c;
  const std::uint32_t isn = 0x7FFFFFFFu;
  c.seg(0, 0, isn, 0, 0, kSyn);
  c.seg(1, 1, 1, isn + 1, 0, kSyn | kAck);
  std::uint32_t seq = isn + 1;
  const int n = 3'000'000;  // 4.38 GB: every quadrant, twice over
  for (int i = 0; i < n; ++i) {
    c.seg(0, 2 + i * 0.01, seq, 2, 1460, kAck, 500, static_cast<std::uint16_t>(i));
    seq += 1460;
    if (i % 2 == 1) c.seg(1, 2.5 + i * 0.01, 2, seq, 0, kAck);
  }
  EXPECT_EQ(c.st[0].bytes_uniq, 1460ull * n);
  EXPECT_EQ(c.st[0].pkts_retx, 0u);
  EXPECT_EQ(c.st[0].pkts_ooo, 0u);
  EXPECT_EQ(c.st[0].rtt_cnt, 1u + n / 2);
  EXPECT_LT(c.a.memory(), 4096u);
}

// A pooled engine is reset() for its next flow: it must then behave exactly
// as a new one, whatever the previous flow left (segments in every
// quadrant, options, windows, anomalies).
TEST(TcpAnalyzer, ResetBehavesAsNew) {
  auto scenario = [](Conn& c) {
    c.handshake(6, 9);
    c.seg(0, 21, 1001, 5001, 100, kAck | kPsh, 500, 3);
    c.seg(1, 31, 5001, 1101, 1200, kAck, 300, 101);
    c.seg(1, 32, 6201, 1101, 800, kAck, 300, 102);
    c.seg(1, 33, 5001, 1101, 1200, kAck, 300, 103);  // retransmission
    c.seg(0, 60, 1101, 7001, 0, kAck, 500, 4);
    c.seg(0, 70, 1101, 7001, 0, kAck | kFin, 500, 5);
    c.seg(1, 80, 7001, 1102, 0, kAck | kFin, 300, 104);
  };
  Conn fresh;
  scenario(fresh);
  Conn reused;
  std::mt19937 rng(3);
  reused.handshake(-1, 2);
  for (int i = 0; i < 2000; ++i)  // a messy previous flow: every quadrant, holes, overlaps
    reused.seg(static_cast<int>(rng() & 1), 21 + i, static_cast<std::uint32_t>(rng()),
               static_cast<std::uint32_t>(rng()), rng() % 1400, kAck | (rng() % 4 == 0 ? kPsh : 0), 100,
               static_cast<std::uint16_t>(i));
  reused.a.reset();
  reused.st = {};
  scenario(reused);
  for (int d = 0; d < 2; ++d) {
    EXPECT_EQ(std::memcmp(&fresh.st[d], &reused.st[d], sizeof(TcpDirStats)), 0) << "direction " << d;
    EXPECT_EQ(fresh.a.last_anomaly(d), reused.a.last_anomaly(d));
    EXPECT_EQ(fresh.a.last_anomaly_without_rtt(d), reused.a.last_anomaly_without_rtt(d));
  }
  EXPECT_EQ(fresh.st[1].pkts_retx, 1u);            // the scenario is not trivial
  EXPECT_GE(reused.a.memory(), fresh.a.memory());  // the lists' capacity is kept
  // ... a few segments' worth of it: a long previous flow pins no more.
  Conn big;
  big.handshake();
  for (std::uint32_t i = 0; i < 90; ++i)  // 90 segments in flight, never acknowledged
    big.seg(0, 21 + i, 1001 + 2000 * i, 5001, 1000, kAck, 500, static_cast<std::uint16_t>(i));
  const std::size_t before = big.a.memory();
  big.a.reset();
  EXPECT_LT(big.a.memory(), before);
  EXPECT_LE(big.a.memory(), sizeof(TcpConnAnalyzer) + 8 * 8 * 40);
}

TEST(TcpAnalyzer, QuadrantCapBoundsMemory) {
  Conn c(100);
  c.seg(0, 0, 0, 0, 0, kSyn);
  std::uint32_t seq = 1;
  const int n = 1'000'000;
  for (int i = 0; i < n; ++i) {  // 100 bytes, then a 4900-byte hole: never acknowledged
    c.seg(0, 1 + i * 0.001, seq, 0, 100, 0);
    seq += 5000;
  }
  EXPECT_EQ(c.st[0].bytes_uniq, 100ull * n);
  EXPECT_EQ(c.st[0].pkts_retx, 0u);
  EXPECT_EQ(c.st[0].pkts_ooo, 0u);
  const std::size_t capped = c.a.memory();
  EXPECT_LT(capped, 32u * 1024u);
  // A hole far behind the kept segments is now inside a merged range: a retransmission.
  c.seg(0, 2000, seq - 5000 * 150 + 200, 0, 100, 0);
  EXPECT_EQ(c.st[0].pkts_retx, 1u);

  // Unlimited (0): memory grows with the holes.
  Conn u(0);
  u.seg(0, 0, 0, 0, 0, kSyn);
  seq = 1;
  for (int i = 0; i < 10000; ++i) {
    u.seg(0, 1 + i * 0.001, seq, 0, 100, 0);
    seq += 5000;
  }
  EXPECT_GT(u.a.memory(), 10000u * 16u);
  u.seg(0, 2000, 1 + 5000 * 5 + 200, 0, 100, 0);  // fills a hole near the start
  EXPECT_EQ(u.st[0].pkts_ooo, 1u);
}

TEST(TcpAnalyzer, WindowScalingOnlyWhenBothOffer) {
  Conn on;
  on.handshake(7, 8);
  on.seg(1, 30, 5001, 1001, 0, kAck, 1, 101);
  EXPECT_EQ(on.st[1].win_min, 1u << 8);
  EXPECT_EQ(on.st[0].win_min, 500u << 7);

  Conn off;
  off.handshake(7, -1);  // server does not offer WS
  off.seg(1, 30, 5001, 1001, 0, kAck, 1, 101);
  EXPECT_TRUE(off.st[0].ws_requested);
  EXPECT_FALSE(off.st[1].ws_requested);
  EXPECT_EQ(off.st[0].win_scale, 0);
  EXPECT_EQ(off.st[1].win_scale, 0);
  EXPECT_EQ(off.st[0].win_min, 500u);
  EXPECT_EQ(off.st[1].win_min, 1u);
  EXPECT_EQ(off.st[0].win_max, 64240u);

  // Zero windows: counted on ACK segments, not on RSTs; win_min stays non-zero.
  off.seg(1, 40, 5001, 1001, 0, kAck, 0, 102);
  off.seg(1, 41, 5001, 1001, 0, kAck, 0, 103);
  off.seg(1, 42, 5001, 1001, 0, kAck | kRst, 0, 104);
  EXPECT_EQ(off.st[1].win_zero, 2u);
  EXPECT_EQ(off.st[1].win_min, 1u);
}

TEST(TcpAnalyzer, OptionsParsing) {
  {
    const std::uint8_t o[] = {1, 1, 3, 3, 7, 2, 4, 0x05, 0xB4, 4, 2, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8};
    const TcpOptions p = parse_tcp_options(o, sizeof o);
    EXPECT_TRUE(p.ws_present && p.mss_present && p.sack_permitted && p.ts);
    EXPECT_EQ(p.ws, 7);
    EXPECT_EQ(p.mss, 1460);
  }
  {
    const std::uint8_t o[] = {2, 4, 5};  // truncated MSS
    const TcpOptions p = parse_tcp_options(o, sizeof o);
    EXPECT_FALSE(p.mss_present);
  }
  {
    const std::uint8_t o[] = {4, 2, 3, 0, 2, 4, 1, 1};  // zero length stops the parse
    const TcpOptions p = parse_tcp_options(o, sizeof o);
    EXPECT_TRUE(p.sack_permitted);
    EXPECT_FALSE(p.ws_present);
    EXPECT_FALSE(p.mss_present);
  }
  {
    const std::uint8_t o[] = {8, 10, 0, 0, 0, 1};  // timestamp cut short
    EXPECT_FALSE(parse_tcp_options(o, sizeof o).ts);
    const std::uint8_t o2[] = {0, 2, 4, 5, 0xB4};  // EOL: nothing after it counts
    EXPECT_FALSE(parse_tcp_options(o2, sizeof o2).mss_present);
    const std::uint8_t o3[] = {3, 255, 7};  // length beyond the buffer
    EXPECT_FALSE(parse_tcp_options(o3, sizeof o3).ws_present);
    EXPECT_FALSE(parse_tcp_options(nullptr, 40).ws_present);
  }
  {
    const std::uint8_t sack[] = {1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2};
    EXPECT_TRUE(parse_tcp_options(sack, sizeof sack).sack);
    Conn c;
    c.handshake();
    const std::vector<std::uint8_t> opts(sack, sack + sizeof sack);
    c.seg(1, 30, 5001, 1001, 0, kAck, 300, 101, opts);
    c.seg(1, 31, 5001, 1001, 0, kAck, 300, 102, opts);
    EXPECT_EQ(c.st[1].sack_cnt, 2u);
  }
  // Garbage never reads out of bounds (the vector is exactly the option length;
  // run under the sanitizer build to make that check strict).
  std::mt19937 rng(42);
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> g(rng() % 41);
    for (auto& b : g) b = static_cast<std::uint8_t>(rng() % 12);
    (void)parse_tcp_options(g.data(), g.size());
    Conn c;
    c.seg(0, 0, 1, 0, 0, kSyn, 100, 1, g);
  }
}

TEST(TcpAnalyzer, DuplicateAcksThenFastRetransmit) {
  Conn c;
  c.handshake();
  for (int i = 0; i < 5; ++i)
    c.seg(0, 21 + i, 1001 + 100 * i, 5001, 100, kAck, 500, static_cast<std::uint16_t>(3 + i));
  // The first data segment is lost after the probe: the server keeps ACKing 1001.
  for (int i = 0; i < 3; ++i) c.seg(1, 31 + i, 5001, 1001, 0, kAck, 300, static_cast<std::uint16_t>(101 + i));
  c.seg(0, 40, 1001, 5001, 100, kAck, 500, 20);  // recovery 19 ms < RTO (100 ms floor)
  const TcpDirStats& cs = c.st[0];
  EXPECT_EQ(cs.pkts_retx, 1u);
  EXPECT_EQ(cs.pkts_fr, 1u);
  EXPECT_EQ(c.anomalies(0), 1u);
  EXPECT_EQ(c.a.last_anomaly(0), TcpAnomaly::fast_retx);
  // The cumulative ACK after recovery matches the last segment: Karn forbids a sample.
  c.seg(1, 50, 5001, 1501, 0, kAck, 300, 110);
  EXPECT_EQ(cs.rtt_cnt, 1u);
}

TEST(TcpAnalyzer, RtoUnnecessaryAndNetworkDuplicate) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(1, 31, 5001, 1101, 0, kAck, 300, 101);
  c.seg(0, 2000, 1001, 5001, 100, kAck, 500, 4);  // already acked, long after: unnecessary RTO
  EXPECT_EQ(c.st[0].pkts_unrto, 1u);
  // A resend right behind a classified one (recovery < mean RTT) joins its batch.
  c.seg(0, 2001, 1101, 5001, 100, kAck, 500, 5);
  c.seg(0, 2002, 1101, 5001, 100, kAck, 500, 6);
  EXPECT_EQ(c.st[0].pkts_unrto, 2u);
  EXPECT_EQ(c.st[0].pkts_retx, 2u);
  EXPECT_EQ(c.anomalies(0), 2u);
  EXPECT_EQ(c.st[0].bytes_uniq, 200u);

  Conn d;
  d.handshake();
  d.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  d.seg(0, 22, 1001, 5001, 100, kAck, 500, 3);  // same IP-ID: duplicated by the network
  EXPECT_EQ(d.st[0].pkts_dup, 1u);
  d.seg(0, 23, 1101, 5001, 100, kAck, 500, 0);
  d.seg(1, 41, 5001, 1201, 0, kAck, 300, 101);
  d.seg(0, 900, 1101, 5001, 100, kAck, 500, 0);  // IP-ID 0 (or IPv6): no net-dup verdict
  EXPECT_EQ(d.st[0].pkts_dup, 1u);
  EXPECT_EQ(d.st[0].pkts_unrto, 1u);
  EXPECT_EQ(d.st[0].pkts_retx, 2u);
  EXPECT_EQ(d.anomalies(0), 2u);
  d.seg(0, 901, 1201, 5001, 100, kAck, 500, 9);
  d.seg(0, 902, 1201, 5001, 100, kAck, 500, 9);  // same IP-ID, not acked, predecessor is "unnecessary RTO"
  EXPECT_EQ(d.st[0].pkts_unrto, 2u);             // ...and 1 ms < mean RTT: same batch
}

TEST(TcpAnalyzer, NoRttSampleUsesDefaults) {
  // Mid-flow capture: no handshake, no RTT sample, RTO = 500 ms.
  Conn c;
  c.seg(0, 0, 100, 9, 100, kAck, 500, 1);
  c.seg(0, 300, 100, 9, 100, kAck, 500, 2);  // 300 ms < 500 ms: unknown
  EXPECT_EQ(c.st[0].pkts_unk, 1u);
  EXPECT_TRUE(c.a.last_anomaly_without_rtt(0));
  c.seg(0, 900, 100, 9, 100, kAck, 500, 3);  // 600 ms > 500 ms: RTO
  EXPECT_EQ(c.st[0].pkts_rto, 1u);
}

TEST(TcpAnalyzer, ZeroWindowProbeIsFlowControl) {
  Conn c;
  c.handshake(-1, -1);
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);
  c.seg(1, 31, 5001, 1101, 0, kAck, 0, 101);   // receiver window closed
  c.seg(0, 300, 1100, 5001, 1, kAck, 500, 4);  // 1-byte probe (an old byte)
  EXPECT_EQ(c.st[0].pkts_fc, 1u);
  EXPECT_EQ(c.st[1].win_zero, 1u);
}

TEST(TcpAnalyzer, SynAndFinRetransmissions) {
  Conn c;
  c.seg(0, 0, 1000, 0, 0, kSyn, 100, 1);
  c.seg(0, 1000, 1000, 0, 0, kSyn, 100, 2);  // same ISN: a retransmission, no payload bytes
  EXPECT_EQ(c.st[0].pkts_retx, 1u);
  EXPECT_EQ(c.st[0].bytes_retx, 0u);
  EXPECT_EQ(c.st[0].pkts_rto, 1u);  // no RTT sample: RTO 500 ms
  EXPECT_EQ(c.st[0].syn_retx, 0u);
  c.seg(0, 3000, 777, 0, 0, kSyn, 100, 3);  // different ISN
  EXPECT_EQ(c.st[0].syn_retx, 1u);
  c.seg(1, 3010, 5000, 778, 0, kSyn | kAck, 100, 1);
  EXPECT_EQ(c.st[0].rtt_cnt, 1u);
  c.seg(0, 3020, 778, 5001, 0, kAck | kFin, 100, 4);
  c.seg(0, 3500, 778, 5001, 0, kAck | kFin, 100, 5);  // FIN resent: retx, no bytes
  EXPECT_EQ(c.st[0].pkts_retx, 2u);
  EXPECT_EQ(c.st[0].bytes_retx, 0u);
  EXPECT_EQ(c.st[0].syn_retx, 1u);
  c.seg(0, 3600, 779, 5001, 0, kAck | kFin, 100, 6);  // FIN at another sequence number
  EXPECT_EQ(c.st[0].syn_retx, 2u);
  EXPECT_EQ(c.st[0].bytes_uniq, 0u);
}

TEST(TcpAnalyzer, PushMessages) {
  Conn c;
  c.handshake();
  c.seg(0, 21, 1001, 5001, 100, kAck, 500, 3);         // no PSH: part of the next message
  c.seg(0, 22, 1101, 5001, 50, kAck | kPsh, 500, 4);   // message 1
  c.seg(0, 400, 1101, 5001, 50, kAck | kPsh, 500, 5);  // retransmission: no new message
  c.seg(0, 401, 1151, 5001, 10, kAck | kPsh, 500, 6);  // message 2
  c.seg(0, 402, 1161, 5001, 5, kAck | kFin, 500, 7);   // message 3 (FIN)
  EXPECT_EQ(c.st[0].pkts_push, 3u);
}

TEST(TcpAnalyzer, LogFormulas) {
  TcpDirStats s;
  EXPECT_DOUBLE_EQ(rtt_avg_ms(s), 0.0);
  s.rtt_cnt = 1;
  s.rtt_sum_us = 42688;
  s.rtt_sum2_us = 42688.0 * 42688.0;
  EXPECT_NEAR(rtt_avg_ms(s), 42.683732, 1e-6);  // as Tstat 3.3 prints it
  EXPECT_DOUBLE_EQ(rtt_std_ms(s), 0.0);
  s.rtt_cnt = 2;
  s.rtt_sum_us = 13158 + 13271;
  s.rtt_sum2_us = 13158.0 * 13158 + 13271.0 * 13271;
  EXPECT_NEAR(rtt_avg_ms(s), 13.213839, 1e-6);
  EXPECT_DOUBLE_EQ(rtt_std_ms(s), 0.0);  // n <= 2 prints 0
  s.rtt_cnt = 3;
  s.rtt_sum_us = 10000 + 20000 + 30000;
  s.rtt_sum2_us = 1e8 + 4e8 + 9e8;
  EXPECT_NEAR(rtt_std_ms(s), 10.0, 1e-9);  // sample stdev
}

// ---------------------------------------------------------------------------
// Real flows: feed every IPv4 TCP connection of dev captures (from its first
// SYN until Tstat would close it) and compare with Tstat 3.3's log_tcp_complete.
#ifdef NETLOOM_TCP_SEQ_CORPUS
#include <pcap/pcap.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "decode/decode.hpp"
#include "netloom/packet.hpp"

namespace {

std::filesystem::path corpus_dir() { return netloom::test::corpus_root(); }

std::string ip4(const IpAddr& a) {
  return std::to_string(a[0]) + "." + std::to_string(a[1]) + "." + std::to_string(a[2]) + "." +
         std::to_string(a[3]);
}

struct Tracked {
  TcpConnAnalyzer a{100};
  std::array<TcpDirStats, 2> st{};
  IpAddr cip{}, sip{};
  std::uint16_t cport = 0, sport = 0;
  bool closed = false;
  std::array<bool, 2> fin{};
  std::array<std::uint32_t, 2> fin_end{};
  std::array<bool, 2> fin_acked{};
};

// key: "ip:port-ip:port" of the client first
std::map<std::string, Tracked> run_capture(const std::filesystem::path& path) {
  std::map<std::string, Tracked> flows;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (!pc) return flows;
  const int dlt = pcap_datalink(pc);
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(pc, &h, &data) == 1) {
    Packet p;
    p.data = data;
    p.caplen = h->caplen;
    p.wirelen = h->len;
    p.linktype = static_cast<std::uint16_t>(dlt);
    p.ts_ns = static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ull +
              static_cast<std::uint64_t>(h->ts.tv_usec) * 1000ull;
    if (!decode::decode_packet(p) || p.ip_version != 4 || p.l4_proto != 6 || p.l4_off == kNoOffset ||
        p.has(kFragment) || p.l4_off + 20u > p.caplen)
      continue;
    const std::uint8_t* t = p.data + p.l4_off;
    const unsigned thl = (t[12] >> 4) * 4u;
    const unsigned l3l4 = (p.l4_off - p.l3_off) + thl;
    if (thl < 20 || p.ip_len < l3l4) continue;
    TcpSegment s;
    s.ts_ns = p.ts_ns;
    s.seq = (std::uint32_t{t[4]} << 24) | (t[5] << 16) | (t[6] << 8) | t[7];
    s.ack = (std::uint32_t{t[8]} << 24) | (t[9] << 16) | (t[10] << 8) | t[11];
    s.flags = t[13];
    s.window = static_cast<std::uint16_t>((t[14] << 8) | t[15]);
    s.payload_len = p.ip_len - l3l4;
    const std::uint8_t* ip = p.data + p.l3_off;
    s.ip_id = static_cast<std::uint16_t>((ip[4] << 8) | ip[5]);
    s.ttl = p.ttl;
    const unsigned have = std::min<unsigned>(thl, p.caplen - p.l4_off);
    s.options = have > 20 ? t + 20 : nullptr;
    s.options_len = static_cast<std::uint8_t>(have > 20 ? have - 20 : 0);
    const std::string fwd =
        ip4(p.src) + ":" + std::to_string(p.sport) + "-" + ip4(p.dst) + ":" + std::to_string(p.dport);
    const std::string rev =
        ip4(p.dst) + ":" + std::to_string(p.dport) + "-" + ip4(p.src) + ":" + std::to_string(p.sport);
    int dir;
    auto it = flows.find(fwd);
    if (it != flows.end() && !it->second.closed) {
      dir = 0;
    } else if ((it = flows.find(rev)) != flows.end() && !it->second.closed) {
      dir = 1;
    } else if ((s.flags & (kSyn | kAck)) == kSyn) {
      if (flows.count(fwd)) continue;  // keep the first connection of a 4-tuple only
      it = flows.try_emplace(fwd).first;
      dir = 0;
    } else {
      continue;
    }
    Tracked& f = it->second;
    f.a.on_segment(dir, s, f.st);
    // Tstat's close: RST, or both FINs acknowledged.
    if (s.flags & kRst) f.closed = true;
    if (s.flags & kFin) {
      f.fin[dir] = true;
      f.fin_end[dir] = s.seq + s.payload_len + ((s.flags & kSyn) ? 1 : 0) + 1;
    }
    const int o = 1 - dir;
    if ((s.flags & kAck) && f.fin[o] && static_cast<std::int32_t>(s.ack - f.fin_end[o]) >= 0)
      f.fin_acked[o] = true;
    if (f.fin_acked[0] && f.fin_acked[1]) f.closed = true;
  }
  pcap_close(pc);
  return flows;
}

std::vector<std::string> split(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> v;
  for (std::string w; in >> w;) v.push_back(w);
  return v;
}

}  // namespace

TEST(TcpAnalyzerCorpus, MatchesTstatOnRealFlows) {
  const auto logs = corpus_dir() / "dev" / "tstat-3.3";
  if (!std::filesystem::exists(logs))
    GTEST_SKIP() << "corpus not found at " << logs << " (set NETLOOM_CORPUS)";
  // Columns of log_tcp_complete (1-based), per direction: client, server.
  struct Col {
    const char* name;
    int c, s;
  };
  const Col cols[] = {
      {"bytes_uniq", 7, 21}, {"pkts_retx", 10, 24}, {"bytes_retx", 11, 25}, {"pkts_ooo", 12, 26},
      {"rtt_cnt", 49, 56},   {"rtt_min", 46, 53},   {"rtt_max", 47, 54},    {"rtt_avg", 45, 52},
      {"mss", 70, 93},       {"seg_max", 71, 94},   {"seg_min", 72, 95},    {"win_max", 73, 96},
      {"win_min", 74, 97},   {"win_scl", 67, 90},   {"sack_cnt", 69, 92},   {"win_0", 75, 98},
      {"cwin_max", 76, 99},  {"cwin_min", 77, 100}, {"cwin_ini", 78, 101},  {"rto", 79, 102},
      {"unk", 83, 106},      {"syn_retx", 87, 110}};
  std::map<std::string, std::pair<int, int>> score;  // name -> (matches, total)
  int flows_compared = 0;
  std::ostringstream report;
  for (const auto& dir : std::filesystem::directory_iterator(logs)) {
    const auto cap = corpus_dir() / "dev" / dir.path().filename();
    std::ifstream log(dir.path() / "log_tcp_complete");
    if (!log || !std::filesystem::exists(cap)) continue;
    auto flows = run_capture(cap);
    for (std::string line; std::getline(log, line);) {
      if (line.empty() || line[0] == '#') continue;
      const auto w = split(line);
      if (w.size() < 110 || w[0].find(':') != std::string::npos) continue;
      auto it = flows.find(w[0] + ":" + w[1] + "-" + w[14] + ":" + w[15]);
      if (it == flows.end()) continue;
      ++flows_compared;
      // telnet.pcap 192.168.0.2:1550: Tstat reports 6 retransmissions / 152 bytes
      // from the client where the capture holds one (26 bytes, seq 2579866052 at
      // 19.908 s and 20.279 s): a Tstat artefact we do not reproduce.
      if (dir.path().filename() == "telnet.pcap" && w[1] == "1550") continue;
      const auto& st = it->second.st;
      for (const Col& col : cols) {
        if (col.c == 0) continue;
        for (int d = 0; d < 2; ++d) {
          const double want = std::stod(w[(d ? col.s : col.c) - 1]);
          const TcpDirStats& x = st[d];
          double got = 0;
          const std::string n = col.name;
          if (n == "bytes_uniq")
            got = double(x.bytes_uniq);
          else if (n == "pkts_retx")
            got = double(x.pkts_retx);
          else if (n == "bytes_retx")
            got = double(x.bytes_retx);
          else if (n == "pkts_ooo")
            got = double(x.pkts_ooo);
          else if (n == "rtt_cnt")
            got = double(x.rtt_cnt);
          else if (n == "rtt_min")
            got = x.rtt_min_us / 1000.0;
          else if (n == "rtt_max")
            got = x.rtt_max_us / 1000.0;
          else if (n == "rtt_avg")
            got = rtt_avg_ms(x);
          else if (n == "mss")
            got = x.mss;
          else if (n == "seg_max")
            got = double(x.seg_max);
          else if (n == "seg_min")
            got = double(x.seg_min);
          else if (n == "win_max")
            got = double(x.win_max);
          else if (n == "win_min")
            got = double(x.win_min);
          else if (n == "win_scl")
            got = x.win_scale;
          else if (n == "sack_cnt")
            got = double(x.sack_cnt);
          else if (n == "win_0")
            got = double(x.win_zero);
          else if (n == "cwin_max")
            got = double(x.cwin_max);
          else if (n == "cwin_min")
            got = double(x.cwin_min);
          else if (n == "cwin_ini")
            got = double(x.cwin_ini);
          else if (n == "rto")
            got = double(x.pkts_rto);
          else if (n == "unk")
            got = double(x.pkts_unk);
          else if (n == "syn_retx")
            got = double(x.syn_retx);
          const bool ok = std::fabs(got - want) <= 0.0015 + 1e-6 * std::fabs(want);
          auto& sc = score[n];
          sc.second++;
          if (ok)
            sc.first++;
          else
            report << dir.path().filename().string() << " " << w[0] << ":" << w[1] << " " << (d ? "s_" : "c_")
                   << n << " got " << got << " want " << want << "\n";
        }
      }
    }
  }
  if (flows_compared == 0) GTEST_SKIP() << "no comparable flow found";
  std::ostringstream sum;
  for (const auto& [n, sc] : score) sum << n << " " << sc.first << "/" << sc.second << "  ";
  std::cout << "[tcp corpus] " << flows_compared << " flows: " << sum.str() << "\n" << report.str();
  // The sequence accounting must agree exactly on every compared flow.
  for (const char* n : {"bytes_uniq", "pkts_retx", "bytes_retx", "pkts_ooo", "rtt_cnt", "rtt_min", "rtt_max",
                        "rtt_avg", "mss", "seg_max", "seg_min", "win_max", "win_min", "win_scl", "sack_cnt"})
    EXPECT_EQ(score[n].first, score[n].second) << n;
}
#endif
