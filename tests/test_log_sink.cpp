// The LogSink block, loaded from build/plugins/netloom_logs.so and fed
// hand-built FlowRecords through a minimal fake Context. Expected lines are
// real Tstat 3.3 output (tests/../shared/corpus/dev/tstat-3.3) or computed by hand.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "block_harness.hpp"
#include "netloom/netloom.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

// ---- expected text: Tstat 3.3's headers, copied from its logs ----------------

const char* const kTcpCompleteHeader =
    "#15#c_ip:1 c_port:2 c_pkts_all:3 c_rst_cnt:4 c_ack_cnt:5 c_ack_cnt_p:6 c_bytes_uniq:7 c_pkts_data:8 "
    "c_bytes_all:9 c_pkts_retx:10 c_bytes_retx:11 c_pkts_ooo:12 c_syn_cnt:13 c_fin_cnt:14 s_ip:15 s_port:16 "
    "s_pkts_all:17 s_rst_cnt:18 s_ack_cnt:19 s_ack_cnt_p:20 s_bytes_uniq:21 s_pkts_data:22 s_bytes_all:23 "
    "s_pkts_retx:24 s_bytes_retx:25 s_pkts_ooo:26 s_syn_cnt:27 s_fin_cnt:28 first:29 last:30 durat:31 "
    "c_first:32 s_first:33 c_last:34 s_last:35 c_first_ack:36 s_first_ack:37 c_isint:38 s_isint:39 "
    "c_iscrypto:40 s_iscrypto:41 con_t:42 p2p_t:43 http_t:44 c_rtt_avg:45 c_rtt_min:46 c_rtt_max:47 "
    "c_rtt_std:48 c_rtt_cnt:49 c_ttl_min:50 c_ttl_max:51 s_rtt_avg:52 s_rtt_min:53 s_rtt_max:54 s_rtt_std:55 "
    "s_rtt_cnt:56 s_ttl_min:57 s_ttl_max:58 p2p_st:59 ed2k_data:60 ed2k_sig:61 ed2k_c2s:62 ed2k_c2c:63 "
    "ed2k_chat:64 c_f1323_opt:65 c_tm_opt:66 c_win_scl:67 c_sack_opt:68 c_sack_cnt:69 c_mss:70 c_mss_max:71 "
    "c_mss_min:72 c_win_max:73 c_win_min:74 c_win_0:75 c_cwin_max:76 c_cwin_min:77 c_cwin_ini:78 "
    "c_pkts_rto:79 c_pkts_fs:80 c_pkts_reor:81 c_pkts_dup:82 c_pkts_unk:83 c_pkts_fc:84 c_pkts_unrto:85 "
    "c_pkts_unfs:86 c_syn_retx:87 s_f1323_opt:88 s_tm_opt:89 s_win_scl:90 s_sack_opt:91 s_sack_cnt:92 "
    "s_mss:93 s_mss_max:94 s_mss_min:95 s_win_max:96 s_win_min:97 s_win_0:98 s_cwin_max:99 s_cwin_min:100 "
    "s_cwin_ini:101 s_pkts_rto:102 s_pkts_fs:103 s_pkts_reor:104 s_pkts_dup:105 s_pkts_unk:106 "
    "s_pkts_fc:107 s_pkts_unrto:108 s_pkts_unfs:109 s_syn_retx:110 http_req_cnt:111 http_res_cnt:112 "
    "http_res:113 c_pkts_push:114 s_pkts_push:115 c_tls_SNI:116 s_tls_SCN:117 c_npnalpn:118 s_npnalpn:119 "
    "tls_session_stat:120 c_last_handshakeT:121 s_last_handshakeT:122 c_appdataT:123 s_appdataT:124 "
    "c_appdataB:125 s_appdataB:126 fqdn:127 dns_rslv:128 req_tm:129 res_tm:130 http_hostname:131 "
    "c_TLSvers:132 s_TLSvers:133 dns_enc:134\n";

const char* const kTcpNocompleteHeader =
    "#15#c_ip:1 c_port:2 c_pkts_all:3 c_rst_cnt:4 c_ack_cnt:5 c_ack_cnt_p:6 c_bytes_uniq:7 c_pkts_data:8 "
    "c_bytes_all:9 c_pkts_retx:10 c_bytes_retx:11 c_pkts_ooo:12 c_syn_cnt:13 c_fin_cnt:14 s_ip:15 s_port:16 "
    "s_pkts_all:17 s_rst_cnt:18 s_ack_cnt:19 s_ack_cnt_p:20 s_bytes_uniq:21 s_pkts_data:22 s_bytes_all:23 "
    "s_pkts_retx:24 s_bytes_retx:25 s_pkts_ooo:26 s_syn_cnt:27 s_fin_cnt:28 first:29 last:30 durat:31 "
    "c_first:32 s_first:33 c_last:34 s_last:35 c_first_ack:36 s_first_ack:37 c_isint:38 s_isint:39 "
    "c_iscrypto:40 s_iscrypto:41 con_t:42 p2p_t:43 http_t:44\n";

const char* const kUdpHeader =
    "#c_ip:1 c_port:2 c_first_abs:3 c_durat:4 c_bytes_all:5 c_pkts_all:6 c_isint:7 c_iscrypto:8 c_type:9 "
    "s_ip:10 s_port:11 s_first_abs:12 s_durat:13 s_bytes_all:14 s_pkts_all:15 s_isint:16 s_iscrypto:17 "
    "s_type:18 fqdn:19 quic_SNI:20 quic_UA:21 quic_c_vers:22 quic_s_vers:23 quic_zero_rtt:24 quic_ech:25\n";

// gnutella_B.pcap/log_tcp_complete, line 2
const char* const kTcpCompleteLine =
    "10.0.2.15 50199 5 0 4 2 598 1 598 0 0 0 1 1 47.147.52.21 36728 4 0 4 2 0 0 0 0 0 0 1 1 63001.980000 "
    "63445.570000 443.590000 259.301000 0.000000 259.301000 0.000000 232.228000 259.432000 1 1 0 0 0 0 0 "
    "77.422086 0.131000 232.006000 133.871362 3 128 128 0.191490 0.161000 0.222000 0.000000 2 64 64 0 0 0 0 "
    "0 0 1 0 0 1 0 1460 598 598 64240 64240 0 598 598 598 0 0 0 0 0 0 0 0 0 0 0 0 0 0 1460 0 0 65535 65535 0 "
    "0 0 0 0 0 0 0 0 0 0 0 0 0 0 --- 1 0 - - 0 0 0 0.000000 0.000000 0.000000 0.000000 0 0 - - 0.0 0.0 - - - "
    "0\n";

// gnutella_B.pcap/log_tcp_nocomplete, line 2
const char* const kTcpNocompleteLine =
    "10.0.2.15 50202 1 0 0 0 0 0 0 0 0 0 1 0 61.238.173.128 57648 1 1 1 0 0 0 0 0 0 0 0 0 64030.714000 "
    "64213.365000 182.651000 0.000000 0.000000 0.000000 0.000000 0.000000 0.000000 1 1 0 0 0 0 0\n";

// FAX-Call-t38-CA-TDM-SIP-FB-1.pcap/log_udp_complete and gnutella_B.pcap/log_udp_complete
const char* const kUdpLine =
    "10.35.40.22 2944 1228468937630.923096 109.251008 5058 65 1 0 0 10.23.1.42 2944 1228468937633.502930 "
    "109.250691 13052 65 1 0 0 - - - - - 0 0\n";
const char* const kUdp6Line =
    "fe80::c50d:519f:96a4:e108 63717 12529.920000 0.000000 29 1 1 0 19 ff02::1:3 5355 0.000000 0.000000 0 0 "
    "1 0 0 - - - - - 0 0\n";

// ---- records ---------------------------------------------------------------

constexpr std::uint64_t us(std::uint64_t v) { return v * 1000; }

IpAddr v4(const char* s) {
  IpAddr a{};
  inet_pton(AF_INET, s, a.data());
  return a;
}
IpAddr v6(const char* s) {
  IpAddr a{};
  inet_pton(AF_INET6, s, a.data());
  return a;
}

FlowRecord tcp_complete() {
  FlowRecord r;
  r.key = {v4("10.0.2.15"), v4("47.147.52.21"), 50199, 36728, 4, 6};
  r.complete = true;
  r.end = FlowEnd::fin;
  r.internal = {true, true};
  r.first_ns = us(63001980);
  r.last_ns = us(63445570);
  auto& c = r.tcp[0];
  auto& s = r.tcp[1];
  c.pkts_all = 5, c.ack_cnt = 4, c.ack_cnt_p = 2, c.bytes_uniq = 598, c.pkts_data = 1, c.bytes_all = 598;
  c.syn_cnt = 1, c.fin_cnt = 1;
  s.pkts_all = 4, s.ack_cnt = 4, s.ack_cnt_p = 2, s.syn_cnt = 1, s.fin_cnt = 1;
  c.first_payload_ns = r.first_ns + us(259301);
  c.last_payload_ns = r.first_ns + us(259301);
  c.first_ack_ns = r.first_ns + us(232228);
  s.first_ack_ns = r.first_ns + us(259432);
  // RTT samples 131, 232006, 137 µs and 161, 222 µs
  c.rtt_cnt = 3, c.rtt_sum_us = 232274, c.rtt_sum2_us = 53826819966.0, c.rtt_min_us = 131,
  c.rtt_max_us = 232006;
  s.rtt_cnt = 2, s.rtt_sum_us = 383, s.rtt_sum2_us = 161.0 * 161 + 222.0 * 222, s.rtt_min_us = 161,
  s.rtt_max_us = 222;
  c.ttl_min = c.ttl_max = 128;
  s.ttl_min = s.ttl_max = 64;
  c.ws_requested = true, c.sack_requested = true, c.mss = 1460, c.seg_max = 598, c.seg_min = 598;
  c.win_max = c.win_min = 64240, c.cwin_max = c.cwin_min = c.cwin_ini = 598;
  s.mss = 1460, s.win_max = s.win_min = 65535;
  c.pkts_push = 1;
  return r;
}

FlowRecord tcp_nocomplete() {
  FlowRecord r;
  r.key = {v4("10.0.2.15"), v4("61.238.173.128"), 50202, 57648, 4, 6};
  r.complete = false;
  r.end = FlowEnd::rst;
  r.internal = {true, true};
  r.first_ns = us(64030714);
  r.last_ns = us(64213365);
  r.tcp[0].pkts_all = 1, r.tcp[0].syn_cnt = 1;
  r.tcp[1].pkts_all = 1, r.tcp[1].rst_cnt = 1, r.tcp[1].ack_cnt = 1;
  return r;
}

FlowRecord udp_sip() {
  FlowRecord r;
  r.key = {v4("10.35.40.22"), v4("10.23.1.42"), 2944, 2944, 4, 17};
  r.complete = true;
  r.end = FlowEnd::end_of_input;
  r.internal = {true, true};
  r.udp[0] = {us(1228468937630923), us(1228468937630923 + 109251008), 5058, 65};
  r.udp[1] = {us(1228468937633503), us(1228468937633503 + 109250691), 13052, 65};
  r.first_ns = r.udp[0].first_ns;
  r.last_ns = r.udp[1].last_ns;
  return r;
}

FlowRecord udp_v6() {
  FlowRecord r;
  r.key = {v6("fe80::c50d:519f:96a4:e108"), v6("ff02::1:3"), 63717, 5355, 6, 17};
  r.internal = {true, true};
  r.labels.udp_type = {19, 0};
  r.udp[0] = {us(12529920), us(12529920), 29, 1};
  r.first_ns = r.last_ns = r.udp[0].first_ns;
  return r;
}

// ---- plumbing ----------------------------------------------------------------

using test::FakeContext;

struct NoEmit : Emit {
  void operator()(unsigned, MessagePtr) override { ADD_FAILURE() << "LogSink has no outputs"; }
};

test::PluginFile& plugin() {
  static test::PluginFile p("netloom_logs.so");
  return p;
}

using test::make_params;

struct Run {
  std::unique_ptr<Block> block;
  FakeContext ctx;
  NoEmit emit;
  void feed(std::vector<FlowRecord> recs, std::uint64_t clock_ns = 0) {
    auto b = std::make_shared<FlowBatch>();
    b->records = std::move(recs);
    b->clock_ns = clock_ns;
    block->receive(0, b, emit);
  }
  void flush() { block->flush(emit); }
};

std::unique_ptr<Run> start(const std::map<std::string, ParamValue>& over) {
  auto r = std::make_unique<Run>();
  BlockInfo info = plugin().factory().info();
  for (const auto& c : info.counters) r->ctx.counters[c.name];
  r->block.reset(plugin().factory().create());
  r->block->configure(make_params(info, over), r->ctx);
  return r;
}

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  EXPECT_TRUE(f) << "missing " << p;
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::string gunzip(const fs::path& p) {
  gzFile g = gzopen(p.c_str(), "rb");
  EXPECT_NE(g, nullptr) << p;
  if (!g) return {};
  std::string out;
  char buf[4096];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  int err = 0;
  gzerror(g, &err);
  EXPECT_EQ(err, Z_OK) << "gzip stream of " << p << " is not complete";
  EXPECT_EQ(gzclose(g), Z_OK);
  return out;
}

// A fresh scratch directory per test.
fs::path scratch(const std::string& name) {
  fs::path d = fs::temp_directory_path() / ("netloom_logsink_" + std::to_string(::getpid())) / name;
  fs::remove_all(d);
  return d;
}

// Removes the scratch directories at the end of the test program.
struct ScratchCleanup : ::testing::Environment {
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(fs::temp_directory_path() / ("netloom_logsink_" + std::to_string(::getpid())), ec);
  }
};
const auto* const kCleanup = ::testing::AddGlobalTestEnvironment(new ScratchCleanup);

class LogSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
};

// 2020-02-23 12:06:00 UTC
constexpr std::uint64_t kT0 = 1582459560ull * 1'000'000'000;
constexpr std::uint64_t kHour = 3600ull * 1'000'000'000;

FlowRecord at(FlowRecord r, std::uint64_t t) {  // shift a record's times to start at t
  std::int64_t d = static_cast<std::int64_t>(t) - static_cast<std::int64_t>(r.first_ns);
  auto sh = [d](std::uint64_t& x) {
    if (x) x = static_cast<std::uint64_t>(static_cast<std::int64_t>(x) + d);
  };
  sh(r.first_ns), sh(r.last_ns);
  for (auto& t2 : r.tcp) sh(t2.first_payload_ns), sh(t2.last_payload_ns), sh(t2.first_ack_ns);
  for (auto& u : r.udp) sh(u.first_ns), sh(u.last_ns);
  return r;
}

// ---- tests -------------------------------------------------------------------

TEST_F(LogSinkTest, DescribesItself) {
  BlockInfo i = plugin().factory().info();
  EXPECT_EQ(i.type, "LogSink");
  EXPECT_EQ(i.threading, Threading::serial);
  ASSERT_EQ(i.inputs.size(), 2u);
  EXPECT_EQ(i.inputs[0].type, "FlowBatch");
  EXPECT_EQ(i.inputs[1].type, "PacketBatch");
  EXPECT_FALSE(i.inputs[0].required);
  EXPECT_FALSE(i.inputs[1].required);
  EXPECT_TRUE(i.outputs.empty());
  std::vector<std::string> counters;
  for (const auto& c : i.counters) counters.push_back(c.name);
  for (const char* c : {"tcp_complete", "tcp_nocomplete", "udp", "bytes_written", "write_errors"})
    EXPECT_NE(std::find(counters.begin(), counters.end(), c), counters.end()) << c;
}

TEST_F(LogSinkTest, TstatLinesAndHeadersAreByteIdentical) {
  fs::path d = scratch("tstat");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  r->feed({tcp_complete(), tcp_nocomplete()});
  r->feed({udp_sip(), udp_v6()});
  r->flush();
  EXPECT_EQ(slurp(d / "log_tcp_complete"), std::string(kTcpCompleteHeader) + kTcpCompleteLine);
  EXPECT_EQ(slurp(d / "log_tcp_nocomplete"), std::string(kTcpNocompleteHeader) + kTcpNocompleteLine);
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdpLine + kUdp6Line);
  EXPECT_EQ(r->ctx.value("tcp_complete"), 1u);
  EXPECT_EQ(r->ctx.value("tcp_nocomplete"), 1u);
  EXPECT_EQ(r->ctx.value("udp"), 2u);
  EXPECT_EQ(r->ctx.value("write_errors"), 0u);
  std::uint64_t total = 0;
  for (const char* f : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"})
    total += fs::file_size(d / f);
  EXPECT_EQ(r->ctx.value("bytes_written"), total);
}

TEST_F(LogSinkTest, HeadersMatchTheCorpusWhenPresent) {
  fs::path dir = fs::path(NETLOOM_CORPUS_DEFAULT) / "dev/tstat-3.3/gnutella_B.pcap";
  if (!fs::exists(dir)) GTEST_SKIP() << "corpus not found at " << dir;
  auto first_line = [](const fs::path& p) {
    std::ifstream f(p);
    std::string l;
    std::getline(f, l);
    return l + "\n";
  };
  EXPECT_EQ(first_line(dir / "log_tcp_complete"), kTcpCompleteHeader);
  EXPECT_EQ(first_line(dir / "log_tcp_nocomplete"), kTcpNocompleteHeader);
  EXPECT_EQ(first_line(dir / "log_udp_complete"), kUdpHeader);
}

TEST_F(LogSinkTest, IPv6TcpAndUnseenEventsPrintZero) {
  fs::path d = scratch("v6");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"tcp_log_mask", std::int64_t{0}}});
  FlowRecord f;
  f.key = {v6("2001:db8::1"), v6("2001:db8:0:0:1::2"), 40000, 443, 6, 6};
  f.complete = true;
  f.internal = {true, false};
  f.crypto = {false, true};
  f.labels.con_type = 8192 | 1;  // SSL + HTTP: http_t = http_type + 1
  f.labels.http_type = 4;
  f.labels.p2p_type = 917;  // ipp2p BIT (9), subtype 17 -> p2p_t 9
  f.first_ns = 1'000'000'000'123'456'000;
  f.last_ns = f.first_ns + 1'500'000;          // 1.5 ms
  f.tcp[1].first_payload_ns = f.first_ns - 1;  // before the first packet: elapsed() gives 0
  f.tcp[0].first_ack_ns = f.first_ns + 250'000;
  f.tcp[0].pkts_all = 3;
  r->feed({f});
  r->flush();
  EXPECT_EQ(
      slurp(d / "log_tcp_complete"),
      "#00#c_ip:1 c_port:2 c_pkts_all:3 c_rst_cnt:4 c_ack_cnt:5 c_ack_cnt_p:6 c_bytes_uniq:7 "
      "c_pkts_data:8 c_bytes_all:9 c_pkts_retx:10 c_bytes_retx:11 c_pkts_ooo:12 c_syn_cnt:13 "
      "c_fin_cnt:14 s_ip:15 s_port:16 s_pkts_all:17 s_rst_cnt:18 s_ack_cnt:19 s_ack_cnt_p:20 "
      "s_bytes_uniq:21 s_pkts_data:22 s_bytes_all:23 s_pkts_retx:24 s_bytes_retx:25 s_pkts_ooo:26 "
      "s_syn_cnt:27 s_fin_cnt:28 first:29 last:30 durat:31 c_first:32 s_first:33 c_last:34 s_last:35 "
      "c_first_ack:36 s_first_ack:37 c_isint:38 s_isint:39 c_iscrypto:40 s_iscrypto:41 con_t:42 p2p_t:43 "
      "http_t:44\n"
      "2001:db8::1 40000 3 0 0 0 0 0 0 0 0 0 0 0 2001:db8::1:0:0:2 443 0 0 0 0 0 0 0 0 0 0 0 0 "
      "1000000000123.456055 1000000000124.956055 1.500000 0.000000 0.000000 0.000000 0.000000 0.250000 "
      "0.000000 1 0 0 1 8193 9 5\n");
  // the nocomplete header carries the mask too
  EXPECT_EQ(slurp(d / "log_tcp_nocomplete").substr(0, 12), "#00#c_ip:1 c");
}

TEST_F(LogSinkTest, MaskSelectsGroupsInTstatOrder) {
  fs::path d = scratch("mask");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"tcp_log_mask", std::int64_t{12}}});
  r->feed({tcp_complete()});
  r->flush();
  std::string text = slurp(d / "log_tcp_complete");
  std::string header = text.substr(0, text.find('\n'));
  // P2P (4) then OPTIONS (8): 44 + 6 + 46 columns
  EXPECT_EQ(header.substr(0, 4), "#12#");
  EXPECT_NE(header.find(" http_t:44 p2p_st:45 ed2k_data:46"), std::string::npos) << header;
  EXPECT_NE(header.find(" ed2k_chat:50 c_f1323_opt:51 "), std::string::npos) << header;
  EXPECT_TRUE(header.ends_with(" s_syn_retx:96")) << header;
  std::string line = text.substr(text.find('\n') + 1);
  EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 95);
}

TEST_F(LogSinkTest, TstatLayoutNamesTheDirectoryAfterTheFirstPacket) {
  fs::path d = scratch("layout");
  auto r = start({{"dir", d.string()}});
  EXPECT_EQ(r->block->summary(), "no flows logged (" + d.string() + ")");
  r->feed({at(tcp_complete(), kT0 + 59'000'000'000)}, kT0 + 3 * 60'000'000'000);
  r->flush();
  fs::path out = d / "2020_02_23_12_06.out";
  EXPECT_TRUE(fs::exists(out / "log_tcp_complete"));
  EXPECT_EQ(slurp(out / "log_tcp_nocomplete"), kTcpNocompleteHeader);  // every log gets its header
  EXPECT_EQ(slurp(out / "log_udp_complete"), kUdpHeader);
  EXPECT_EQ(r->block->summary(), "logs in " + out.string());
}

TEST_F(LogSinkTest, RotationOpensANewDirectory) {
  fs::path d = scratch("rotate");
  auto r = start({{"dir", d.string()}, {"rotate", std::int64_t(kHour)}});
  ASSERT_EQ(r->ctx.timers.size(), 1u);
  EXPECT_EQ(r->ctx.timers[0].period, kHour);
  r->feed({at(tcp_complete(), kT0), at(udp_v6(), kT0 + 60'000'000'000)}, kT0 + 2 * 60'000'000'000);
  // 13:05: past the 13:00 boundary
  r->feed({at(tcp_nocomplete(), kT0 + 50 * 60'000'000'000)}, kT0 + 59 * 60'000'000'000);
  r->flush();
  fs::path a = d / "2020_02_23_12_06.out", b = d / "2020_02_23_13_05.out";
  std::string tcp = slurp(a / "log_tcp_complete");
  EXPECT_EQ(std::count(tcp.begin(), tcp.end(), '\n'), 2);
  std::string udp = slurp(a / "log_udp_complete");
  EXPECT_EQ(std::count(udp.begin(), udp.end(), '\n'), 2);
  EXPECT_EQ(slurp(a / "log_tcp_nocomplete"), kTcpNocompleteHeader);
  std::string noc = slurp(b / "log_tcp_nocomplete");
  EXPECT_EQ(std::count(noc.begin(), noc.end(), '\n'), 2);
  EXPECT_EQ(slurp(b / "log_tcp_complete"), kTcpCompleteHeader);
  EXPECT_EQ(r->block->summary(), "logs in " + a.string() + " ... " + b.string() + " (2 directories)");
  // exactly two directories
  int dirs = 0;
  for (const auto& e : fs::directory_iterator(d)) dirs += e.is_directory();
  EXPECT_EQ(dirs, 2);
}

TEST_F(LogSinkTest, TimerClosesThePeriodOnAnIdleLink) {
  fs::path d = scratch("timer");
  auto r = start({{"dir", d.string()}, {"rotate", std::int64_t(kHour)}, {"gzip", true}});
  r->feed({at(udp_sip(), kT0)}, kT0);
  NoEmit e;
  r->block->on_timer(0, kT0 - 6 * 60'000'000'000 + kHour, e);  // 13:00
  // the gzip files are complete without any flush
  fs::path a = d / "2020_02_23_12_06.out";
  std::string udp = gunzip(a / "log_udp_complete.gz");
  EXPECT_EQ(std::count(udp.begin(), udp.end(), '\n'), 2);
  r->flush();
}

TEST_F(LogSinkTest, GzipDecompressesToThePlainBytes) {
  fs::path p = scratch("plain"), g = scratch("gz");
  auto a = start({{"dir", p.string()}, {"layout", std::string("flat")}});
  auto b = start({{"dir", g.string()}, {"layout", std::string("flat")}, {"gzip", true}});
  for (auto* r : {a.get(), b.get()}) {
    for (int i = 0; i < 2000; ++i) r->feed({tcp_complete(), tcp_nocomplete(), udp_sip(), udp_v6()});
    r->flush();
  }
  for (const char* f : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"}) {
    std::string plain = slurp(p / f);
    EXPECT_GT(plain.size(), 100000u);
    EXPECT_EQ(gunzip(g / (std::string(f) + ".gz")), plain) << f;
    EXPECT_LT(fs::file_size(g / (std::string(f) + ".gz")), plain.size() / 5);
  }
  EXPECT_EQ(a->ctx.value("bytes_written"), b->ctx.value("bytes_written"));
}

TEST_F(LogSinkTest, GzipIsCompleteAfterDestruction) {
  fs::path g = scratch("gzdtor");
  {
    auto b = start({{"dir", g.string()}, {"layout", std::string("flat")}, {"gzip", true}});
    b->feed({udp_v6()});
    // no flush: the block is destroyed (abnormal end)
  }
  EXPECT_EQ(gunzip(g / "log_udp_complete.gz"), std::string(kUdpHeader) + kUdp6Line);
}

TEST_F(LogSinkTest, JsonLines) {
  fs::path d = scratch("json");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"format", std::string("json")}});
  FlowRecord v6 = udp_v6();
  v6.labels.app = "LLMNR \"v6\"";  // a name that needs escaping
  r->feed({tcp_nocomplete(), v6, tcp_complete()});
  r->flush();
  EXPECT_EQ(slurp(d / "log_tcp_nocomplete.jsonl"),
            "{\"proto\":\"tcp\",\"complete\":false,\"app\":null,\"c_ip\":\"10.0.2.15\",\"c_port\":50202,\"c_"
            "pkts_all\":1,"
            "\"c_rst_cnt\":0,\"c_ack_cnt\":0,\"c_ack_cnt_p\":0,\"c_bytes_uniq\":0,\"c_pkts_data\":0,"
            "\"c_bytes_all\":0,\"c_pkts_retx\":0,\"c_bytes_retx\":0,\"c_pkts_ooo\":0,\"c_syn_cnt\":1,"
            "\"c_fin_cnt\":0,\"s_ip\":\"61.238.173.128\",\"s_port\":57648,\"s_pkts_all\":1,\"s_rst_cnt\":1,"
            "\"s_ack_cnt\":1,\"s_ack_cnt_p\":0,\"s_bytes_uniq\":0,\"s_pkts_data\":0,\"s_bytes_all\":0,"
            "\"s_pkts_retx\":0,\"s_bytes_retx\":0,\"s_pkts_ooo\":0,\"s_syn_cnt\":0,\"s_fin_cnt\":0,"
            "\"first\":64030.714000,\"last\":64213.365000,\"durat\":182.651000,\"c_first\":0.000000,"
            "\"s_first\":0.000000,\"c_last\":0.000000,\"s_last\":0.000000,\"c_first_ack\":0.000000,"
            "\"s_first_ack\":0.000000,\"c_isint\":1,\"s_isint\":1,\"c_iscrypto\":0,\"s_iscrypto\":0,"
            "\"con_t\":0,\"p2p_t\":0,\"http_t\":0}\n");
  EXPECT_EQ(slurp(d / "log_udp_complete.jsonl"),
            "{\"proto\":\"udp\",\"complete\":true,\"app\":\"LLMNR "
            "\\\"v6\\\"\",\"c_ip\":\"fe80::c50d:519f:96a4:e108\","
            "\"c_port\":63717,"
            "\"c_first_abs\":12529.920000,\"c_durat\":0.000000,\"c_bytes_all\":29,\"c_pkts_all\":1,"
            "\"c_isint\":1,\"c_iscrypto\":0,\"c_type\":19,\"s_ip\":\"ff02::1:3\",\"s_port\":5355,"
            "\"s_first_abs\":0.000000,\"s_durat\":0.000000,\"s_bytes_all\":0,\"s_pkts_all\":0,\"s_isint\":1,"
            "\"s_iscrypto\":0,\"s_type\":0,\"fqdn\":null,\"quic_SNI\":null,\"quic_UA\":null,"
            "\"quic_c_vers\":null,\"quic_s_vers\":null,\"quic_zero_rtt\":0,\"quic_ech\":0}\n");
  std::string tcp = slurp(d / "log_tcp_complete.jsonl");
  EXPECT_TRUE(tcp.starts_with("{\"proto\":\"tcp\",\"complete\":true,\"app\":null,\"c_ip\":\"10.0.2.15\","))
      << tcp;
  EXPECT_NE(tcp.find(",\"c_rtt_avg\":77.422086,\"c_rtt_min\":0.131000,"), std::string::npos);
  EXPECT_NE(tcp.find(",\"http_res\":null,\"c_pkts_push\":1,"), std::string::npos);
  EXPECT_NE(tcp.find(",\"req_tm\":0.0,\"res_tm\":0.0,"), std::string::npos);
  EXPECT_TRUE(tcp.ends_with(",\"dns_enc\":0}\n"));
  EXPECT_EQ(std::count(tcp.begin(), tcp.end(), ':'), 137);  // 134 columns + proto + complete + app
  EXPECT_FALSE(fs::exists(d / "log_tcp_complete"));
}

TEST_F(LogSinkTest, CsvHeaderAndRow) {
  fs::path d = scratch("csv");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"format", std::string("csv")}});
  FlowRecord sip = udp_sip();
  sip.labels.app = "SIP, over UDP";  // a name that needs quoting
  r->feed({sip, tcp_nocomplete()});
  r->flush();
  EXPECT_EQ(slurp(d / "log_udp_complete.csv"),
            "c_ip,c_port,c_first_abs,c_durat,c_bytes_all,c_pkts_all,c_isint,c_iscrypto,c_type,s_ip,s_port,"
            "s_first_abs,s_durat,s_bytes_all,s_pkts_all,s_isint,s_iscrypto,s_type,fqdn,quic_SNI,quic_UA,"
            "quic_c_vers,quic_s_vers,quic_zero_rtt,quic_ech,app\n"
            "10.35.40.22,2944,1228468937630.923096,109.251008,5058,65,1,0,0,10.23.1.42,2944,"
            "1228468937633.502930,109.250691,13052,65,1,0,0,,,,,,0,0,\"SIP, over UDP\"\n");
  std::string noc = slurp(d / "log_tcp_nocomplete.csv");
  EXPECT_EQ(noc.substr(0, 30), "c_ip,c_port,c_pkts_all,c_rst_c");
  std::string row = noc.substr(noc.find('\n') + 1);
  std::string expect = kTcpNocompleteLine;
  std::replace(expect.begin(), expect.end(), ' ', ',');
  expect.insert(expect.size() - 1, ",");  // no application name: empty last field
  EXPECT_EQ(row, expect);
  EXPECT_TRUE(fs::exists(d / "log_tcp_complete.csv"));
}

// The LAYER7 group prints what FSMDPI put in FlowRecord::l7; a space taken
// off the wire cannot shift the columns of a Tstat line.
TEST_F(LogSinkTest, Layer7ColumnsComeFromTheRecord) {
  fs::path d = scratch("l7");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  FlowRecord t = tcp_complete();
  t.l7.http_req_cnt = 2;
  t.l7.http_res_cnt = 1;
  t.l7.http_status = 200;
  t.l7.http_host = "www.example.org evil";
  t.l7.tls_sni = "sni.example";
  t.l7.tls_cn = "*.example";
  t.l7.npnalpn = {160, 128};
  t.l7.tls_session_stat = 3;
  t.l7.tls_version = {"0304,0303", "0303"};
  t.l7.tls_last_handshake_ns = {t.first_ns + us(1500), t.first_ns + us(2500)};
  t.l7.tls_appdata_ns = {t.first_ns + us(3000), 0};
  t.l7.tls_appdata_offset = {518, 0};
  r->feed({t});
  r->flush();
  const std::string log = slurp(d / "log_tcp_complete");
  const std::string line = log.substr(log.find('\n') + 1);
  EXPECT_TRUE(
      line.ends_with(" 2 1 200 1 0 sni.example *.example 160 128 3 1.500000 2.500000 3.000000 0.000000 "
                     "518 0 - - 0.0 0.0 www.example.org_evil 0304,0303 0303 0\n"))
      << line;
}

// log_skype_complete: no header; Tstat's UDP layout (ends U) and TCP layout
// (ends T), and one column set for both in JSON.
TEST_F(LogSinkTest, SkypeLogHasTstatsTwoLayouts) {
  fs::path d = scratch("skype");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  FlowRecord u = udp_sip();
  u.labels.app = "Skype";
  u.labels.udp_type = {5, 5};
  auto f = std::make_shared<SkypeFacts>();
  for (int i = 0; i < 2; ++i) {
    SkypeDirFacts& x = f->dir[i];
    x.bytes = 1000u * (i + 1), x.pkts = 10, x.e2e = 9, x.out = 0, x.sig = 1, x.unknown = 0, x.audio = 10;
    x.video = 0, x.avg_pkt_size = 100.0 * (i + 1), x.pktsize_belief = -1.25, x.avg_ipg_ms = 20,
    x.avgipg_belief = -2.5;
    x.chi_min_e2o_hdr = 10, x.chi_max_e2e_hdr = 20, x.chi_min_e2e_hdr = 300, x.chi_max_hdr = 400,
    x.chi_max_payload = 30;
    x.udp_type = 5, x.bayes_flag = i == 0 ? 1 : -2, x.chi_class = 5, x.video_present = false;
  }
  u.skype = f;
  FlowRecord t = tcp_complete();
  t.labels.con_type = 512;
  auto ft = std::make_shared<SkypeFacts>(*f);
  ft->tcp = true;
  t.skype = ft;
  r->feed({u, t, tcp_nocomplete()});
  r->flush();
  EXPECT_EQ(r->ctx.value("skype"), 2u);
  EXPECT_EQ(slurp(d / "log_skype_complete"),
            "10.35.40.22 2944 1 0 1000 10 9 0 1 0 10 0 100.000000 -1.250000 20.000000 -2.500000 10.000000 "
            "20.000000 300.000000 30.000000 5 1 5 0 "
            "10.23.1.42 2944 1 0 2000 10 9 0 1 0 10 0 200.000000 -1.250000 20.000000 -2.500000 10.000000 "
            "20.000000 300.000000 30.000000 5 -2 5 0 1228468937.630923 109.253271 U\n"
            "10.0.2.15 50199 1 0 1000 10 10 0 100.000000 -1.250000 20.000000 -2.500000 400.000000 30.000000 "
            "1 5 0 "
            "47.147.52.21 36728 1 0 2000 10 10 0 200.000000 -1.250000 20.000000 -2.500000 400.000000 "
            "30.000000 -2 5 0 63.001980 0.443590 T\n");
}

TEST_F(LogSinkTest, SkypeLogAsJsonHasOneColumnSet) {
  fs::path d = scratch("skype_json");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"format", std::string("json")}});
  FlowRecord t = tcp_complete();
  t.labels.app = "Skype";
  auto ft = std::make_shared<SkypeFacts>();
  ft->tcp = true;
  ft->dir[0].pkts = 7;
  t.skype = ft;
  r->feed({t});
  r->flush();
  const std::string j = slurp(d / "log_skype_complete.jsonl");
  EXPECT_TRUE(j.starts_with("{\"proto\":\"tcp\",\"complete\":true,\"app\":\"Skype\",\"c_ip\":\"10.0.2.15\","))
      << j;
  EXPECT_NE(j.find("\"c_pkts\":7,\"c_e2e_pkts\":null,"), std::string::npos) << j;
  EXPECT_NE(j.find("\"c_udp_type\":null,\"c_bayes\":0,"), std::string::npos) << j;
  EXPECT_TRUE(j.ends_with("\"l4\":\"tcp\"}\n")) << j;
  EXPECT_EQ(std::count(j.begin(), j.end(), ':'), 56);  // 53 columns + proto + complete + app
}

TEST_F(LogSinkTest, ExternalAndOtherFlowsAreCountedNotLogged) {
  fs::path d = scratch("ext");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  FlowRecord ext = udp_v6();
  ext.internal = {false, false};
  FlowRecord icmp = udp_v6();
  icmp.key.l4_proto = 58;
  FlowRecord interim = udp_v6();
  interim.end = FlowEnd::interim;
  r->feed({ext, icmp, interim, udp_v6()});
  r->flush();
  EXPECT_EQ(r->ctx.value("external"), 1u);
  EXPECT_EQ(r->ctx.value("other"), 1u);
  EXPECT_EQ(r->ctx.value("interim"), 1u);
  EXPECT_EQ(r->ctx.value("udp"), 1u);
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdp6Line);

  fs::path d2 = scratch("ext2");
  auto r2 = start({{"dir", d2.string()}, {"layout", std::string("flat")}, {"log_external", true}});
  r2->feed({ext});
  r2->flush();
  EXPECT_EQ(r2->ctx.value("udp"), 1u);
}

TEST_F(LogSinkTest, ConfigErrors) {
  fs::path d = scratch("cfg");
  fs::create_directories(d);
  std::ofstream(d / "plainfile") << "x";
  try {
    start({{"dir", (d / "plainfile" / "logs").string()}});
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "parameter 'dir': cannot create directory '" +
                                         (d / "plainfile" / "logs").string() + "': Not a directory");
  }
  EXPECT_THROW(start({{"dir", d.string()}, {"rotate", std::int64_t{90'000'000'000}}}), ConfigError);
  EXPECT_THROW(start({{"dir", d.string()}, {"rotate", std::int64_t(kHour)}, {"layout", std::string("flat")}}),
               ConfigError);
  EXPECT_THROW(start({{"dir", std::string()}}), ConfigError);
}

TEST_F(LogSinkTest, WriteFailureIsAnInputErrorNamingTheFile) {
  fs::path d = scratch("full");
  fs::create_directories(d);
  fs::create_symlink("/dev/full", d / "log_tcp_complete");  // every write: ENOSPC
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  try {
    r->feed({tcp_complete(), udp_v6()});
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()),
              "cannot write '" + (d / "log_tcp_complete").string() + "': No space left on device");
  }
  EXPECT_EQ(r->ctx.value("write_errors"), 1u);
  r->flush();  // the other logs are still written and closed
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdp6Line);
  // The run goes on, each failure counted: a line is buffered (written at
  // most 0.5 s later, or at the end), its failure said then.
  r->feed({tcp_complete()});
  EXPECT_THROW(r->flush(), InputError);
  EXPECT_EQ(r->ctx.value("write_errors"), 2u);
}

// Lines are written in chunks, yet at most half a second (wall clock) after
// the batch that brought them: a live link's logs stay current.
TEST_F(LogSinkTest, LinesReachTheFileWithinHalfASecond) {
  fs::path d = scratch("interval");
  auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}});
  r->feed({udp_v6()});  // the first batch is written at once
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdp6Line);
  r->feed({udp_v6()});
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdp6Line);  // buffered
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  r->feed({});
  EXPECT_EQ(slurp(d / "log_udp_complete"), std::string(kUdpHeader) + kUdp6Line + kUdp6Line);
  r->flush();
  EXPECT_EQ(r->ctx.value("bytes_written"),
            std::string(kUdpHeader).size() + 2 * std::string(kUdp6Line).size() +
                fs::file_size(d / "log_tcp_complete") + fs::file_size(d / "log_tcp_nocomplete") +
                fs::file_size(d / "log_skype_complete"));
}

// Not run by default: ./test_log_sink --gtest_also_run_disabled_tests --gtest_filter='*Throughput*'
TEST_F(LogSinkTest, DISABLED_Throughput) {
  for (bool gz : {false, true}) {
    fs::path d = scratch(gz ? "perf_gz" : "perf");
    auto r = start({{"dir", d.string()}, {"layout", std::string("flat")}, {"gzip", gz}});
    std::vector<FlowRecord> batch;
    for (int i = 0; i < 256; ++i) batch.push_back(i % 4 == 3 ? udp_sip() : tcp_complete());
    auto msg = std::make_shared<FlowBatch>();
    msg->records = batch;
    const int n = 4000;
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) r->block->receive(0, msg, r->emit);
    r->flush();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("%s: %.0f records/s, %.1f MB/s of text\n", gz ? "gzip" : "plain", n * 256 / s,
                r->ctx.value("bytes_written") / s / 1e6);
  }
}

}  // namespace
