// The FlowTracker block, loaded from build/plugins/netloom_flow.so and driven
// with a fake Context that fires packet-time timers the way the runtime does.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "pcap_builder.hpp"
#include "pcapio.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::testing;

namespace {

constexpr std::uint64_t kSec = 1000000000ULL;

using test::corpus_root;
using test::FakeContext;

struct Collect : Emit {
  bool keep_batches = true;
  bool keep_records = true;
  std::vector<std::shared_ptr<PacketBatch>> batches;
  std::vector<FlowRecord> records;
  std::uint64_t record_count = 0;
  void operator()(unsigned port, MessagePtr msg) override {
    if (port == 0) {
      if (keep_batches) batches.push_back(std::static_pointer_cast<PacketBatch>(msg));
    } else {
      ASSERT_EQ(port, 1u);
      record_count += msg->as<FlowBatch>().records.size();
      if (keep_records)
        for (const auto& r : msg->as<FlowBatch>().records) records.push_back(r);
    }
  }
};

test::PluginFile& plugin() {
  static test::PluginFile p("netloom_flow.so");
  return p;
}

struct Tracker {
  std::unique_ptr<Block> block;
  FakeContext ctx;
  Collect out;
  std::uint64_t clock = 0;

  explicit Tracker(const std::map<std::string, ParamValue>& over = {}) {
    ctx.id = "trk";
    ctx.batch = 256;
    block = test::make_block(plugin().factory(), ctx, over);
  }
  // What the runtime does before delivering a batch starting at t.
  void advance(std::uint64_t t) {
    if (t <= clock) return;
    clock = t;
    for (auto& tm : ctx.timers) {
      if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
      while (tm.next <= t) {
        block->on_timer(tm.id, tm.next, out);
        tm.next += tm.period;
      }
    }
  }
  void feed(std::shared_ptr<PacketBatch> b) {
    if (!b->packets.empty()) {
      b->clock_ns = b->packets.back().ts_ns;
      advance(b->packets.front().ts_ns);
    }
    block->receive(0, b, out);
  }
  void flush() { block->flush(out); }
  std::uint64_t v(const char* n) { return ctx.value(n); }
};

// A batch of (time, frame) pairs, decoded.
struct Frame {
  std::uint64_t ts;
  Bytes bytes;
};
std::shared_ptr<PacketBatch> make_batch(const std::vector<Frame>& frames) {
  auto b = std::make_shared<PacketBatch>();
  std::size_t total = 0;
  for (const auto& f : frames) total += f.bytes.size();
  b->buffer.reserve(total + 1);
  for (const auto& f : frames) {
    Packet& p = b->append(f.bytes.data(), static_cast<std::uint32_t>(f.bytes.size()));
    p.ts_ns = f.ts;
    p.wirelen = p.caplen;
    p.linktype = 1;
    decode::decode_packet(p);
  }
  return b;
}

// TCP segment between two IPv4 endpoints.
Bytes seg(const char* src, std::uint16_t sp, const char* dst, std::uint16_t dp, std::uint8_t flags,
          std::uint32_t seq, std::uint32_t ack, std::size_t payload = 0) {
  return eth(kEtherIpv4, ipv4(src, dst, kIpTcp, tcp(sp, dp, flags, filler(payload), 0, seq, ack)));
}
Bytes dgram(const char* src, std::uint16_t sp, const char* dst, std::uint16_t dp, std::size_t payload) {
  return eth(kEtherIpv4, ipv4(src, dst, kIpUdp, udp(sp, dp, filler(payload))));
}

constexpr const char* C = "10.0.0.1";
constexpr const char* S = "10.0.0.2";
constexpr std::uint8_t SA = kTcpSyn | kTcpAck, A = kTcpAck, FA = kTcpFin | kTcpAck, PA = kTcpPsh | kTcpAck;

// A 3-way handshake at t0 (client ISN 100, server ISN 500).
std::vector<Frame> handshake(std::uint64_t t0, std::uint16_t cport = 40000) {
  return {{t0, seg(C, cport, S, 80, kTcpSyn, 100, 0)},
          {t0 + 1000, seg(S, 80, C, cport, SA, 500, 101)},
          {t0 + 2000, seg(C, cport, S, 80, A, 101, 501)}};
}

std::vector<FlowEvent> all_events(const Collect& c) {
  std::vector<FlowEvent> ev;
  for (const auto& b : c.batches)
    for (const auto& e : b->events) ev.push_back(e);
  return ev;
}

}  // namespace

TEST(FlowTracker, DescribesItself) {
  BlockInfo info = plugin().factory().info();
  EXPECT_EQ(info.type, "FlowTracker");
  EXPECT_EQ(info.threading, Threading::replicable);
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_TRUE(info.inputs[0].mutates);
  ASSERT_EQ(info.outputs.size(), 2u);
  EXPECT_EQ(info.outputs[1].type, "FlowBatch");
  EXPECT_THROW(Tracker({{"net_file", std::string("/nonexistent.net")}}), ConfigError);
}

TEST(FlowTracker, HandshakeDataFinIsCompleteFin) {
  Tracker r;
  auto f = handshake(kSec);
  f.push_back({kSec + 3000, seg(C, 40000, S, 80, PA, 101, 501, 100)});
  f.push_back({kSec + 4000, seg(S, 80, C, 40000, PA, 501, 201, 300)});
  f.push_back({kSec + 5000, seg(C, 40000, S, 80, FA, 201, 801)});
  f.push_back({kSec + 6000, seg(S, 80, C, 40000, FA, 801, 202)});
  f.push_back({kSec + 7000, seg(C, 40000, S, 80, A, 202, 802)});
  f.push_back({kSec + 8000, seg(C, 40000, S, 80, A, 202, 802)});  // after the close: trash
  r.feed(make_batch(f));
  ASSERT_EQ(r.out.records.size(), 1u);
  const FlowRecord& rec = r.out.records[0];
  EXPECT_EQ(rec.end, FlowEnd::fin);
  EXPECT_TRUE(rec.complete);
  EXPECT_EQ(rec.key.client, addr(C));
  EXPECT_EQ(rec.key.server_port, 80);
  EXPECT_EQ(rec.id, 1u);
  EXPECT_EQ(rec.tcp[0].pkts_all, 5u);
  EXPECT_EQ(rec.tcp[1].pkts_all, 3u);
  EXPECT_EQ(rec.tcp[0].bytes_all, 100u);
  EXPECT_EQ(rec.tcp[1].bytes_all, 300u);
  EXPECT_EQ(rec.tcp[0].syn_cnt, 1u);
  EXPECT_EQ(rec.tcp[0].fin_cnt, 1u);
  EXPECT_EQ(rec.tcp[0].ack_cnt, 4u);
  EXPECT_EQ(rec.tcp[0].ack_cnt_p, 2u);
  EXPECT_EQ(rec.tcp[0].pkts_data, 1u);
  EXPECT_EQ(rec.tcp[0].first_payload_ns, kSec + 3000);
  EXPECT_EQ(rec.tcp[0].first_ack_ns, kSec + 2000);
  EXPECT_EQ(rec.tcp[1].first_ack_ns, kSec + 4000);  // the SYN/ACK does not count
  EXPECT_EQ(rec.tcp[0].ttl_min, 64);
  EXPECT_EQ(rec.first_ns, kSec);
  EXPECT_EQ(rec.last_ns, kSec + 7000);
  EXPECT_EQ(r.v("not_tracked"), 1u);
  EXPECT_EQ(r.v("tcp_complete"), 1u);
  EXPECT_EQ(r.v("active_flows"), 0u);
  // Events: opened before packet 0, closed after packet 7 (the last ACK).
  auto ev = all_events(r.out);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, FlowEvent::Kind::opened);
  EXPECT_EQ(ev[0].at, 0u);
  EXPECT_EQ(ev[1].kind, FlowEvent::Kind::closed);
  EXPECT_EQ(ev[1].at, 8u);
  const auto& b = *r.out.batches[0];
  EXPECT_EQ(b.packets[0].flow, ev[0].flow);
  EXPECT_EQ(b.packets[1].flow_dir, 1);
  EXPECT_EQ(b.packets[8].flow, nullptr);
  ASSERT_EQ(b.retired.size(), 1u);
  EXPECT_EQ(b.retired[0].get(), ev[0].flow);
  EXPECT_EQ(b.retired[0]->record.end, FlowEnd::fin);
}

TEST(FlowTracker, RstClosesCompleteOnlyWithBothSyns) {
  Tracker r;
  auto f = handshake(kSec, 1);
  f.push_back({kSec + 5000, seg(C, 1, S, 80, kTcpRst, 101, 0)});
  // SYN answered by RST/ACK: one SYN only -> nocomplete
  f.push_back({kSec + 6000, seg(C, 2, S, 80, kTcpSyn, 7, 0)});
  f.push_back({kSec + 7000, seg(S, 80, C, 2, kTcpRst | kTcpAck, 0, 8)});
  r.feed(make_batch(f));
  ASSERT_EQ(r.out.records.size(), 2u);
  EXPECT_EQ(r.out.records[0].end, FlowEnd::rst);
  EXPECT_TRUE(r.out.records[0].complete);
  EXPECT_EQ(r.out.records[0].tcp[0].rst_cnt, 1u);
  EXPECT_EQ(r.out.records[1].end, FlowEnd::rst);
  EXPECT_FALSE(r.out.records[1].complete);
  EXPECT_EQ(r.out.records[1].tcp[1].pkts_all, 1u);
  EXPECT_EQ(r.v("tcp_complete"), 1u);
  EXPECT_EQ(r.v("tcp_nocomplete"), 1u);
}

TEST(FlowTracker, SynOnlySingletonAfterTenSeconds) {
  Tracker r;
  r.feed(make_batch({{kSec, seg(C, 1, S, 80, kTcpSyn, 7, 0)},
                     {kSec + 100, seg(C, 2, S, 80, kTcpSyn, 9, 0)},
                     {kSec + 3 * kSec, seg(C, 1, S, 80, kTcpSyn, 7, 0)}}));  // retransmitted SYN
  r.feed(make_batch({{kSec + 12 * kSec, dgram(C, 5, S, 53, 10)}}));  // 9 s after the last SYN of flow 1
  EXPECT_EQ(r.out.records.size(), 1u);  // flow 2 (idle 12 s) is gone, flow 1 (idle 9 s) not yet
  r.feed(make_batch({{kSec + 15 * kSec, dgram(C, 5, S, 53, 10)}}));
  ASSERT_EQ(r.out.records.size(), 2u);
  EXPECT_EQ(r.out.records[0].key.client_port, 2);
  EXPECT_EQ(r.out.records[0].end, FlowEnd::singleton);
  EXPECT_FALSE(r.out.records[0].complete);
  EXPECT_EQ(r.out.records[1].key.client_port, 1);
  EXPECT_EQ(r.out.records[1].tcp[0].syn_cnt, 2u);
  // The timer's closes ride at the start of the next batch.
  auto& b = *r.out.batches[1];
  ASSERT_FALSE(b.events.empty());
  EXPECT_EQ(b.events[0].kind, FlowEvent::Kind::closed);
  EXPECT_EQ(b.events[0].at, 0u);
}

TEST(FlowTracker, SynAckedIsNotASingleton) {
  Tracker r;
  r.feed(make_batch({{kSec, seg(C, 1, S, 80, kTcpSyn, 7, 0)}, {kSec + 10, seg(S, 80, C, 1, SA, 9, 8)}}));
  r.feed(make_batch({{kSec + 60 * kSec, dgram(C, 5, S, 53, 10)}}));
  EXPECT_TRUE(r.out.records.empty());
  r.feed(make_batch({{kSec + 302 * kSec, dgram(C, 5, S, 53, 10)}}));
  ASSERT_EQ(r.out.records.size(), 2u);  // the UDP flow (idle 242 s) and the TCP flow (idle 302 s)
  EXPECT_EQ(r.out.records[0].key.l4_proto, 17);
  EXPECT_EQ(r.out.records[1].end, FlowEnd::idle);
  EXPECT_TRUE(r.out.records[1].complete);  // SYN both ways
}

TEST(FlowTracker, UdpIdleAndSingleton) {
  Tracker r;
  r.feed(make_batch({{kSec, dgram(C, 1000, S, 53, 20)},
                     {kSec + 10, dgram(S, 53, C, 1000, 100)},
                     {kSec + 20, dgram(C, 1001, S, 53, 20)}}));
  r.feed(make_batch({{kSec + 12 * kSec, dgram("10.9.9.9", 1, S, 2, 0)}}));
  ASSERT_EQ(r.out.records.size(), 1u);
  EXPECT_EQ(r.out.records[0].key.client_port, 1001);
  EXPECT_EQ(r.out.records[0].end, FlowEnd::singleton);
  r.feed(make_batch({{kSec + 202 * kSec, dgram("10.9.9.9", 1, S, 2, 0)}}));
  ASSERT_EQ(r.out.records.size(), 3u);  // the 10.9.9.9 flow (1 packet) too
  const FlowRecord* dns = nullptr;
  for (const auto& x : r.out.records)
    if (x.key.client_port == 1000) dns = &x;
  ASSERT_NE(dns, nullptr);
  EXPECT_EQ(dns->end, FlowEnd::idle);
  EXPECT_EQ(dns->udp[0].bytes_all, 20u);
  EXPECT_EQ(dns->udp[1].bytes_all, 100u);
  EXPECT_EQ(dns->udp[1].pkts_all, 1u);
  EXPECT_EQ(dns->udp[1].first_ns, kSec + 10);
  r.flush();
  EXPECT_EQ(r.out.records.size(), 4u);
  EXPECT_EQ(r.out.records.back().end, FlowEnd::end_of_input);
  EXPECT_EQ(r.v("udp_flows"), 4u);
  EXPECT_EQ(r.v("active_flows"), 0u);
}

TEST(FlowTracker, InterimRecordsOfLongFlows) {
  // A UDP flow with a datagram every second for 10 s, interim records every 4 s
  // of packet time: at 4 s and 8 s, each a snapshot of the flow so far; then the
  // final record at the end of input.
  Tracker r({{"interim", std::int64_t{4} * static_cast<std::int64_t>(kSec)}});
  for (std::uint64_t i = 0; i < 10; ++i)
    r.feed(make_batch({{100 * kSec + i * kSec, dgram(C, 5000, S, 5001, 10)}}));
  r.flush();
  ASSERT_EQ(r.out.records.size(), 3u);
  EXPECT_EQ(r.out.records[0].end, FlowEnd::interim);
  EXPECT_EQ(r.out.records[0].udp[0].pkts_all, 4u);  // packets at 100..103 s, before the 104 s boundary
  EXPECT_EQ(r.out.records[1].end, FlowEnd::interim);
  EXPECT_EQ(r.out.records[1].udp[0].pkts_all, 8u);
  EXPECT_EQ(r.out.records[2].end, FlowEnd::end_of_input);
  EXPECT_EQ(r.out.records[2].udp[0].pkts_all, 10u);
  EXPECT_EQ(r.out.records[0].id, r.out.records[2].id);
  EXPECT_EQ(r.v("flows_closed"), 1u);
}

TEST(FlowTracker, HalfDuplexClosesOnClientPayloadWithoutServerSyn) {
  Tracker r;
  r.feed(make_batch({{kSec, seg(C, 1, S, 80, kTcpSyn, 7, 0)},
                     {kSec + 10, seg(C, 1, S, 80, A, 8, 1)},
                     {kSec + 20, seg(C, 1, S, 80, PA, 8, 1, 50)},
                     {kSec + 30, seg(C, 1, S, 80, PA, 58, 1, 50)}}));
  ASSERT_EQ(r.out.records.size(), 1u);
  EXPECT_EQ(r.out.records[0].end, FlowEnd::half_duplex);
  EXPECT_FALSE(r.out.records[0].complete);
  EXPECT_EQ(r.out.records[0].tcp[0].pkts_all, 3u);
  EXPECT_EQ(r.v("not_tracked"), 1u);
}

// tcp_midstream: a connection whose SYN was not captured is tracked from its
// first data segment (sender = client), never complete, never
// half-duplex-closed.
TEST(FlowTracker, MidstreamOpensOnDataSegmentsWhenAsked) {
  const std::vector<Frame> frames = {
      {kSec - 10, seg(C, 1, S, 80, A, 1000, 5000)},  // no data: opens nothing
      {kSec, seg(C, 1, S, 80, PA, 1000, 5000, 40)},      {kSec + 10, seg(S, 80, C, 1, PA, 5000, 1040, 100)},
      {kSec + 20, seg(C, 1, S, 80, PA, 1040, 5100, 40)}, {kSec + 30, seg(S, 80, C, 1, kTcpRst, 5100, 0)},
      {kSec + 40, seg(C, 2, S, 80, kTcpRst, 1, 0)}};
  Tracker off;
  off.feed(make_batch(frames));
  off.flush();
  EXPECT_TRUE(off.out.records.empty());
  EXPECT_EQ(off.v("not_tracked"), 6u);

  Tracker on({{"tcp_midstream", true}});
  on.feed(make_batch(frames));
  on.flush();
  ASSERT_EQ(on.out.records.size(), 1u);  // a lone RST opens nothing
  const FlowRecord& r = on.out.records[0];
  EXPECT_EQ(r.key.client_port, 1);
  EXPECT_TRUE(r.midstream);
  EXPECT_FALSE(r.complete);
  EXPECT_EQ(r.end, FlowEnd::rst);
  EXPECT_EQ(r.tcp[0].pkts_all, 2u);
  EXPECT_EQ(r.tcp[1].pkts_all, 2u);
  EXPECT_EQ(r.tcp[0].bytes_all, 80u);
  EXPECT_EQ(on.v("midstream"), 1u);
  EXPECT_EQ(on.v("not_tracked"), 2u);  // the lone ACK before the data, the lone RST
}

// bittorrent.pcap starts after the handshakes: Tstat's model sees no TCP
// flow; with tcp_midstream every connection nDPI labels is there.
TEST(FlowTrackerCorpus, MidstreamRecoversBittorrentPcap) {
  const fs::path capture = corpus_root() / "dev/bittorrent.pcap";
  if (!fs::exists(capture)) GTEST_SKIP() << capture << " not found (set NETLOOM_CORPUS)";
  for (bool midstream : {false, true}) {
    Tracker t({{"tcp_midstream", midstream}, {"gc_trigger", std::string("new_flow")}});
    t.out.keep_batches = false;
    test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) { t.feed(std::move(b)); });
    t.flush();
    std::size_t tcp = 0;
    for (const auto& r : t.out.records) tcp += r.key.l4_proto == 6;
    EXPECT_EQ(tcp, midstream ? 24u : 0u) << "midstream=" << midstream;
    EXPECT_EQ(t.v("not_tracked"), midstream ? 0u : 299u);
  }
}

TEST(FlowTracker, EndOfInputIsNocomplete) {
  Tracker r;
  r.feed(make_batch(handshake(kSec)));
  r.feed(make_batch({{kSec + 20 * kSec, seg(C, 7, S, 80, kTcpSyn, 1, 0)}}));  // singleton at the end?
  r.feed(make_batch({{kSec + 31 * kSec, dgram(C, 7, S, 80, 1)}}));
  EXPECT_TRUE(r.out.records.empty() || r.out.records.size() == 1u);
  r.flush();
  ASSERT_EQ(r.out.records.size(), 3u);
  std::map<std::uint16_t, FlowEnd> ends;
  for (const auto& x : r.out.records) ends[x.key.client_port] = x.end;
  EXPECT_EQ(ends[7], FlowEnd::end_of_input);  // the UDP flow (port 7 too: compare protos below)
  EXPECT_EQ(ends[40000], FlowEnd::end_of_input);
  for (const auto& x : r.out.records) {
    if (x.key.l4_proto == 6 && x.key.client_port == 7) {
      EXPECT_EQ(x.end, FlowEnd::singleton);
    }
  }
  EXPECT_EQ(r.v("tcp_nocomplete"), 2u);
  // The flush's closes ride on an empty batch of their own.
  ASSERT_FALSE(r.out.batches.empty());
  EXPECT_TRUE(r.out.batches.back()->packets.empty());
  EXPECT_EQ(r.out.batches.back()->retired.size(), r.out.batches.back()->events.size());
}

TEST(FlowTracker, ExternalFlowsAreCountedNotLogged) {
  const std::string nf = (fs::temp_directory_path() / "netloom_flow_test.net").string();
  std::ofstream(nf) << "10.0.0.0/8\n";
  Tracker r({{"net_file", nf}});
  r.feed(make_batch({{kSec, dgram("8.8.8.8", 1, "9.9.9.9", 2, 5)}, {kSec, dgram("8.8.8.8", 1, C, 2, 5)}}));
  r.flush();
  ASSERT_EQ(r.out.records.size(), 1u);
  EXPECT_FALSE(r.out.records[0].internal[0]);
  EXPECT_TRUE(r.out.records[0].internal[1]);
  EXPECT_EQ(r.v("external_dropped"), 1u);
  Tracker all({{"net_file", nf}, {"log_external", true}});
  all.feed(make_batch({{kSec, dgram("8.8.8.8", 1, "9.9.9.9", 2, 5)}}));
  all.flush();
  EXPECT_EQ(all.out.records.size(), 1u);
  fs::remove(nf);
}

TEST(FlowTracker, EvictionPrefersHalfOpenThenOldest) {
  Tracker r({{"max_flows", std::int64_t{3}}});
  auto f = handshake(kSec, 1);                                  // established (oldest)
  f.push_back({kSec + 5000, seg(C, 2, S, 80, kTcpSyn, 1, 0)});  // half open
  f.push_back({kSec + 6000, dgram(C, 3, S, 53, 1)});            // single-packet UDP
  f.push_back({kSec + 7000, dgram(C, 4, S, 53, 1)});            // evicts the SYN-only flow 2
  f.push_back({kSec + 8000, dgram(C, 5, S, 53, 1)});            // evicts UDP 3
  f.push_back({kSec + 9000, dgram(C, 4, S, 53, 1)});            // UDP 4 no longer single
  f.push_back({kSec + 9500, dgram(C, 5, S, 53, 1)});
  f.push_back({kSec + 10000, dgram(C, 6, S, 53, 1)});  // evicts the oldest: TCP 1
  r.feed(make_batch(f));
  ASSERT_EQ(r.out.records.size(), 3u);
  EXPECT_EQ(r.out.records[0].key.client_port, 2);
  EXPECT_EQ(r.out.records[1].key.client_port, 3);
  EXPECT_EQ(r.out.records[2].key.client_port, 1);
  for (const auto& x : r.out.records) {
    EXPECT_EQ(x.end, FlowEnd::evicted);
    EXPECT_FALSE(x.complete);
  }
  EXPECT_EQ(r.v("evicted"), 3u);
  EXPECT_EQ(r.v("active_flows"), 3u);
  // The eviction is announced before the packet that caused it, then that packet's flow opens.
  auto ev = all_events(r.out);
  bool seen = false;
  for (std::size_t i = 0; i + 1 < ev.size(); ++i)
    if (ev[i].kind == FlowEvent::Kind::closed && ev[i].at == 6) {
      EXPECT_EQ(ev[i + 1].kind, FlowEvent::Kind::opened);
      EXPECT_EQ(ev[i + 1].at, 6u);
      seen = true;
    }
  EXPECT_TRUE(seen);

  Tracker refuse({{"max_flows", std::int64_t{1}}, {"eviction", std::string("refuse")}});
  refuse.feed(make_batch({{kSec, dgram(C, 3, S, 53, 1)}, {kSec + 1, dgram(C, 4, S, 53, 1)}}));
  EXPECT_EQ(refuse.v("refused"), 1u);
  EXPECT_EQ(refuse.v("active_flows"), 1u);
  EXPECT_EQ(refuse.out.batches[0]->packets[1].flow, nullptr);
}

TEST(FlowTracker, PassesOtherPacketsThroughCounted) {
  Tracker r;
  Bytes frag = eth(kEtherIpv4, ipv4(C, S, kIpUdp, filler(40), {.frag_offset8 = 10}));
  Bytes icmpf = eth(kEtherIpv4, ipv4(C, S, kIpIcmp, icmp(8, 0)));
  Bytes arp = eth(kEtherArp, filler(28));
  Bytes cut = seg(C, 1, S, 80, kTcpSyn, 1, 0);
  cut.resize(14 + 20 + 10);  // TCP header cut by the capture
  auto b = make_batch({{kSec, frag}, {kSec, icmpf}, {kSec, arp}});
  Packet& p = b->append(cut.data(), static_cast<std::uint32_t>(cut.size()));
  p.ts_ns = kSec;
  p.wirelen = 54;  // cut by the snap length inside the TCP header
  p.linktype = 1;
  decode::decode_packet(p);
  r.feed(b);
  EXPECT_EQ(r.v("packets"), 4u);
  EXPECT_EQ(r.v("fragments"), 1u);
  EXPECT_EQ(r.v("other_packets"), 1u);
  EXPECT_EQ(r.v("not_ip"), 1u);
  EXPECT_EQ(r.v("malformed"), 1u);
  EXPECT_EQ(r.v("flows_opened"), 0u);
}

// ---------------------------------------------------------------------------
// Flood: 1 M distinct SYNs through a table capped at 100 000 flows.

namespace {
long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}
}  // namespace

TEST(FlowTracker, SynFloodStaysWithinTheCap) {
  constexpr std::uint64_t kSyns = 1000000, kCap = 100000;
  Tracker r({{"max_flows", static_cast<std::int64_t>(kCap)}});
  r.out.keep_batches = false;  // batches (and retired flows) die after delivery, as in the runtime
  r.out.keep_records = false;
  const long rss0 = max_rss_kb();
  Bytes frame = seg("10.0.0.1", 1, "192.168.0.1", 80, kTcpSyn, 1, 0);
  std::uint64_t sent = 0;
  std::uint64_t max_active = 0;
  while (sent < kSyns) {
    auto b = std::make_shared<PacketBatch>();
    b->buffer.reserve(256 * frame.size());
    for (int i = 0; i < 256 && sent < kSyns; ++i, ++sent) {
      // distinct (source address, port) per SYN
      frame[14 + 12 + 2] = static_cast<std::uint8_t>(sent >> 24);
      frame[14 + 12 + 3] = static_cast<std::uint8_t>(sent >> 16);
      frame[14 + 20] = static_cast<std::uint8_t>(sent >> 8);
      frame[14 + 21] = static_cast<std::uint8_t>(sent);
      Packet& p = b->append(frame.data(), static_cast<std::uint32_t>(frame.size()));
      p.ts_ns = kSec + sent * 1000;  // 1 µs apart: no timeout fires during the flood
      p.wirelen = p.caplen;
      p.linktype = 1;
      decode::decode_packet(p);
    }
    r.feed(b);
    max_active = std::max(max_active, r.v("active_flows"));
  }
  const long rss1 = max_rss_kb();
  EXPECT_EQ(max_active, kCap);
  EXPECT_EQ(r.v("flows_opened"), kSyns);
  EXPECT_EQ(r.v("evicted"), kSyns - kCap);
  EXPECT_EQ(r.out.record_count, kSyns - kCap);
  r.flush();
  EXPECT_EQ(r.v("flows_closed"), kSyns);
  EXPECT_EQ(r.v("active_flows"), 0u);
  // Bounded by the cap: at most 2 KiB per open flow (docs/flow.md measures
  // ~1.3 KiB) plus slack; 1 M open flows would need ten times that.
  std::cout << "RSS growth " << (rss1 - rss0) / 1024 << " MiB for " << kCap
            << " open flows (sizeof(FlowRecord) " << sizeof(FlowRecord) << ")\n";
#if defined(__SANITIZE_ADDRESS__)
  // AddressSanitizer's redzones and quarantine make RSS meaningless here; the
  // active-flow and eviction counts above still hold.
  (void)rss1;
  (void)rss0;
#else
  EXPECT_LT(rss1 - rss0, static_cast<long>(kCap * 2 + 32 * 1024));
#endif
}

// ---------------------------------------------------------------------------
// The flow set of every dev capture against Tstat 3.3's logs.

namespace {

std::string ip_text(const IpAddr& a, int ver) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(ver == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
  return buf;
}

struct Cmp {
  std::uint64_t c_pkts = 0, c_bytes = 0, s_pkts = 0, s_bytes = 0;
  bool operator==(const Cmp&) const = default;
};
using FlowSet = std::map<std::string, std::vector<Cmp>>;  // "kind c_ip:port s_ip:port" -> flows

std::string describe(const std::string& k, const Cmp& c) {
  std::ostringstream os;
  os << k << " c " << c.c_pkts << "/" << c.c_bytes << " s " << c.s_pkts << "/" << c.s_bytes;
  return os.str();
}

void read_tstat_log(const fs::path& file, const char* kind, bool udp, FlowSet& out) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::vector<std::string> col{""};
    for (std::string t; ls >> t;) col.push_back(t);
    if (col.size() < 24) continue;
    Cmp c;
    std::string key;
    if (udp) {
      key = std::string(kind) + " " + col[1] + ":" + col[2] + " " + col[10] + ":" + col[11];
      c = {std::stoull(col[6]), std::stoull(col[5]), std::stoull(col[15]), std::stoull(col[14])};
    } else {
      key = std::string(kind) + " " + col[1] + ":" + col[2] + " " + col[15] + ":" + col[16];
      c = {std::stoull(col[3]), std::stoull(col[9]), std::stoull(col[17]), std::stoull(col[23])};
    }
    out[key].push_back(c);
  }
}

FlowSet netloom_flows(const fs::path& capture, const std::string& gc_trigger) {
  Tracker r({{"gc_trigger", gc_trigger}});
  r.out.keep_batches = false;
  test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) { r.feed(b); });
  r.flush();
  FlowSet s;
  for (const FlowRecord& f : r.out.records) {
    const int v = f.key.ip_version;
    const char* kind = f.key.l4_proto == 17 ? "udp" : f.complete ? "complete" : "nocomplete";
    std::string key = std::string(kind) + " " + ip_text(f.key.client, v) + ":" +
                      std::to_string(f.key.client_port) + " " + ip_text(f.key.server, v) + ":" +
                      std::to_string(f.key.server_port);
    Cmp c = f.key.l4_proto == 17
                ? Cmp{f.udp[0].pkts_all, f.udp[0].bytes_all, f.udp[1].pkts_all, f.udp[1].bytes_all}
                : Cmp{f.tcp[0].pkts_all, f.tcp[0].bytes_all, f.tcp[1].pkts_all, f.tcp[1].bytes_all};
    s[key].push_back(c);
  }
  return s;
}

// Differences "only in Tstat" / "only in netloom" of two flow sets.
std::vector<std::string> diff(FlowSet tstat, FlowSet ours) {
  std::vector<std::string> out;
  for (auto& [k, list] : tstat) {
    auto& mine = ours[k];
    for (const Cmp& c : list) {
      auto it = std::find(mine.begin(), mine.end(), c);
      if (it != mine.end())
        mine.erase(it);
      else
        out.push_back("tstat only:   " + describe(k, c));
    }
  }
  for (auto& [k, list] : ours)
    for (const Cmp& c : list) out.push_back("netloom only: " + describe(k, c));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST(FlowTrackerCorpus, FlowSetMatchesTstat) {
  const fs::path logs = corpus_root() / "dev/tstat-3.3";
  if (!fs::is_directory(logs)) GTEST_SKIP() << "Tstat logs not found at " << logs << " (set NETLOOM_CORPUS)";
  // Known, explained differences (docs/differences-from-tstat.md): the number
  // of differing lines expected per capture.
  // Compared with gc_trigger=new_flow (Tstat's GC trigger); see also the
  // informational clock-trigger run below.
  const std::map<std::string, std::size_t> known = {
      // Tstat counts 5 client segments whose IPv4 total length exceeds the
      // frame (frames 18, 32, 52, 70, 78: 66-byte frames claiming up to 85
      // payload bytes); netloom's decoder marks them malformed and the
      // tracker does not account them: c 43/289 here vs Tstat's 48/415.
      {"telnet.pcap", 2},
      // Tunnels: netloom's decoder decapsulates GRE, VXLAN, GTP-U and CAPWAP
      // and tracks the inner flows; Tstat (IP-in-IP only) sees the outer
      // UDP datagrams (vxlan: 9 outer UDP flows vs 4 inner flows) or, for GRE
      // and QinQ-tagged frames (rtmp_B, capwap_data, ipv6_in_gtp), nothing.
      {"vxlan.pcap", 13},
      {"gre.pcap", 2},
      {"gre.pcapng", 1},
      {"rtmp_B.pcap", 1},
      {"capwap_data.pcapng", 1},
      {"ipv6_in_gtp.pcap", 1},
  };
  std::size_t captures = 0;
  for (const auto& dir : fs::directory_iterator(logs)) {
    const std::string name = dir.path().filename().string();
    const fs::path capture = corpus_root() / "dev" / name;
    if (!fs::exists(capture)) continue;
    ++captures;
    FlowSet tstat;
    read_tstat_log(dir.path() / "log_tcp_complete", "complete", false, tstat);
    read_tstat_log(dir.path() / "log_tcp_nocomplete", "nocomplete", false, tstat);
    read_tstat_log(dir.path() / "log_udp_complete", "udp", true, tstat);
    auto d = diff(tstat, netloom_flows(capture, "new_flow"));
    auto it = known.find(name);
    const std::size_t expected = it == known.end() ? 0 : it->second;
    std::ostringstream os;
    for (const auto& l : d) os << "  " << l << "\n";
    EXPECT_EQ(d.size(), expected) << name << ":\n" << os.str();
  }
  EXPECT_GT(captures, 30u);
}

// Informational: with the default gc_trigger=clock, single-packet UDP
// broadcasts that Tstat keeps alive (no new flow arrived to trigger its
// collector) are split by netloom. Printed, not asserted.
TEST(FlowTrackerCorpus, ClockTriggerDifferences) {
  const fs::path logs = corpus_root() / "dev/tstat-3.3";
  if (!fs::is_directory(logs)) GTEST_SKIP() << "Tstat logs not found at " << logs << " (set NETLOOM_CORPUS)";
  for (const auto& dir : fs::directory_iterator(logs)) {
    const std::string name = dir.path().filename().string();
    const fs::path capture = corpus_root() / "dev" / name;
    if (!fs::exists(capture)) continue;
    auto a = netloom_flows(capture, "new_flow"), b = netloom_flows(capture, "clock");
    auto d = diff(a, b);
    if (!d.empty()) std::cout << name << ": " << d.size() << " lines differ between gc triggers\n";
  }
}
