// The BayesClassifier block (build/plugins/netloom_bayes_classifier.so) fed
// by a real FlowTracker (netloom_flow.so): synthetic Skype-like flows, and
// the dev captures decoded like PcapSource does, scored against the
// nDPI labels in *.labels.csv.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
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
using test::FakeContext;

namespace {

constexpr std::uint64_t kMs = 1000000ULL;

test::PluginFile& flow_plugin() {
  static test::PluginFile p("netloom_flow.so");
  return p;
}
test::PluginFile& bayes_plugin() {
  static test::PluginFile p("netloom_bayes_classifier.so");
  return p;
}

// FlowTracker -> BayesClassifier, records collected from BayesClassifier.records.
struct Pipeline : Emit {
  FakeContext tctx, bctx;
  std::unique_ptr<Block> tracker, bayes;
  std::vector<FlowRecord> records;
  std::vector<ClassificationEvent> events;
  std::uint64_t clock = 0;
  std::uint64_t forwarded = 0;

  struct BayesOut : Emit {
    Pipeline* p;
    void operator()(unsigned port, MessagePtr msg) override {
      if (port == 0) {
        p->forwarded += msg->items();
      } else if (port == 1) {
        for (const auto& r : msg->as<FlowBatch>().records) p->records.push_back(r);
      } else {
        for (const auto& e : msg->as<ClassificationBatch>().events) p->events.push_back(e);
      }
    }
  } bout;

  explicit Pipeline(const std::map<std::string, ParamValue>& bayes_over = {}) {
    tctx.id = "trk";
    bctx.id = "bayes";
    tracker = test::make_block(flow_plugin().factory(), tctx, {{"gc_trigger", std::string("new_flow")}});
    bayes = test::make_block(bayes_plugin().factory(), bctx, bayes_over);
    bout.p = this;
  }
  // Tracker output: packets go on to the classifier; its own records are ignored.
  void operator()(unsigned port, MessagePtr msg) override {
    if (port == 0) bayes->receive(0, msg, bout);
  }
  void advance(std::uint64_t t) {
    if (t <= clock) return;
    clock = t;
    for (auto& tm : tctx.timers) {
      if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
      while (tm.next <= t) {
        tracker->on_timer(tm.id, tm.next, *this);
        tm.next += tm.period;
      }
    }
  }
  void feed(const std::shared_ptr<PacketBatch>& b) {
    if (b->packets.empty()) return;
    b->clock_ns = b->packets.back().ts_ns;
    advance(b->packets.front().ts_ns);
    tracker->receive(0, b, *this);
  }
  void finish() {
    tracker->flush(*this);
    bayes->flush(bout);
  }
  std::uint64_t v(const char* n) { return bctx.value(n); }
};

struct Frame {
  std::uint64_t ts;
  Bytes bytes;
};
void run_frames(Pipeline& p, std::vector<Frame> frames) {
  std::stable_sort(frames.begin(), frames.end(), [](const Frame& a, const Frame& b) { return a.ts < b.ts; });
  for (std::size_t at = 0; at < frames.size(); at += 64) {
    auto b = std::make_shared<PacketBatch>();
    std::size_t total = 0;
    const std::size_t end = std::min(frames.size(), at + 64);
    for (std::size_t i = at; i < end; ++i) total += frames[i].bytes.size();
    b->buffer.reserve(total + 1);
    for (std::size_t i = at; i < end; ++i) {
      Packet& pk = b->append(frames[i].bytes.data(), static_cast<std::uint32_t>(frames[i].bytes.size()));
      pk.ts_ns = frames[i].ts;
      pk.wirelen = pk.caplen;
      pk.linktype = 1;
      decode::decode_packet(pk);
    }
    p.feed(b);
  }
  p.finish();
}

const char* C = "10.0.0.1";
const char* S = "192.0.2.7";

enum class Kind { e2e, e2o, rtp, random_video };

// One direction of a synthetic UDP voice stream: n packets every gap_ms.
void udp_stream(std::vector<Frame>& out, Kind kind, bool c2s, int n, std::uint64_t gap_ms, std::mt19937& rng,
                std::uint64_t t0 = 1'000'000'000ULL) {
  std::uniform_int_distribution<int> size(60, 160), byte(0, 255);
  const std::uint8_t out_hdr[4] = {0x5a, 0x11, 0x9c, 0x02};
  for (int i = 0; i < n; ++i) {
    Bytes pl(kind == Kind::random_video ? 1200 : size(rng));
    for (auto& x : pl) x = static_cast<std::uint8_t>(byte(rng));
    if (kind == Kind::e2e) {
      pl[2] = static_cast<std::uint8_t>(0x0D | ((byte(rng) & 0x07) << 4));  // function: 0x?D, bit 7 clear
    } else if (kind == Kind::e2o) {
      std::copy(out_hdr, out_hdr + 4, pl.begin());  // same 4 header bytes every packet
    } else if (kind == Kind::rtp) {
      pl[0] = 0x80;
      pl[1] = 0x00;
      pl[2] = static_cast<std::uint8_t>(i >> 8);
      pl[3] = static_cast<std::uint8_t>(i);
    }
    const std::uint64_t ts = t0 + i * gap_ms * kMs + (c2s ? 0 : 7 * kMs);
    out.push_back({ts, c2s ? eth(kEtherIpv4, ipv4(C, S, kIpUdp, udp(40000, 33000, pl)))
                           : eth(kEtherIpv4, ipv4(S, C, kIpUdp, udp(33000, 40000, pl)))});
  }
}

FlowRecord only_record(const Pipeline& p) {
  EXPECT_EQ(p.records.size(), 1u);
  return p.records.empty() ? FlowRecord{} : p.records.front();
}

}  // namespace

TEST(BayesBlock, Describes) {
  const BlockInfo i = bayes_plugin().factory().info();
  EXPECT_EQ(i.type, "BayesClassifier");
  EXPECT_EQ(i.threading, Threading::replicable);
  ASSERT_EQ(i.outputs.size(), 3u);
  EXPECT_EQ(i.outputs[1].type, "FlowBatch");
  EXPECT_EQ(i.outputs[2].type, "ClassificationBatch");
}

TEST(BayesBlock, MissingConfigDirIsOneLine) {
  FakeContext ctx;
  try {
    test::make_block(bayes_plugin().factory(), ctx, {{"config_dir", std::string("/nonexistent/skype")}});
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/skype/pktsize.conf: missing file (cannot open it)");
  }
}

TEST(BayesBlock, SkypeE2EUdp) {
  Pipeline p;  // default config_dir: the shipped files beside the plugin
  std::mt19937 rng(1);
  std::vector<Frame> f;
  udp_stream(f, Kind::e2e, true, 300, 30, rng);
  udp_stream(f, Kind::e2e, false, 300, 30, rng);
  run_frames(p, f);
  const FlowRecord r = only_record(p);
  EXPECT_EQ(r.labels.app, "Skype");
  EXPECT_EQ(r.labels.udp_type[0], 5);
  EXPECT_EQ(r.labels.udp_type[1], 5);
  EXPECT_EQ(p.v("flows_seen"), 1u);
  EXPECT_EQ(p.v("flows_classified"), 1u);
  EXPECT_EQ(p.v("skype_e2e"), 2u);
  EXPECT_EQ(p.v("skype_e2o"), 0u);
  EXPECT_EQ(p.forwarded, 600u);
  // The verdict is also an event, and the record carries log_skype_complete's figures.
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].label, "Skype");
  EXPECT_EQ(p.events[0].classifier, "BayesClassifier");
  EXPECT_EQ(p.events[0].packets, 600u);
  EXPECT_EQ(p.events[0].flow_id, r.id);
  ASSERT_TRUE(r.skype);
  EXPECT_FALSE(r.skype->tcp);
  for (int d = 0; d < 2; ++d) {
    const SkypeDirFacts& x = r.skype->dir[d];
    EXPECT_EQ(x.pkts, 300u);
    EXPECT_EQ(x.e2e + x.out + x.sig + x.unknown, 300u);
    EXPECT_GT(x.e2e, 270u);  // > 90 % E2E data: the deterministic rule's threshold
    EXPECT_EQ(x.udp_type, 5);
    EXPECT_EQ(x.bayes_flag, 1);
    EXPECT_EQ(x.chi_class, 5);
    EXPECT_LT(x.chi_max_e2e_hdr, 150.0);
    EXPECT_GE(x.chi_min_e2e_hdr, 100.0);
    EXPECT_LT(x.chi_max_payload, 150.0);
    EXPECT_EQ(x.bytes, r.udp[d].bytes_all);
  }
}

TEST(BayesBlock, SkypeOutUdp) {
  Pipeline p;
  std::mt19937 rng(2);
  std::vector<Frame> f;
  udp_stream(f, Kind::e2o, true, 250, 20, rng);
  udp_stream(f, Kind::e2o, false, 250, 20, rng);
  run_frames(p, f);
  const FlowRecord r = only_record(p);
  EXPECT_EQ(r.labels.app, "Skype");
  EXPECT_EQ(r.labels.udp_type[0], 6);
  EXPECT_EQ(r.labels.udp_type[1], 6);
  EXPECT_EQ(p.v("skype_e2o"), 2u);
}

TEST(BayesBlock, WrongRateIsNotSkype) {
  // Skype-like headers, but one packet every 100 ms: AVGIPG fails.
  Pipeline p;
  std::mt19937 rng(3);
  std::vector<Frame> f;
  udp_stream(f, Kind::e2e, true, 300, 100, rng);
  run_frames(p, f);
  const FlowRecord r = only_record(p);
  EXPECT_EQ(r.labels.app, "");
  EXPECT_EQ(r.labels.udp_type[0], 5);  // deterministic type and chi2 agree: logged as SKYPE_E2E (§4.3)
  EXPECT_EQ(p.v("flows_classified"), 0u);
}

TEST(BayesBlock, RtpAndBulkAreNotSkype) {
  Pipeline p;
  std::mt19937 rng(4);
  std::vector<Frame> f;
  udp_stream(f, Kind::rtp, true, 300, 20, rng);
  run_frames(p, f);
  EXPECT_EQ(only_record(p).labels.app, "");
  EXPECT_EQ(only_record(p).labels.udp_type[0], 0);
  Pipeline q;
  std::vector<Frame> g;
  udp_stream(g, Kind::random_video, true, 300, 30, rng);
  run_frames(q, g);
  EXPECT_EQ(only_record(q).labels.app, "");
  EXPECT_EQ(q.v("flows_classified"), 0u);
}

TEST(BayesBlock, ShortFlowIsNotTyped) {
  Pipeline p;
  std::mt19937 rng(5);
  std::vector<Frame> f;
  udp_stream(f, Kind::e2e, true, 9, 30, rng);  // < 10 packets: no deterministic type
  run_frames(p, f);
  EXPECT_EQ(only_record(p).labels.udp_type[0], 0);
  EXPECT_EQ(only_record(p).labels.app, "");
}

TEST(BayesBlock, SkypeTcp) {
  Pipeline p;
  std::mt19937 rng(6);
  std::uniform_int_distribution<int> size(60, 160), byte(0, 255);
  std::vector<Frame> f;
  const std::uint64_t t0 = 5'000'000'000ULL;
  std::uint32_t cseq = 100, sseq = 500;
  f.push_back({t0, eth(kEtherIpv4, ipv4(C, S, kIpTcp, tcp(40001, 443, kTcpSyn, {}, 0, cseq, 0)))});
  f.push_back({t0 + kMs, eth(kEtherIpv4,
                             ipv4(S, C, kIpTcp, tcp(443, 40001, kTcpSyn | kTcpAck, {}, 0, sseq, cseq + 1)))});
  f.push_back({t0 + 2 * kMs,
               eth(kEtherIpv4, ipv4(C, S, kIpTcp, tcp(40001, 443, kTcpAck, {}, 0, cseq + 1, sseq + 1)))});
  ++cseq;
  ++sseq;
  std::uint64_t t = t0 + 10 * kMs;
  for (int i = 0; i < 200; ++i, t += 30 * kMs) {
    for (int d = 0; d < 2; ++d) {
      Bytes pl(size(rng));
      for (auto& x : pl) x = static_cast<std::uint8_t>(byte(rng));
      const std::uint64_t ts = t + d * 5 * kMs;
      if (d == 0) {
        f.push_back(
            {ts, eth(kEtherIpv4, ipv4(C, S, kIpTcp, tcp(40001, 443, kTcpAck | kTcpPsh, pl, 0, cseq, sseq)))});
        cseq += static_cast<std::uint32_t>(pl.size());
      } else {
        f.push_back(
            {ts, eth(kEtherIpv4, ipv4(S, C, kIpTcp, tcp(443, 40001, kTcpAck | kTcpPsh, pl, 0, sseq, cseq)))});
        sseq += static_cast<std::uint32_t>(pl.size());
      }
    }
  }
  run_frames(p, f);
  const FlowRecord r = only_record(p);
  EXPECT_EQ(r.labels.con_type & 512u, 512u);
  EXPECT_EQ(r.labels.app, "Skype");
  EXPECT_EQ(p.v("skype_tcp"), 2u);
}

// ------------------------------------------------------------- dev corpus

namespace {

std::string ip_text(const IpAddr& a, int v) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(v == 6 ? AF_INET6 : AF_INET, a.data(), buf, sizeof buf);
  return buf;
}
std::string endpoint(const std::string& ip, std::uint16_t port) { return ip + ":" + std::to_string(port); }
std::string strip(std::string s) {
  // "[v6]:port" -> "v6:port"
  if (!s.empty() && s[0] == '[') {
    s.erase(0, 1);
    const auto b = s.find(']');
    if (b != std::string::npos) s.erase(b, 1);
  }
  return s;
}

std::vector<std::string> split(const std::string& l) {
  std::vector<std::string> c;
  std::string cur;
  for (char ch : l) {
    if (ch == ',') {
      c.push_back(cur);
      cur.clear();
    } else {
      cur += ch;
    }
  }
  c.push_back(cur);
  return c;
}

// l4 + sorted endpoints -> nDPI label
std::multimap<std::string, std::string> read_labels(const fs::path& csv) {
  std::multimap<std::string, std::string> m;
  std::ifstream in(csv);
  std::string l;
  std::getline(in, l);
  while (std::getline(in, l)) {
    auto c = split(l);
    if (c.size() < 11) continue;
    std::string a = strip(c[4]), b = strip(c[5]);
    if (b < a) std::swap(a, b);
    m.emplace(c[3] + " " + a + " " + b, c[10]);
  }
  return m;
}

struct Score {
  std::size_t skype_flows = 0, skype_found = 0;  // recall (label Skype_Teams*)
  std::size_t related = 0, related_found = 0;    // DNS/TLS to Skype hosts (informational)
  std::size_t udp_negative = 0, udp_fp = 0, tcp_negative = 0, tcp_fp = 0;
  std::uint64_t classified = 0;
  std::uint64_t skype_max_dir_pkts = 0;  // largest direction of a Skype-labelled flow
  std::vector<std::string> fp_lines;
};

void score_capture(const fs::path& capture, Score& s) {
  Pipeline p;
  test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) { p.feed(b); });
  p.finish();
  s.classified += p.v("flows_classified");
  auto labels = read_labels(fs::path(capture.string() + ".labels.csv"));
  for (const FlowRecord& r : p.records) {
    if (r.end == FlowEnd::interim) continue;
    const bool udp = r.key.l4_proto == 17;
    if (!udp && r.key.l4_proto != 6) continue;
    const int v = r.key.ip_version;
    std::string a = endpoint(ip_text(r.key.client, v), r.key.client_port),
                bb = endpoint(ip_text(r.key.server, v), r.key.server_port);
    if (bb < a) std::swap(a, bb);
    auto it = labels.find(std::string(udp ? "UDP" : "TCP") + " " + a + " " + bb);
    const std::string label = it == labels.end() ? "" : it->second;
    const bool found = r.labels.app == "Skype";
    if (label.rfind("Skype_Teams", 0) == 0) {
      ++s.skype_flows;
      s.skype_found += found;
      for (int d = 0; d < 2; ++d)
        s.skype_max_dir_pkts = std::max(s.skype_max_dir_pkts, udp ? r.udp[d].pkts_all : r.tcp[d].pkts_all);
    } else if (label.find("Skype") != std::string::npos) {
      ++s.related;
      s.related_found += found;
    } else {
      (udp ? s.udp_negative : s.tcp_negative)++;
      if (found) {
        (udp ? s.udp_fp : s.tcp_fp)++;
        s.fp_lines.push_back(capture.filename().string() + " " + a + " " + bb + " label '" + label + "'");
      }
    }
  }
}

}  // namespace

TEST(BayesCorpus, RecallAndFalsePositives) {
  const fs::path dev = test::corpus_root() / "dev";
  if (!fs::is_directory(dev)) GTEST_SKIP() << "corpus not found at " << dev << " (set NETLOOM_CORPUS)";
  Score skype, other;
  std::size_t captures = 0;
  for (const auto& e : fs::directory_iterator(dev)) {
    const std::string ext = e.path().extension().string();
    if (ext != ".pcap" && ext != ".pcapng") continue;
    if (!fs::exists(e.path().string() + ".labels.csv")) continue;
    ++captures;
    const std::string name = e.path().filename().string();
    score_capture(e.path(), name.rfind("skype", 0) == 0 ? skype : other);
  }
  ASSERT_GT(captures, 30u);
  Score all = other;
  all.udp_negative += skype.udp_negative;
  all.udp_fp += skype.udp_fp;
  all.tcp_negative += skype.tcp_negative;
  all.tcp_fp += skype.tcp_fp;
  for (auto& l : skype.fp_lines) all.fp_lines.push_back(l);
  std::cout << "[bayes] captures " << captures << "\n"
            << "[bayes] Skype recall (label Skype_Teams*, skype_B + skype_udp): " << skype.skype_found << "/"
            << skype.skype_flows << " (largest direction of those flows: " << skype.skype_max_dir_pkts
            << " packets; the typing needs >= 10, AVGIPG >= 30, E2E/OUT > 100)\n"
            << "[bayes] Skype-related flows (DNS/TLS to Skype hosts) labelled Skype: " << skype.related_found
            << "/" << skype.related << "\n"
            << "[bayes] UDP false positives: " << all.udp_fp << "/" << all.udp_negative << "\n"
            << "[bayes] TCP false positives: " << all.tcp_fp << "/" << all.tcp_negative << "\n";
  for (const auto& l : all.fp_lines) std::cout << "[bayes]   FP " << l << "\n";
  EXPECT_GT(skype.skype_flows, 50u);  // the labels were matched to netloom's flows
  ASSERT_GT(all.udp_negative, 100u);
  EXPECT_LE(static_cast<double>(all.udp_fp), 0.01 * static_cast<double>(all.udp_negative));
}
