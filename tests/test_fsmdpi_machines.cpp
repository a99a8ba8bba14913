// The FSMDPI machines and their harness (blocks/classifiers/fsmdpi/), fed
// real conversations taken from the dev captures (decoded the way PcapSource
// decodes them) and a few the tests build; near-misses that must not match.
// Expected facts were checked against tshark and Tstat 3.3's own logs
// (dev/tstat-3.3/) where Tstat logged the flow.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "capture_batches.hpp"
#include "corpus.hpp"
#include "harness.hpp"
#include "netloom/netloom.hpp"
#include "rtp.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::fsmdpi;

namespace {

using Bytes = std::vector<std::uint8_t>;

// One packet of a conversation, owning its payload.
struct Pkt {
  TcpPacket tcp;  // (TCP only)
  UdpPacket udp;  // (UDP only)
  std::uint64_t ts_ns = 0;
  Bytes bytes;
};

std::uint32_t rd32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

fs::path capture(const char* name) { return test::corpus_root() / name; }

#define NEED(path) \
  if (!fs::exists(path)) GTEST_SKIP() << "capture not found: " << (path) << " (set NETLOOM_CORPUS)"

// The packets between client_port and server_port (TCP or UDP) of a capture,
// in capture order; direction 0 is client -> server.
std::vector<Pkt> conversation(const fs::path& file, std::uint8_t proto, std::uint16_t client_port,
                              std::uint16_t server_port) {
  std::vector<Pkt> out;
  test::for_each_batch(file, [&](std::shared_ptr<PacketBatch> b) {
    for (const Packet& p : b->packets) {
      if (p.l4_proto != proto || p.l4_off == kNoOffset) continue;
      int dir = -1;
      if (p.sport == client_port && p.dport == server_port) dir = 0;
      if (p.sport == server_port && p.dport == client_port) dir = 1;
      if (dir < 0) continue;
      Pkt k;
      k.ts_ns = p.ts_ns;
      if (p.payload_off != kNoOffset) k.bytes.assign(p.payload(), p.payload() + p.payload_len);
      k.tcp.dir = k.udp.dir = static_cast<std::uint8_t>(dir);
      k.tcp.flags = p.tcp_flags;
      k.tcp.ts_ns = p.ts_ns;
      k.tcp.server_port = server_port;
      if (proto == 6) k.tcp.seq = rd32(p.data + p.l4_off + 4);
      k.udp.sport = p.sport;
      k.udp.dport = p.dport;
      out.push_back(std::move(k));
    }
  });
  return out;
}

// A conversation through the TCP harness.
struct TcpRun {
  FlowRecord rec;
  TcpFlow flow;
  Tally tally;
  std::vector<std::pair<std::size_t, Decision>> decisions;  // (packet number from 1, decision)
};
TcpRun run_tcp(std::vector<Pkt>& pkts, const Config& cfg = {}, FlowLabels labels = {}) {
  TcpRun r;
  r.rec.labels = std::move(labels);
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    TcpPacket t = pkts[i].tcp;
    t.payload = pkts[i].bytes.data();
    t.len = static_cast<std::uint32_t>(pkts[i].bytes.size());
    if (auto d = r.flow.on_packet(cfg, t, r.rec, r.tally)) r.decisions.emplace_back(i + 1, *d);
  }
  return r;
}
TcpRun run_tcp(const fs::path& file, std::uint16_t client_port, std::uint16_t server_port,
               const Config& cfg = {}) {
  auto pkts = conversation(file, 6, client_port, server_port);
  EXPECT_FALSE(pkts.empty()) << file;
  return run_tcp(pkts, cfg);
}

// A conversation through the RTP search; closed at the end unless told not to.
struct UdpRun {
  FlowRecord rec;
  UdpFlow flow;
  std::vector<std::pair<std::size_t, std::uint16_t>> confirmed;  // (packet number from 1, type)
};
UdpRun run_udp(std::vector<Pkt>& pkts, bool close = true, const Config& cfg = {}, FlowLabels labels = {}) {
  UdpRun r;
  r.rec.labels = std::move(labels);
  for (std::size_t i = 0; i < pkts.size(); ++i) {
    UdpPacket u = pkts[i].udp;
    u.payload = pkts[i].bytes.data();
    u.len = static_cast<std::uint32_t>(pkts[i].bytes.size());
    if (auto t = r.flow.on_packet(cfg, u, r.rec)) r.confirmed.emplace_back(i + 1, *t);
  }
  if (close) r.flow.close(r.rec);
  return r;
}

// A packet the test builds: payload text (or bytes), direction, sequence number.
Pkt seg(std::uint8_t dir, const Bytes& payload, std::uint32_t seq, std::uint8_t flags = 0x18) {
  Pkt k;
  k.bytes = payload;
  k.tcp.dir = k.udp.dir = dir;
  k.tcp.flags = flags;
  k.tcp.seq = seq;
  k.tcp.server_port = 4000;
  k.udp.sport = dir ? 4000 : 40000;
  k.udp.dport = dir ? 40000 : 4000;
  return k;
}
Bytes text(std::string_view s) { return Bytes(s.begin(), s.end()); }

// A handshake opening: SYN, SYN/ACK, ACK (client ISN 1000, server ISN 5000).
std::vector<Pkt> opening() {
  return {seg(0, {}, 1000, 0x02), seg(1, {}, 5000, 0x12), seg(0, {}, 1001, 0x10)};
}

Config only(const std::string& machines) { return parse_machines(machines); }

std::uint64_t rel_us(std::uint64_t ts, const FlowRecord& r, std::uint64_t first) {
  (void)r;
  return ts ? (ts - first) / 1000 : 0;
}

}  // namespace

// ====================================================================== HTTP

// android.pcap, 192.168.2.16:58338 -> 17.253.53.201:80 (Apple captive portal
// check). Tstat: http_req_cnt 1, http_res_cnt 1, http_res 200, host.
TEST(FsmdpiHttp, GetAndItsResponse) {
  NEED(capture("dev/android.pcap"));
  TcpRun r = run_tcp(capture("dev/android.pcap"), 58338, 80);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 4u);  // SYN, SYN/ACK, ACK, the GET (a complete request line)
  EXPECT_EQ(r.decisions[0].second.app, "HTTP");
  EXPECT_EQ(r.flow.machine(), kHttp);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::HTTP);
  EXPECT_EQ(r.rec.labels.app, "HTTP");
  EXPECT_EQ(r.rec.labels.http_type, 0);  // GET
  EXPECT_EQ(r.rec.l7.http_req_cnt, 1u);
  EXPECT_EQ(r.rec.l7.http_res_cnt, 1u);
  EXPECT_EQ(r.rec.l7.http_status, 200);
  EXPECT_EQ(r.rec.l7.http_host, "captive.apple.com");
}

// pps_B.pcap, 192.168.115.8:50486 -> 77.234.40.96:80: two POSTs on one
// connection (the capture starts after the SYNs), each with a 4 KiB+ body.
TEST(FsmdpiHttp, PostsCountedOverTheWholeFlow) {
  NEED(capture("dev/pps_B.pcap"));
  TcpRun r = run_tcp(capture("dev/pps_B.pcap"), 50486, 80);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::HTTP);
  EXPECT_EQ(r.rec.labels.http_type, 1);  // POST
  EXPECT_EQ(r.rec.l7.http_req_cnt, 2u);
  EXPECT_EQ(r.rec.l7.http_res_cnt, 2u);
  EXPECT_EQ(r.rec.l7.http_status, 200);
  EXPECT_EQ(r.rec.l7.http_host, "bcu.ff.avast.com");
}

// formats/http.pcap (dpkt's sample): GET /download.html from www.ethereal.com.
TEST(FsmdpiHttp, EtherealDownloadPage) {
  NEED(capture("formats/http.pcap"));
  TcpRun r = run_tcp(capture("formats/http.pcap"), 3372, 80);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::HTTP);
  EXPECT_EQ(r.rec.l7.http_host, "www.ethereal.com");
  EXPECT_EQ(r.rec.l7.http_status, 200);
  EXPECT_EQ(r.rec.l7.http_req_cnt, 1u);
  EXPECT_EQ(r.rec.l7.http_res_cnt, 1u);
}

TEST(FsmdpiHttp, NearMissesAreNotHttp) {
  // "GETX" is no method; "GET " followed by a space is no request line.
  for (std::string_view req :
       {"GETX / HTTP/1.1\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "get / HTTP/1.1\r\n\r\n"}) {
    auto pkts = opening();
    pkts.push_back(seg(0, text(req), 1001));
    pkts.push_back(seg(1, text("HTTP/1.1 200 OK\r\n\r\n"), 5001));
    TcpRun r = run_tcp(pkts);
    EXPECT_TRUE(r.decisions.empty()) << req;
    EXPECT_EQ(r.rec.labels.con_type, 0u) << req;
    EXPECT_EQ(r.rec.l7.http_req_cnt, 0u) << req;
    EXPECT_TRUE(r.flow.finished()) << req;  // both first payloads seen, nothing opened
  }
  // A request cut before its line ends ("HTTP/1.x" not seen) whose server
  // never answers "HTTP/1.x NNN": no label, no counts once given up.
  auto pkts = opening();
  pkts.push_back(seg(0, text("GET /a-very-long-target"), 1001));
  pkts.push_back(seg(1, text("HTTX/1.1 200 OK\r\n\r\n"), 5001));
  for (std::uint32_t i = 0; i < 20; ++i) pkts.push_back(seg(0, {}, 1024, 0x10));
  TcpRun r = run_tcp(pkts);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.labels.con_type, 0u);
  EXPECT_EQ(r.rec.l7.http_req_cnt, 0u);
  EXPECT_TRUE(r.flow.finished());  // gave up after 20 packets
}

// pps_B.pcap, 192.168.115.8:50487 -> 202.108.14.219:80: a GET whose answer
// the capture does not hold. Its request line is complete: HTTP.
TEST(FsmdpiHttp, RequestLineAlone) {
  NEED(capture("dev/pps_B.pcap"));
  TcpRun r = run_tcp(capture("dev/pps_B.pcap"), 50487, 80);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::HTTP);
  EXPECT_EQ(r.rec.l7.http_req_cnt, 1u);
  EXPECT_EQ(r.rec.l7.http_res_cnt, 0u);
  EXPECT_EQ(r.rec.l7.http_status, 0);
}

// pps_B.pcap, 77.234.41.35:80 <-> 192.168.115.8:49174: the capture starts
// with the server's answer, so the tracker's "client" is the server.
TEST(FsmdpiHttp, AnswerFirst) {
  NEED(capture("dev/pps_B.pcap"));
  TcpRun r = run_tcp(capture("dev/pps_B.pcap"), 80, 49174);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::HTTP);
  EXPECT_EQ(r.rec.l7.http_status, 200);
}

TEST(FsmdpiHttp, IcyAnswerIsShoutcast) {
  auto pkts = opening();
  pkts.push_back(seg(0, text("GET /stream HTTP/1.0\r\nIcy-MetaData: 1\r\n\r\n"), 1001));
  pkts.push_back(seg(1, text("ICY 200 OK\r\nicy-name: radio\r\n\r\n"), 5001));
  TcpRun r = run_tcp(pkts);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::ICY);
  EXPECT_EQ(r.rec.labels.app, "ICY");
}

// ======================================================================= TLS

// android.pcap, 192.168.2.16:32974 -> 216.239.38.120:443, TLS 1.2 with the
// certificate in the clear. Tstat 3.3 logged exactly these facts (times in
// ms since the flow's first packet: 305.484 318.793 439.785 471.672).
TEST(FsmdpiTls, Tls12HandshakeFacts) {
  NEED(capture("dev/android.pcap"));
  auto pkts = conversation(capture("dev/android.pcap"), 6, 32974, 443);
  TcpRun r = run_tcp(pkts);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 4u);  // the ClientHello is well formed
  EXPECT_EQ(r.flow.machine(), kTls);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SSL);
  EXPECT_EQ(r.rec.labels.app, "TLS");
  const L7Facts& l = r.rec.l7;
  EXPECT_EQ(l.tls_sni, "clients1.google.com");
  EXPECT_EQ(l.tls_cn, "*.google.com");
  EXPECT_EQ(l.tls_version[0], "0303");
  EXPECT_EQ(l.tls_version[1], "0303");
  EXPECT_EQ(l.npnalpn[0], 0);
  EXPECT_EQ(l.npnalpn[1], 0);
  EXPECT_EQ(l.tls_session_stat, 0);
  const std::uint64_t first = pkts.front().ts_ns;
  EXPECT_EQ(rel_us(l.tls_last_handshake_ns[0], r.rec, first), 305484u);
  EXPECT_EQ(rel_us(l.tls_last_handshake_ns[1], r.rec, first), 318793u);
  EXPECT_EQ(rel_us(l.tls_appdata_ns[0], r.rec, first), 439785u);
  EXPECT_EQ(rel_us(l.tls_appdata_ns[1], r.rec, first), 471672u);
  EXPECT_EQ(l.tls_appdata_offset[0], 260u);
  EXPECT_EQ(l.tls_appdata_offset[1], 3773u);
  EXPECT_EQ(l.http_req_cnt, 0u);
  EXPECT_TRUE(r.flow.finished());  // both Application Data records seen
}

// android.pcap, 192.168.2.16:32998: TLS 1.3 (GREASE in supported_versions,
// ALPN h2 + http/1.1, a session id). The client closes before sending data;
// the server's first Application Data record starts inside its first
// segment, after the ServerHello and ChangeCipherSpec (offset 134; Tstat,
// which looks at segment starts only, logged none).
TEST(FsmdpiTls, Tls13ClientHelloFacts) {
  NEED(capture("dev/android.pcap"));
  TcpRun r = run_tcp(capture("dev/android.pcap"), 32998, 443);
  ASSERT_EQ(r.decisions.size(), 1u);
  const L7Facts& l = r.rec.l7;
  EXPECT_EQ(l.tls_sni, "accounts.google.com");
  EXPECT_EQ(l.tls_cn, "");  // encrypted in TLS 1.3
  EXPECT_EQ(l.tls_version[0], "8a8a,0304,0303,0302,0301");
  EXPECT_EQ(l.tls_version[1], "0304");
  EXPECT_EQ(l.npnalpn[0], 128 + 32);  // ALPN h2, http/1.1
  EXPECT_EQ(l.npnalpn[1], 0);
  EXPECT_EQ(l.tls_session_stat, 1);
  EXPECT_EQ(l.tls_appdata_offset[1], 134u);
  EXPECT_EQ(l.tls_appdata_ns[0], 0u);
}

// tls_certificate_too_long.pcap, 53910 -> 40.113.10.47:443: TLS 1.2 with ALPN
// h2 chosen by the server; the certificate spans three segments.
TEST(FsmdpiTls, CertificateAcrossSegments) {
  NEED(capture("dev/tls_certificate_too_long.pcap"));
  TcpRun r = run_tcp(capture("dev/tls_certificate_too_long.pcap"), 53910, 443);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.l7.tls_sni, "wdcp.microsoft.com");
  EXPECT_EQ(r.rec.l7.tls_cn, "wdcp.microsoft.com");
  EXPECT_EQ(r.rec.l7.npnalpn[0], 160);
  EXPECT_EQ(r.rec.l7.npnalpn[1], 128);
  EXPECT_EQ(r.rec.l7.tls_version[0], "1a1a,0304,0303,0302,0301");
  EXPECT_EQ(r.rec.l7.tls_version[1], "0303");
  EXPECT_EQ(r.tally.tls_buffer_overflows, 0u);
}

// tor_B.pcap, 51174: Tor's self-signed link certificate. The CN is the
// subject's (Tstat 3.3 logged the issuer's, www.wohgpas45j6ucw.com).
TEST(FsmdpiTls, SubjectCommonName) {
  NEED(capture("dev/tor_B.pcap"));
  TcpRun r = run_tcp(capture("dev/tor_B.pcap"), 51174, 443);
  EXPECT_EQ(r.rec.l7.tls_sni, "www.t3i3ru.com");
  EXPECT_EQ(r.rec.l7.tls_cn, "www.7d43ah2kikrabj.net");
  EXPECT_EQ(r.rec.l7.tls_version[0], "0301");
  EXPECT_EQ(r.rec.l7.tls_appdata_offset[0], 344u);
  EXPECT_EQ(r.rec.l7.tls_appdata_offset[1], 803u);
}

// android.pcap, 36888: the server's third segment arrives before its first
// (which holds the ServerHello); the record layer waits for the hole.
TEST(FsmdpiTls, ReorderedServerSegments) {
  NEED(capture("dev/android.pcap"));
  TcpRun r = run_tcp(capture("dev/android.pcap"), 36888, 443);
  EXPECT_EQ(r.rec.l7.tls_cn, "*.google.com");
  EXPECT_EQ(r.rec.l7.tls_version[1], "0303");
  EXPECT_EQ(r.rec.l7.npnalpn[1], 32);
  EXPECT_EQ(r.rec.l7.tls_appdata_offset[1], 4001u);
}

// whatsapp_login_call.pcap, 192.168.2.4:49199 -> 17.172.100.70:993 starts
// mid-connection; implicit TLS on 993 is named IMAPS.
TEST(FsmdpiTls, ImplicitTlsMailPortsAreNamed) {
  Decision d{l7::con::SSL, "TLS", -1};
  EXPECT_EQ(app_name(d, 993), "IMAPS");
  EXPECT_EQ(app_name(d, 995), "POP3S");
  EXPECT_EQ(app_name(d, 465), "SMTPS");
  EXPECT_EQ(app_name(d, 443), "TLS");
  FlowLabels l;
  apply(d, 993, l);
  EXPECT_EQ(l.app, "IMAPS");
  EXPECT_EQ(l.con_type, l7::con::SSL);
}

// skype_B.pcap, 50030: Skype's fake SSLv2 ClientHello, never answered with
// TLS. Not TLS (nDPI only guesses it from the port).
TEST(FsmdpiTls, BareSslv2HelloWaitsForTheServer) {
  NEED(capture("dev/skype_B.pcap"));
  TcpRun r = run_tcp(capture("dev/skype_B.pcap"), 50030, 443);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.labels.con_type, 0u);
  EXPECT_EQ(r.rec.l7.tls_version[0], "0301");  // read from the SSLv2 hello
}

TEST(FsmdpiTls, NearMisses) {
  // A TLS record whose handshake type is a ServerHello, from the client.
  Bytes hello = {0x16, 0x03, 0x01, 0x00, 0x30, 0x02, 0x00, 0x00, 0x2c, 0x03, 0x03};
  hello.resize(5 + 0x30, 0);
  // A ClientHello whose lengths do not add up, and a server that answers in clear text.
  Bytes bad = {0x16, 0x03, 0x01, 0x00, 0x30, 0x01, 0x00, 0x00, 0x2c, 0x03, 0x03};
  bad.resize(5 + 0x30, 0xFF);
  for (const Bytes& first : {hello, bad}) {
    auto pkts = opening();
    pkts.push_back(seg(0, first, 1001));
    pkts.push_back(seg(1, text("HTTP/1.1 400 Bad Request\r\n\r\n"), 5001));
    TcpRun r = run_tcp(pkts);
    EXPECT_TRUE(r.decisions.empty());
    EXPECT_EQ(r.rec.labels.con_type, 0u);
    EXPECT_TRUE(r.flow.finished());
  }
}

// A server whose first certificate is larger than the 16 KiB handshake
// buffer: TLS all the same, no CN, one overflow counted.
TEST(FsmdpiTls, OversizedCertificateIsCounted) {
  NEED(capture("dev/android.pcap"));
  auto real = conversation(capture("dev/android.pcap"), 6, 32974, 443);
  auto pkts = opening();
  Pkt ch = real[3];  // the real ClientHello
  ch.tcp.seq = 1001;
  pkts.push_back(ch);
  // ServerHello (minimal), then a Certificate message announcing a 20000-byte certificate.
  Bytes sh = {0x16, 0x03, 0x03, 0x00, 0x2a, 0x02, 0x00, 0x00, 0x26, 0x03, 0x03};
  sh.resize(5 + 0x2a, 0x11);
  sh[5 + 4 + 34] = 0;  // session id length
  const std::uint32_t cert = 20000, list = cert + 3, msg = list + 3;
  Bytes hs = {0x0B,
              static_cast<std::uint8_t>(msg >> 16),
              static_cast<std::uint8_t>(msg >> 8),
              static_cast<std::uint8_t>(msg),
              static_cast<std::uint8_t>(list >> 16),
              static_cast<std::uint8_t>(list >> 8),
              static_cast<std::uint8_t>(list),
              static_cast<std::uint8_t>(cert >> 16),
              static_cast<std::uint8_t>(cert >> 8),
              static_cast<std::uint8_t>(cert)};
  hs.resize(4 + msg, 0x30);
  std::uint32_t seq = 5001;
  pkts.push_back(seg(1, sh, seq));
  seq += static_cast<std::uint32_t>(sh.size());
  // The handshake message in records of 16000 bytes, each record in 1400-byte segments.
  Bytes stream;
  for (std::size_t at = 0; at < hs.size(); at += 16000) {
    const std::size_t n = std::min<std::size_t>(16000, hs.size() - at);
    Bytes rec = {0x16, 0x03, 0x03, static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    rec.insert(rec.end(), hs.begin() + static_cast<std::ptrdiff_t>(at),
               hs.begin() + static_cast<std::ptrdiff_t>(at + n));
    stream.insert(stream.end(), rec.begin(), rec.end());
  }
  for (std::size_t at = 0; at < stream.size(); at += 1400) {
    const std::size_t n = std::min<std::size_t>(1400, stream.size() - at);
    pkts.push_back(seg(1,
                       Bytes(stream.begin() + static_cast<std::ptrdiff_t>(at),
                             stream.begin() + static_cast<std::ptrdiff_t>(at + n)),
                       seq));
    seq += static_cast<std::uint32_t>(n);
  }
  Config cfg;
  cfg.max_packets = 1000;
  TcpRun r = run_tcp(pkts, cfg);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SSL);
  EXPECT_EQ(r.rec.l7.tls_cn, "");
  EXPECT_EQ(r.tally.tls_buffer_overflows, 1u);
  EXPECT_EQ(r.rec.l7.tls_version[1], "0303");
}

// ======================================================================= SSH

// ssh.pcap, 172.16.238.1:58395 -> :22: the server speaks first.
TEST(FsmdpiSsh, BothIdentificationStrings) {
  NEED(capture("dev/ssh.pcap"));
  TcpRun r = run_tcp(capture("dev/ssh.pcap"), 58395, 22);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 4u);
  EXPECT_EQ(r.flow.machine(), kSsh);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SSH);
  EXPECT_EQ(r.rec.labels.app, "SSH");
  EXPECT_EQ(r.rec.l7.banner[0], "SSH-2.0-OpenSSH_5.6");
  EXPECT_EQ(r.rec.l7.banner[1], "SSH-2.0-OpenSSH_5.3");
  EXPECT_TRUE(r.flow.finished());
}

// ssh.pcap, 127.0.0.1:58496 -> :8000: the client speaks first (Tstat, which
// waited for the server's string first, missed it).
TEST(FsmdpiSsh, ClientSpeaksFirstOnAnOddPort) {
  NEED(capture("dev/ssh.pcap"));
  TcpRun r = run_tcp(capture("dev/ssh.pcap"), 58496, 8000);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.l7.banner[0], "SSH-2.0-OpenSSH_8.2p1 Ubuntu-4ubuntu0.11");
  EXPECT_EQ(r.rec.l7.banner[1], "SSH-2.0-APACHE-SSHD-2.5.0");
}

// ssh_unidirectional.pcap: the client answers the server's string with an
// empty line ("Protocol mismatch."): SSH, one banner.
TEST(FsmdpiSsh, ServerOnly) {
  NEED(capture("dev/ssh_unidirectional.pcap"));
  TcpRun r = run_tcp(capture("dev/ssh_unidirectional.pcap"), 50306, 22);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SSH);
  EXPECT_EQ(r.rec.l7.banner[0], "");
  EXPECT_EQ(r.rec.l7.banner[1], "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7");
}

TEST(FsmdpiSsh, NearMisses) {
  for (std::string_view s : {"SSH-x.0-OpenSSH\r\n", "SSH-2.0\r\n", "SSH-2.0-\r\n", "SSH-2.0-Open\x01SSH\r\n",
                             "SSH-2.0-OpenSSH_8.2"}) {
    auto pkts = opening();
    pkts.push_back(seg(1, text(s), 5001));
    pkts.push_back(seg(0, text(s), 1001));
    TcpRun r = run_tcp(pkts);
    EXPECT_TRUE(r.decisions.empty()) << s;
    EXPECT_EQ(r.rec.l7.banner[1], "") << s;
  }
}

// ================================================================ mail: SMTP

// smtp-starttls.pcap, 10.0.0.1:57406 -> 173.194.68.26:25: EHLO, then STARTTLS
// (the TLS that follows does not change the label).
TEST(FsmdpiSmtp, GreetingThenEhlo) {
  NEED(capture("dev/smtp-starttls.pcap"));
  TcpRun r = run_tcp(capture("dev/smtp-starttls.pcap"), 57406, 25);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SMTP);
  EXPECT_EQ(r.flow.machine(), kSmtp);
  EXPECT_EQ(r.rec.labels.app, "SMTP");
  EXPECT_EQ(r.rec.l7.banner[1], "220 mx.google.com ESMTP s4si9696358qcc.63 - gsmtp");
  EXPECT_EQ(r.rec.l7.banner[0], "");
  EXPECT_EQ(r.rec.l7.tls_sni, "");
}

// formats/smtp.pcap: a multi-line "220-" greeting, then "EHLO GP".
TEST(FsmdpiSmtp, MultiLineGreeting) {
  NEED(capture("formats/smtp.pcap"));
  TcpRun r = run_tcp(capture("formats/smtp.pcap"), 1470, 25);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::SMTP);
  EXPECT_EQ(r.rec.l7.banner[1].substr(0, 27), "220-xc90.websitewelcome.com");
}

// ftp_failed.pcap: an FTP server greets with "220 " too; the client's USER
// gives the SMTP machine up. Nothing is labelled, no banner kept.
TEST(FsmdpiSmtp, FtpGreetingIsNotSmtp) {
  NEED(capture("dev/ftp_failed.pcap"));
  TcpRun r = run_tcp(capture("dev/ftp_failed.pcap"), 44724, 21);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.labels.con_type, 0u);
  EXPECT_EQ(r.rec.l7.banner[1], "");
  EXPECT_EQ(r.flow.machine(), kSmtp);
  EXPECT_TRUE(r.flow.finished());
}

// ================================================================ mail: POP3

// pop3.pcap, 143.225.229.181:35287 -> 74.208.5.28:110: the client's
// first command is a lower-case "user".
TEST(FsmdpiPop3, GreetingThenUser) {
  NEED(capture("dev/pop3.pcap"));
  TcpRun r = run_tcp(capture("dev/pop3.pcap"), 35287, 110);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::POP3);
  EXPECT_EQ(r.flow.machine(), kPop3);
  EXPECT_EQ(r.rec.labels.app, "POP3");
  EXPECT_EQ(r.rec.l7.banner[1], "+OK POP server ready H migmxus005");
}

// pop3.pcap, 192.168.0.4:26284: AUTH first (Tstat waited for USER/QUIT/APOP).
TEST(FsmdpiPop3, AuthFirst) {
  NEED(capture("dev/pop3.pcap"));
  TcpRun r = run_tcp(capture("dev/pop3.pcap"), 26284, 110);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::POP3);
}

TEST(FsmdpiPop3, NearMiss) {
  auto pkts = opening();
  pkts.push_back(seg(1, text("+OK ready\r\n"), 5001));
  pkts.push_back(seg(0, text("GET / HTTP/1.1\r\n\r\n"), 1001));
  TcpRun r = run_tcp(pkts);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.l7.banner[1], "");
}

// ================================================================ mail: IMAP

// imap.pcap, 10.40.4.2:46045 -> 10.40.3.2:143: tag "C00000" (longer than
// Tstat's 5-character window).
TEST(FsmdpiImap, TaggedCommandAndAnswer) {
  NEED(capture("dev/imap.pcap"));
  TcpRun r = run_tcp(capture("dev/imap.pcap"), 46045, 143);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::IMAP);
  EXPECT_EQ(r.flow.machine(), kImap);
  EXPECT_EQ(r.rec.labels.app, "IMAP");
  EXPECT_EQ(r.rec.l7.banner[1], "* OK IMAP4Rev1 Server Version 4.9.04.012");
}

TEST(FsmdpiImap, NearMisses) {
  // No tag before the command; then a tag the server does not answer with.
  auto a = opening();
  a.push_back(seg(1, text("* OK ready\r\n"), 5001));
  a.push_back(seg(0, text(" LOGIN x y\r\n"), 1001));
  a.push_back(seg(1, text("* BAD\r\n"), 5013));
  EXPECT_TRUE(run_tcp(a).decisions.empty());
  auto b = opening();
  b.push_back(seg(1, text("* OK ready\r\n"), 5001));
  b.push_back(seg(0, text("a1 LOGIN x y\r\n"), 1001));
  b.push_back(seg(1, text("b2 OK\r\n"), 5013));
  EXPECT_TRUE(run_tcp(b).decisions.empty());
  auto c = opening();  // the same with the server using the tag: IMAP
  c.push_back(seg(1, text("* OK ready\r\n"), 5001));
  c.push_back(seg(0, text("a1 LOGIN x y\r\n"), 1001));
  c.push_back(seg(1, text("a1 OK LOGIN completed\r\n"), 5013));
  EXPECT_EQ(run_tcp(c).rec.labels.con_type, l7::con::IMAP);
}

// ===================================================== RTSP, RTMP, MSN, XMPP

// rtsp_setup_http.pcapng: a lone SETUP request (the capture has nothing else).
TEST(FsmdpiRtsp, RequestLine) {
  NEED(capture("dev/rtsp_setup_http.pcapng"));
  TcpRun r = run_tcp(capture("dev/rtsp_setup_http.pcapng"), 63840, 8554);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::RTSP);
  EXPECT_EQ(r.flow.machine(), kRtsp);
  EXPECT_EQ(r.rec.labels.app, "RTSP");
}

TEST(FsmdpiRtsp, ServerStatusLineIsItsBanner) {
  auto pkts = opening();
  pkts.push_back(seg(0, text("OPTIONS rtsp://cam/ RTSP/1.0\r\nCSeq: 1\r\n\r\n"), 1001));
  pkts.push_back(seg(1, text("RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\n"), 5001));
  TcpRun r = run_tcp(pkts);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::RTSP);
  EXPECT_EQ(r.rec.l7.banner[1], "RTSP/1.0 200 OK");
  // An HTTP OPTIONS is not RTSP.
  auto http = opening();
  http.push_back(seg(0, text("OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"), 1001));
  http.push_back(seg(1, text("HTTP/1.1 204 No Content\r\n\r\n"), 5001));
  EXPECT_EQ(run_tcp(http).rec.labels.con_type, l7::con::HTTP);
}

// rtmp_B.pcap, 10.140.80.204:49757 -> :1935: C0+C1 in two segments (1360 +
// 177), S0+S1+S2 in three (1360 + 1360 + 353).
TEST(FsmdpiRtmp, HandshakeSizes) {
  NEED(capture("dev/rtmp_B.pcap"));
  TcpRun r = run_tcp(capture("dev/rtmp_B.pcap"), 49757, 1935);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 7u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::RTMP);
  EXPECT_EQ(r.flow.machine(), kRtmp);
  EXPECT_EQ(r.rec.labels.app, "RTMP");
}

TEST(FsmdpiRtmp, WrongSizesAreNotRtmp) {
  auto pkts = opening();
  Bytes c0c1(1537, 0x5A);
  c0c1[0] = 3;
  Bytes s(1500, 0x33);
  s[0] = 3;
  pkts.push_back(seg(0, c0c1, 1001));
  pkts.push_back(seg(1, s, 5001));
  pkts.push_back(seg(0, Bytes(1536, 1), 2538));
  EXPECT_TRUE(run_tcp(pkts).decisions.empty());
}

// msnms_B.pcap (mid-connection): 192.168.1.14:1221 -> 207.46.108.59:1863,
// USR from the client answered by USR ... OK.
TEST(FsmdpiMsn, CommandsBothWays) {
  NEED(capture("dev/msnms_B.pcap"));
  TcpRun r = run_tcp(capture("dev/msnms_B.pcap"), 1221, 1863);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 2u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::MSN);
  EXPECT_EQ(r.flow.machine(), kMsn);
  // 1037 -> 1863: PNG answered by QNG.
  TcpRun p = run_tcp(capture("dev/msnms_B.pcap"), 1037, 1863);
  EXPECT_EQ(p.rec.labels.con_type, l7::con::MSN);
}

// jabber_B.pcap, 172.16.0.62:57122 -> 172.16.1.138:5222: the XML declaration
// alone, then <stream:stream.
TEST(FsmdpiXmpp, StreamHeader) {
  NEED(capture("dev/jabber_B.pcap"));
  TcpRun r = run_tcp(capture("dev/jabber_B.pcap"), 57122, 5222);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::XMPP);
  EXPECT_EQ(r.flow.machine(), kXmpp);
  EXPECT_EQ(r.rec.labels.app, "XMPP");
  auto other = opening();
  other.push_back(seg(0, text("<?xml version=\"1.0\"?><soap:Envelope>"), 1001));
  other.push_back(seg(1, text("<?xml version=\"1.0\"?><soap:Envelope>"), 5001));
  EXPECT_TRUE(run_tcp(other).decisions.empty());
}

TEST(FsmdpiYmsg, Header) {
  Bytes y = text("YMSG");
  for (std::uint8_t b :
       {0x00, 0x10, 0x00, 0x00, 0x00, 0x08, 0x00, 0x57, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})
    y.push_back(b);
  for (char ch : std::string_view("1\xC0\x80user")) y.push_back(static_cast<std::uint8_t>(ch));
  auto pkts = opening();
  pkts.push_back(seg(0, y, 1001));
  TcpRun r = run_tcp(pkts);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::YMSG);
  EXPECT_EQ(r.flow.machine(), kYmsg);
  auto shortp = opening();
  shortp.push_back(seg(0, text("YMSG short"), 1001));
  EXPECT_TRUE(run_tcp(shortp).decisions.empty());
}

// ================================================ harness: budgets, labels

TEST(FsmdpiHarness, GlobalPacketBudget) {
  NEED(capture("dev/android.pcap"));
  Config cfg;
  cfg.max_packets = 3;  // the ClientHello is the 4th packet
  TcpRun r = run_tcp(capture("dev/android.pcap"), 32974, 443, cfg);
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.l7.tls_sni, "");
  EXPECT_TRUE(r.flow.finished());
  EXPECT_EQ(r.flow.packets(), 23u);  // still counted
}

TEST(FsmdpiHarness, DisabledMachinesDoNotRun) {
  NEED(capture("dev/android.pcap"));
  TcpRun r = run_tcp(capture("dev/android.pcap"), 32974, 443, only("http,ssh"));
  EXPECT_TRUE(r.decisions.empty());
  EXPECT_EQ(r.rec.l7.tls_sni, "");
  Config c = only("tls");
  EXPECT_TRUE(c.tcp_machines.test(kTls));
  EXPECT_FALSE(c.tcp_machines.test(kHttp));
  EXPECT_FALSE(c.rtp);
  EXPECT_TRUE(only("all").rtp);
  EXPECT_THROW(only("tls,quic"), ConfigError);
}

TEST(FsmdpiHarness, LabelsFollowTstatRules) {
  NEED(capture("formats/http.pcap"));
  auto pkts = conversation(capture("formats/http.pcap"), 6, 3372, 80);
  // A P2P label PDPI set stays; the HTTP bit joins it; the weak guesses go.
  FlowLabels p2p;
  p2p.con_type = l7::con::P2P | l7::con::OBF;
  p2p.p2p_type = 901;
  p2p.app = "BitTorrent";
  TcpRun r = run_tcp(pkts, {}, p2p);
  EXPECT_EQ(r.rec.labels.con_type, l7::con::P2P | l7::con::HTTP);
  EXPECT_EQ(r.rec.labels.p2p_type, 901);
  EXPECT_EQ(r.rec.labels.app, "BitTorrent");
  EXPECT_EQ(l7::of_tcp(r.rec.labels), l7::BIT);
}

// ================================================================= RTP/RTCP

// skinny.pcap, 192.168.195.58:32144 <-> 192.168.195.50:17718: G.711 both
// ways; the first packet of each direction appears twice in the capture.
TEST(FsmdpiRtp, BothDirectionsConfirmed) {
  NEED(capture("dev/skinny.pcap"));
  auto pkts = conversation(capture("dev/skinny.pcap"), 17, 32144, 17718);
  UdpRun r = run_udp(pkts);
  ASSERT_EQ(r.confirmed.size(), 2u);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.app, "RTP");
  EXPECT_EQ(l7::of_udp(r.rec.labels), l7::RTP);
}

// The same flow cut after its first (duplicated) packet: FIRST_RTP while
// open, nothing once closed unconfirmed.
TEST(FsmdpiRtp, SinglePacketNeverConfirmed) {
  NEED(capture("dev/skinny.pcap"));
  auto pkts = conversation(capture("dev/skinny.pcap"), 17, 32144, 17718);
  pkts.resize(2);
  UdpRun open = run_udp(pkts, false);
  EXPECT_TRUE(open.confirmed.empty());
  EXPECT_EQ(open.rec.labels.udp_type[0], l7::udp::FIRST_RTP);
  open.flow.close(open.rec);
  EXPECT_EQ(open.rec.labels.udp_type[0], 0);
  EXPECT_EQ(open.rec.labels.app, "");
}

// The same packets between a port <= 1024 and anything: never RTP.
TEST(FsmdpiRtp, LowPortIsNotRtp) {
  NEED(capture("dev/skinny.pcap"));
  auto pkts = conversation(capture("dev/skinny.pcap"), 17, 32144, 17718);
  for (auto& p : pkts) (p.udp.dir ? p.udp.dport : p.udp.sport) = 1000;
  UdpRun r = run_udp(pkts, false);
  EXPECT_TRUE(r.confirmed.empty());
  EXPECT_EQ(r.rec.labels.udp_type[0], 0);
  EXPECT_TRUE(r.flow.finished());
}

// FAX-Call-t38-CA-TDM-SIP-FB-1.pcap, 10.35.60.100:15580 <-> 10.23.1.52:16756.
TEST(FsmdpiRtp, SipCallMedia) {
  NEED(capture("dev/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"));
  auto pkts = conversation(capture("dev/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap"), 17, 15580, 16756);
  UdpRun r = run_udp(pkts);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTP);
}

// stun_classic.pcap, 172.16.63.224:55050 <-> 172.16.63.21:13958: a STUN
// binding request/response, then RTP on the same 5-tuple.
TEST(FsmdpiRtp, BehindStun) {
  NEED(capture("dev/stun_classic.pcap"));
  auto pkts = conversation(capture("dev/stun_classic.pcap"), 17, 55050, 13958);
  UdpRun r = run_udp(pkts);
  ASSERT_EQ(r.confirmed.size(), 2u);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTP);
}

// whatsapp_login_call.pcap, 192.168.2.4:51518 <-> 91.253.176.65:9344: STUN
// checks, then SRTP and SRTCP (encrypted compound packets).
TEST(FsmdpiRtp, WhatsAppCall) {
  NEED(capture("dev/whatsapp_login_call.pcap"));
  auto pkts = conversation(capture("dev/whatsapp_login_call.pcap"), 17, 51518, 9344);
  UdpRun r = run_udp(pkts);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTP);
}

// rtcp_multiple_pkts_in_the_same_datagram.pcap: compound RTCP only (SR or RR
// + SDES in one datagram), the sender SSRC repeating.
TEST(FsmdpiRtp, CompoundRtcp) {
  NEED(capture("dev/rtcp_multiple_pkts_in_the_same_datagram.pcap"));
  auto pkts = conversation(capture("dev/rtcp_multiple_pkts_in_the_same_datagram.pcap"), 17, 25963, 31601);
  UdpRun r = run_udp(pkts);
  ASSERT_EQ(r.confirmed.size(), 2u);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::RTCP);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTCP);
  EXPECT_EQ(r.rec.labels.app, "RTCP");
  EXPECT_EQ(l7::of_udp(r.rec.labels), l7::RTCP);
}

TEST(FsmdpiRtp, OtherClassifiersTypesStay) {
  NEED(capture("dev/skinny.pcap"));
  auto pkts = conversation(capture("dev/skinny.pcap"), 17, 32144, 17718);
  FlowLabels dns;  // a direction typed by PDPI is never overwritten...
  dns.udp_type = {l7::udp::DNS, 0};
  dns.app = "DNS";
  UdpRun r = run_udp(pkts, true, {}, dns);
  EXPECT_EQ(r.rec.labels.udp_type[0], l7::udp::DNS);
  EXPECT_EQ(r.rec.labels.udp_type[1], l7::udp::RTP);
  EXPECT_EQ(r.rec.labels.app, "DNS");
  FlowLabels dtls;  // ...except DTLS, which RTP may be multiplexed with
  dtls.udp_type = {l7::udp::DTLS, l7::udp::DTLS};
  UdpRun m = run_udp(pkts, true, {}, dtls);
  EXPECT_EQ(m.rec.labels.udp_type[0], l7::udp::RTP);
  pkts.resize(2);  // and DTLS comes back when RTP is never confirmed
  UdpRun u = run_udp(pkts, true, {}, dtls);
  EXPECT_EQ(u.rec.labels.udp_type[0], l7::udp::DTLS);
}

TEST(FsmdpiRtp, SearchBudgetPerDirection) {
  NEED(capture("dev/stun_classic.pcap"));
  auto pkts = conversation(capture("dev/stun_classic.pcap"), 17, 55050, 13958);
  Config cfg;
  cfg.max_udp_packets = 2;  // the client's STUN request and first RTP packet only
  UdpRun r = run_udp(pkts, true, cfg);
  EXPECT_EQ(r.rec.labels.udp_type[0], 0);
}

// ================================================================ robustness

// Every cut of a real ClientHello (the record not whole yet, nothing from the
// server): no decision, nothing read.
TEST(FsmdpiTls, TruncatedClientHelloDecidesNothing) {
  NEED(capture("dev/android.pcap"));
  const auto real = conversation(capture("dev/android.pcap"), 6, 32974, 443);
  const Bytes& hello = real[3].bytes;
  ASSERT_EQ(hello.size(), 166u);
  for (std::size_t cut = 6; cut < hello.size(); ++cut) {
    auto pkts = opening();
    pkts.push_back(seg(0, Bytes(hello.begin(), hello.begin() + static_cast<std::ptrdiff_t>(cut)), 1001));
    TcpRun r = run_tcp(pkts);
    EXPECT_TRUE(r.decisions.empty()) << cut;
    EXPECT_EQ(r.rec.l7.tls_sni, "") << cut;
  }
  auto whole = opening();  // the same bytes in two segments: decided on the second
  whole.push_back(seg(0, Bytes(hello.begin(), hello.begin() + 100), 1001));
  whole.push_back(seg(0, Bytes(hello.begin() + 100, hello.end()), 1101));
  TcpRun r = run_tcp(whole);
  ASSERT_EQ(r.decisions.size(), 1u);
  EXPECT_EQ(r.decisions[0].first, 5u);
  EXPECT_EQ(r.rec.l7.tls_sni, "clients1.google.com");
}

// Real conversations with bytes flipped at random (fixed seed): whatever the
// machines read stays within its declared bounds.
TEST(FsmdpiRobustness, MutatedConversationsKeepFactsBounded) {
  NEED(capture("dev/android.pcap"));
  std::vector<std::vector<Pkt>> convs = {conversation(capture("dev/android.pcap"), 6, 32974, 443),
                                         conversation(capture("dev/android.pcap"), 6, 32998, 443),
                                         conversation(capture("dev/android.pcap"), 6, 58338, 80),
                                         conversation(capture("dev/ssh.pcap"), 6, 58395, 22),
                                         conversation(capture("dev/imap.pcap"), 6, 46045, 143)};
  std::uint32_t x = 2463534242u;
  auto rnd = [&] {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
  };
  auto hexlist = [](const std::string& v) {
    return v.find_first_not_of("0123456789abcdef,") == std::string::npos;
  };
  int decided = 0;
  for (auto& base : convs) {
    ASSERT_FALSE(base.empty());
    for (int round = 0; round < 300; ++round) {
      auto pkts = base;
      for (auto& p : pkts)
        for (auto& b : p.bytes)
          if (rnd() % 64 == 0) b = static_cast<std::uint8_t>(rnd());
      TcpRun r = run_tcp(pkts);
      decided += !r.decisions.empty();
      const L7Facts& l = r.rec.l7;
      EXPECT_LE(l.banner[0].size(), 128u);
      EXPECT_LE(l.banner[1].size(), 128u);
      EXPECT_LE(l.tls_sni.size(), 255u);
      EXPECT_LE(l.tls_cn.size(), 255u);
      EXPECT_LE(l.http_host.size(), 255u);
      EXPECT_TRUE(hexlist(l.tls_version[0]) && hexlist(l.tls_version[1]));
      EXPECT_LE(r.decisions.size(), 1u);
    }
  }
  EXPECT_GT(decided, 0);
}
