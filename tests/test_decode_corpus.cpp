// Decoder tests on real captures of the shared corpus. Expected values were
// taken from tshark (an independent dissector) when the test was written:
//   tshark -r X -o ip.defragment:FALSE -T fields -e frame.protocols -e ip.src
//     -e ip.dst -e ipv6.src -e ipv6.dst -e tcp.srcport ... -e vlan.id
//     -e vxlan.vni -e gre.key -e gre.key.call_id -e gtp.teid
// taking the innermost IP header (before any ICMP payload) of each frame.
// Counts: frames, inner IPv4, inner IPv6, inner TCP, inner UDP, tunneled,
// VLAN-tagged; plus the first, middle and last frames in detail.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "decode/decode.hpp"
#include "pcap_builder.hpp"

using namespace netloom;
using netloom::testing::addr;

namespace {

struct Frame {
  int number;
  int ver;
  const char* src;
  const char* dst;
  int l4;  // -1: not checked
  int sport, dport;
  TunnelType tunnel;
  std::uint32_t tunnel_id;
  int vlan;
};
struct Capture {
  const char* file;  // relative to the corpus root
  int total, v4, v6, tcp, udp, tunneled, vlan;
  std::vector<Frame> frames;
};

const std::vector<Capture>& captures() {
  static const std::vector<Capture> c = {
      {"dev/vxlan.pcap",
       127,
       127,
       0,
       119,
       8,
       127,
       127,
       {{1, 4, "10.10.20.4", "8.8.8.8", 17, 44437, 53, TunnelType::vxlan, 1111u, 5},
        {64, 4, "10.10.20.4", "157.240.224.35", 6, 45228, 443, TunnelType::vxlan, 1111u, 5},
        {127, 4, "10.10.20.4", "157.240.224.35", 6, 45228, 443, TunnelType::vxlan, 1111u, 5}}},
      {"dev/gre.pcap",
       38,
       38,
       0,
       0,
       36,
       38,
       36,
       {{1, 4, "212.83.179.0", "192.200.144.148", 17, 5097, 5060, TunnelType::gre, 45916u, 155},
        {20, 4, "192.168.10.210", "192.168.103.40", 17, 5060, 5060, TunnelType::gre, 38992u, 142},
        {38, 4, "10.1.2.2", "10.1.2.1", 1, 0, 0, TunnelType::gre, 0u, 0}}},
      {"dev/gre.pcapng",
       1,
       1,
       0,
       0,
       1,
       1,
       1,
       {{1, 4, "192.168.10.210", "192.168.103.40", 17, 5060, 5060, TunnelType::gre, 38992u, 142}}},
      {"dev/ipv6_in_gtp.pcap",
       2,
       0,
       2,
       0,
       1,
       2,
       2,
       {{1, 6, "2607:fc20:4052:39e:490a:ea4d:17fe:e09c", "fd00:976a:bc67:193e::7", 17, 49120, 25658,
         TunnelType::gtpu, 310415288u, 3233},
        {2, 6, "2a01:4c8:c014:144e:1:2:945b:6761", "2a01:4c8:f000:f49::4", -1, 0, 0, TunnelType::gtpu,
         122426800u, 3231}}},
      {"dev/rtmp_B.pcap",
       17,
       17,
       0,
       17,
       0,
       17,
       17,
       {{1, 4, "10.140.80.204", "203.205.224.48", 6, 49757, 1935, TunnelType::gtpu, 21807372u, 3394},
        {9, 4, "10.140.80.204", "203.205.224.48", 6, 49757, 1935, TunnelType::gtpu, 21807372u, 3394},
        {17, 4, "203.205.224.48", "10.140.80.204", 6, 1935, 49757, TunnelType::gtpu, 3592428305u, 3394}}},
      {"dev/capwap_data.pcapng",
       14,
       14,
       0,
       14,
       0,
       14,
       14,
       {{1, 4, "10.1.3.68", "74.125.130.188", 6, 47025, 443, TunnelType::capwap, 0u, 94},
        {8, 4, "10.1.3.68", "74.125.130.188", 6, 47025, 443, TunnelType::capwap, 0u, 93},
        {14, 4, "74.125.130.188", "10.1.3.68", 6, 443, 47025, TunnelType::capwap, 0u, 94}}},
      {"dev/dlt_ppp.pcap",
       1,
       1,
       0,
       0,
       1,
       0,
       0,
       {{1, 4, "193.167.0.252", "193.167.100.100", 17, 44083, 443, TunnelType::none, 0u, 0}}},
      {"dev/BGP_redist.pcap",
       2,
       2,
       0,
       2,
       0,
       0,
       0,
       {{1, 4, "2.2.2.2", "4.4.4.4", 6, 179, 63535, TunnelType::none, 0u, 0},
        {2, 4, "2.2.2.2", "5.5.5.5", 6, 179, 49433, TunnelType::none, 0u, 0}}},
      {"dev/iqiyi.pcap",
       2,
       2,
       0,
       0,
       2,
       0,
       0,
       {{1, 4, "10.215.173.1", "116.211.199.199", 17, 50412, 16600, TunnelType::none, 0u, 0},
        {2, 4, "116.211.199.199", "10.215.173.1", 17, 16600, 50412, TunnelType::none, 0u, 0}}},
      {"dev/openvpn-tlscrypt.pcap",
       13,
       0,
       13,
       0,
       13,
       0,
       0,
       {{1, 6, "::1", "::1", 17, 56256, 1194, TunnelType::none, 0u, 0},
        {7, 6, "::1", "::1", 17, 1194, 56256, TunnelType::none, 0u, 0},
        {13, 6, "::1", "::1", 17, 56256, 1194, TunnelType::none, 0u, 0}}},
      {"dev/rtcp_multiple_pkts_in_the_same_datagram.pcap",
       5,
       5,
       0,
       0,
       5,
       0,
       0,
       {{1, 4, "217.12.244.34", "217.12.247.98", 17, 25963, 31601, TunnelType::none, 0u, 0},
        {3, 4, "217.12.244.34", "217.12.247.98", 17, 25963, 31601, TunnelType::none, 0u, 0},
        {5, 4, "217.12.244.34", "217.12.247.98", 17, 25963, 31601, TunnelType::none, 0u, 0}}},
      {"dev/ossfuzz_seed_fake_traces_4.pcapng",
       2,
       2,
       0,
       0,
       2,
       0,
       0,
       {{1, 4, "127.0.0.1", "127.0.0.1", 17, 100, 200, TunnelType::none, 0u, 0},
        {2, 4, "127.0.0.1", "127.0.0.1", 17, 200, 100, TunnelType::none, 0u, 0}}},
      {"dev/quic-fuzz-overflow.pcapng",
       1,
       1,
       0,
       0,
       1,
       0,
       0,
       {{1, 4, "255.255.255.255", "255.255.255.32", 17, 8224, 8224, TunnelType::none, 0u, 0}}},
      {"dev/someip_sd_sample.pcap",
       6,
       6,
       0,
       0,
       6,
       0,
       0,
       {{1, 4, "192.168.88.73", "235.2.3.5", 17, 30490, 30490, TunnelType::none, 0u, 0},
        {4, 4, "192.168.88.73", "235.2.3.5", 17, 30490, 30490, TunnelType::none, 0u, 0},
        {6, 4, "192.168.88.73", "192.168.88.77", 17, 30490, 30490, TunnelType::none, 0u, 0}}},
      {"formats/test_loopback.pcap",
       24,
       0,
       24,
       24,
       0,
       0,
       0,
       {{1, 6, "::1", "::1", 6, 58799, 8080, TunnelType::none, 0u, 0},
        {13, 6, "::1", "::1", 6, 58799, 8080, TunnelType::none, 0u, 0},
        {24, 6, "::1", "::1", 6, 58799, 8080, TunnelType::none, 0u, 0}}},
      {"dev/smtp-starttls.pcap",
       69,
       36,
       33,
       69,
       0,
       0,
       33,
       {{1, 4, "10.0.0.1", "173.194.68.26", 6, 57406, 25, TunnelType::none, 0u, 0},
        {35, 4, "10.0.0.1", "173.194.68.26", 6, 57406, 25, TunnelType::none, 0u, 0},
        {69, 6, "2003:de:2016:120::a08:53", "2003:de:2016:125:fc36:8317:4e86:cb72", 6, 25, 7562,
         TunnelType::none, 0u, 125}}},
      {"dev/android.pcap",
       500,
       466,
       9,
       398,
       70,
       0,
       0,
       {{1, 4, "95.101.24.53", "192.168.2.17", 6, 443, 50677, TunnelType::none, 0u, 0},
        {251, 4, "172.217.21.202", "192.168.2.16", 6, 443, 51928, TunnelType::none, 0u, 0},
        {500, 4, "172.217.22.10", "192.168.2.16", 6, 443, 44374, TunnelType::none, 0u, 0}}},
      {"dev/whatsapp_login_call.pcap",
       1253,
       1247,
       4,
       409,
       832,
       0,
       0,
       {{1, 4, "192.168.2.4", "17.172.100.70", 6, 49199, 993, TunnelType::none, 0u, 0},
        {627, 4, "192.168.2.4", "91.253.176.65", 17, 51518, 9344, TunnelType::none, 0u, 0},
        {1253, 4, "192.168.2.4", "184.173.179.37", 6, 49202, 5222, TunnelType::none, 0u, 0}}},
  };
  return c;
}

using netloom::test::corpus_root;

struct Decoded {
  std::vector<std::vector<std::uint8_t>> bytes;
  std::vector<std::uint32_t> wirelen;
  std::vector<Packet> packets;
  std::vector<bool> ok;
};

// Reads every packet with libpcap and decodes it.
bool load(const std::filesystem::path& path, Decoded& out, std::string& err) {
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (!pc) {
    err = errbuf;
    return false;
  }
  const int dlt = pcap_datalink(pc);
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(pc, &h, &data) == 1) {
    out.bytes.emplace_back(data, data + h->caplen);
    out.wirelen.push_back(h->len);
  }
  pcap_close(pc);
  out.packets.resize(out.bytes.size());
  for (std::size_t i = 0; i < out.bytes.size(); ++i) {
    Packet& p = out.packets[i];
    p.data = out.bytes[i].data();
    p.caplen = static_cast<std::uint32_t>(out.bytes[i].size());
    p.wirelen = out.wirelen[i];
    p.linktype = static_cast<std::uint16_t>(dlt);
    out.ok.push_back(decode::decode_packet(p));
  }
  return true;
}

class DecodeCorpus : public ::testing::TestWithParam<Capture> {};

TEST_P(DecodeCorpus, MatchesTshark) {
  const Capture& cap = GetParam();
  const auto path = corpus_root() / cap.file;
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << "corpus capture " << path << " not found (set NETLOOM_CORPUS)";
  Decoded d;
  std::string err;
  ASSERT_TRUE(load(path, d, err)) << err;
  ASSERT_EQ(static_cast<int>(d.packets.size()), cap.total);

  int v4 = 0, v6 = 0, tcp = 0, udp = 0, tun = 0, vlan = 0, ok = 0;
  for (std::size_t i = 0; i < d.packets.size(); ++i) {
    const Packet& p = d.packets[i];
    ok += d.ok[i];
    v4 += p.ip_version == 4;
    v6 += p.ip_version == 6;
    const bool l4 = !p.has(kFragment) && p.l4_off != kNoOffset;
    tcp += l4 && p.l4_proto == 6;
    udp += l4 && p.l4_proto == 17;
    tun += p.has(kTunneled);
    vlan += p.has(kVlan);
    if (p.is_ip()) {
      EXPECT_NE(p.flow_hash, 0u) << "frame " << i + 1;
      const bool ports = (p.l4_proto == 6 || p.l4_proto == 17) && !p.has(kFragment);
      EXPECT_EQ(p.flow_hash, decode::flow_hash(p.dst, p.src, ports ? p.dport : 0, ports ? p.sport : 0,
                                               p.l4_proto, p.ip_version))
          << "frame " << i + 1;
    }
  }
  EXPECT_EQ(ok, v4 + v6);
  EXPECT_EQ(v4, cap.v4);
  EXPECT_EQ(v6, cap.v6);
  EXPECT_EQ(tcp, cap.tcp);
  EXPECT_EQ(udp, cap.udp);
  EXPECT_EQ(tun, cap.tunneled);
  EXPECT_EQ(vlan, cap.vlan);

  for (const Frame& f : cap.frames) {
    SCOPED_TRACE("frame " + std::to_string(f.number));
    ASSERT_LE(f.number, static_cast<int>(d.packets.size()));
    const Packet& p = d.packets[f.number - 1];
    EXPECT_EQ(p.ip_version, f.ver);
    EXPECT_EQ(p.src, addr(f.src));
    EXPECT_EQ(p.dst, addr(f.dst));
    if (f.l4 >= 0) {
      EXPECT_EQ(p.l4_proto, f.l4);
    }
    if (f.l4 == 6 || f.l4 == 17) {
      EXPECT_EQ(p.sport, f.sport);
      EXPECT_EQ(p.dport, f.dport);
    }
    EXPECT_EQ(p.tunnel, f.tunnel);
    EXPECT_EQ(p.tunnel_id, f.tunnel_id);
    EXPECT_EQ(p.vlan, f.vlan);
    EXPECT_EQ(p.has(kTunneled), f.tunnel != TunnelType::none);
    EXPECT_FALSE(p.has(kMalformed));
  }
}

std::string capture_name(const ::testing::TestParamInfo<Capture>& info) {
  std::string s = std::filesystem::path(info.param.file).filename().string();
  for (auto& ch : s)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Captures, DecodeCorpus, ::testing::ValuesIn(captures()), capture_name);

// Details the table does not express.
Decoded load_or_skip(const char* rel, bool& skipped) {
  Decoded d;
  std::string err;
  const auto path = corpus_root() / rel;
  skipped = !std::filesystem::exists(path);
  if (!skipped) {
    EXPECT_TRUE(load(path, d, err)) << err;
  }
  return d;
}

TEST(DecodeCorpusDetail, GtpCarriesEsp) {
  bool skipped;
  auto d = load_or_skip("dev/ipv6_in_gtp.pcap", skipped);
  if (skipped) GTEST_SKIP() << "corpus not found (set NETLOOM_CORPUS)";
  ASSERT_EQ(d.packets.size(), 2u);
  const Packet& p = d.packets[1];
  EXPECT_EQ(p.l4_proto, 50);          // ESP inside the GTP tunnel
  EXPECT_EQ(p.outer_l3_off, 14 + 8);  // two VLAN tags
  EXPECT_EQ(p.l3_off, 14 + 8 + 20 + 8 + 8);
  EXPECT_EQ(p.sport, 0);
}

TEST(DecodeCorpusDetail, MplsOverCiscoHdlc) {
  bool skipped;
  auto d = load_or_skip("dev/BGP_redist.pcap", skipped);
  if (skipped) GTEST_SKIP() << "corpus not found (set NETLOOM_CORPUS)";
  ASSERT_EQ(d.packets.size(), 2u);
  EXPECT_TRUE(d.packets[0].has(kMpls));  // tshark: chdlc:mpls:ip:tcp, label 18
  EXPECT_EQ(d.packets[0].l3_off, 4 + 4);
  EXPECT_FALSE(d.packets[1].has(kMpls));
  EXPECT_EQ(d.packets[1].l3_off, 4);
}

TEST(DecodeCorpusDetail, PppoeQinQPptp) {
  bool skipped;
  auto d = load_or_skip("dev/gre.pcap", skipped);
  if (skipped) GTEST_SKIP() << "corpus not found (set NETLOOM_CORPUS)";
  // Frame 1: eth:vlan(155):vlan(1):pppoes:ppp:ip:gre(v1):ppp:ip:udp.
  const Packet& p = d.packets.at(0);
  EXPECT_TRUE(p.has(kPppoe));
  EXPECT_TRUE(p.has(kVlan));
  EXPECT_EQ(p.outer_l3_off, 14 + 8 + 8);
  EXPECT_EQ(p.l4_proto, 17);
  // Frames 37/38: GRE version 0 without key carrying IPv4/ICMP echo.
  EXPECT_EQ(d.packets.at(36).sport, 8);  // echo request
  EXPECT_EQ(d.packets.at(37).sport, 0);  // echo reply
  EXPECT_EQ(d.packets.at(36).flow_hash, d.packets.at(37).flow_hash);
}

TEST(DecodeCorpusDetail, FirstFragment) {
  bool skipped;
  auto d = load_or_skip("dev/quic-fuzz-overflow.pcapng", skipped);
  if (skipped) GTEST_SKIP() << "corpus not found (set NETLOOM_CORPUS)";
  ASSERT_EQ(d.packets.size(), 1u);
  EXPECT_TRUE(d.packets[0].has(kFirstFragment));  // tshark: MF set, offset 0
  EXPECT_EQ(d.packets[0].l4_off, 20);
}

// pcap_builder's writer round-trips through libpcap (and gives other tests a
// way to make small captures).
TEST(DecodePcapBuilder, WrittenCaptureReadsBack) {
  using namespace netloom::testing;
  const auto path =
      std::filesystem::temp_directory_path() / ("netloom_decode_" + std::to_string(::getpid()) + ".pcap");
  const std::vector<Bytes> frames = {
      eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1000, 80, kTcpSyn))),
      eth(kEtherVlan, vlan(42, kEtherIpv6, ipv6("::1", "::2", kIpUdp, udp(53, 5353, filler(300))))),
  };
  ASSERT_TRUE(write_pcap(path.string(), kDltEthernet, frames, 100));
  Decoded d;
  std::string err;
  ASSERT_TRUE(load(path, d, err)) << err;
  std::filesystem::remove(path);
  ASSERT_EQ(d.packets.size(), 2u);
  EXPECT_EQ(d.packets[0].dport, 80);
  EXPECT_EQ(d.packets[1].vlan, 42);
  EXPECT_EQ(d.packets[1].caplen, 100u);  // snaplen applied by the writer
  EXPECT_EQ(d.packets[1].sport, 53);
  EXPECT_TRUE(d.packets[1].has(kTruncated));
  EXPECT_FALSE(d.packets[1].has(kMalformed));
}

}  // namespace
