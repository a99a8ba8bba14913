// Decoder tests on hand-built frames: every encapsulation, lying lengths,
// truncation at every byte, fragments, IPv6 extension headers, the flow hash.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "decode/decode.hpp"
#include "pcap_builder.hpp"

using namespace netloom;
using namespace netloom::testing;
using netloom::decode::decode_packet;

namespace {

// Decodes from a heap copy of exactly `caplen` bytes so AddressSanitizer sees
// any read past the captured data.
struct Decoded {
  std::unique_ptr<std::uint8_t[]> buf;
  Packet p;
  bool ok = false;
};
Decoded run(const Bytes& f, std::uint32_t linktype = kDltEthernet, std::size_t caplen = SIZE_MAX,
            std::uint32_t wirelen = 0) {
  Decoded d;
  const std::size_t n = std::min(caplen, f.size());
  d.buf.reset(new std::uint8_t[n]);
  if (n) std::memcpy(d.buf.get(), f.data(), n);
  d.p.data = d.buf.get();
  d.p.caplen = static_cast<std::uint32_t>(n);
  d.p.wirelen = wirelen ? wirelen : static_cast<std::uint32_t>(n);
  d.p.linktype = static_cast<std::uint16_t>(linktype);
  d.ok = decode_packet(d.p);
  return d;
}

const Bytes kHttp = {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'};

Bytes eth_v4_tcp() {
  return eth(kEtherIpv4, ipv4("10.0.0.1", "192.168.1.2", kIpTcp, tcp(40000, 80, kTcpAck | kTcpPsh, kHttp)));
}

}  // namespace

// ---------------------------------------------------------------- basics

TEST(DecodeBasic, EthernetIpv4Tcp) {
  auto d = run(eth_v4_tcp());
  const Packet& p = d.p;
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.ip_version, 4);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 34);
  EXPECT_EQ(p.payload_off, 54);
  EXPECT_EQ(p.payload_len, kHttp.size());
  EXPECT_EQ(p.ip_len, 20 + 20 + kHttp.size());
  EXPECT_EQ(p.l4_proto, kIpTcp);
  EXPECT_EQ(p.sport, 40000);
  EXPECT_EQ(p.dport, 80);
  EXPECT_EQ(p.tcp_flags, kTcpAck | kTcpPsh);
  EXPECT_EQ(p.ttl, 64);
  EXPECT_EQ(p.src, addr("10.0.0.1"));
  EXPECT_EQ(p.dst, addr("192.168.1.2"));
  EXPECT_EQ(p.outer_l3_off, kNoOffset);
  EXPECT_EQ(p.tunnel, TunnelType::none);
  EXPECT_NE(p.flow_hash, 0u);
  EXPECT_EQ(std::memcmp(p.payload(), kHttp.data(), kHttp.size()), 0);
}

TEST(DecodeBasic, EthernetPaddingIsNotPayload) {
  Bytes f = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1, 2, kTcpSyn)));
  f.resize(60, 0);  // minimum Ethernet frame
  auto d = run(f);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.flags, 0);
  EXPECT_EQ(d.p.payload_len, 0u);
  EXPECT_EQ(d.p.ip_len, 40u);
  Bytes u = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(1, 2, {9, 9})));
  u.resize(60, 0xEE);
  auto du = run(u);
  EXPECT_EQ(du.p.payload_len, 2u);
}

TEST(DecodeBasic, Ipv4OptionsAndTcpOptions) {
  auto d = run(eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpTcp, tcp(5, 6, kTcpSyn, kHttp, 12),
                                    {.ttl = 7, .option_bytes = 8})));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.l4_off, 14 + 28);
  EXPECT_EQ(d.p.payload_off, 14 + 28 + 32);
  EXPECT_EQ(d.p.payload_len, kHttp.size());
  EXPECT_EQ(d.p.ttl, 7);
}

TEST(DecodeBasic, Ipv6Udp) {
  auto d = run(eth(kEtherIpv6, ipv6("2001:db8::1", "2001:db8:1::2", kIpUdp, udp(5353, 53, {1, 2, 3}), 33)));
  const Packet& p = d.p;
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(p.flags, 0);
  EXPECT_EQ(p.ip_version, 6);
  EXPECT_EQ(p.l3_off, 14);
  EXPECT_EQ(p.l4_off, 54);
  EXPECT_EQ(p.payload_off, 62);
  EXPECT_EQ(p.payload_len, 3u);
  EXPECT_EQ(p.ip_len, 40u + 8 + 3);
  EXPECT_EQ(p.ttl, 33);
  EXPECT_EQ(p.sport, 5353);
  EXPECT_EQ(p.dport, 53);
  EXPECT_EQ(p.src, addr("2001:db8::1"));
  EXPECT_EQ(p.dst, addr("2001:db8:1::2"));
}

TEST(DecodeBasic, IcmpAndIcmpv6AndSctp) {
  auto d = run(eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpIcmp, icmp(8, 0, {1, 2}))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.l4_proto, kIpIcmp);
  EXPECT_EQ(d.p.sport, 8);
  EXPECT_EQ(d.p.dport, 0);
  EXPECT_EQ(d.p.payload_len, 2u);
  auto d6 = run(eth(kEtherIpv6, ipv6("fe80::1", "ff02::1", kIpIcmpv6, icmp(135, 0))));
  ASSERT_TRUE(d6.ok);
  EXPECT_EQ(d6.p.l4_proto, kIpIcmpv6);
  EXPECT_EQ(d6.p.sport, 135);
  auto ds = run(eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpSctp, sctp(2905, 2906, filler(16)))));
  ASSERT_TRUE(ds.ok);
  EXPECT_EQ(ds.p.sport, 2905);
  EXPECT_EQ(ds.p.dport, 2906);
  EXPECT_EQ(ds.p.payload_len, 16u);
}

TEST(DecodeBasic, OtherProtocolHasNoPorts) {
  auto d = run(eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", 89 /*OSPF*/, filler(24))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.l4_proto, 89);
  EXPECT_EQ(d.p.l4_off, 34);
  EXPECT_EQ(d.p.sport, 0);
  EXPECT_EQ(d.p.dport, 0);
  EXPECT_EQ(d.p.flags, 0);
}

TEST(DecodeBasic, NotIpAndUnknownLink) {
  auto arp = run(eth(kEtherArp, filler(28)));
  EXPECT_FALSE(arp.ok);
  EXPECT_TRUE(arp.p.has(kNotIp));
  EXPECT_EQ(arp.p.ip_version, 0);
  EXPECT_EQ(arp.p.flow_hash, 0u);
  auto disc = run(eth(kEtherPppoeDisc, filler(20)));
  EXPECT_FALSE(disc.ok);
  EXPECT_TRUE(disc.p.has(kNotIp));
  auto unk = run(eth_v4_tcp(), 147 /*USER0*/);
  EXPECT_FALSE(unk.ok);
  EXPECT_TRUE(unk.p.has(kUnknownLink));
}

TEST(DecodeBasic, PacketReuseResetsFields) {
  Bytes t =
      eth(kEtherIpv4,
          ipv4("10.0.0.1", "10.0.0.2", kIpUdp,
               udp(1, 4789, vxlan(7, eth(kEtherIpv6, ipv6("::1", "::2", kIpTcp, tcp(3, 4, kTcpSyn)))))));
  Bytes plain = eth(kEtherArp, filler(28));
  Packet p;
  p.data = t.data();
  p.caplen = p.wirelen = static_cast<std::uint32_t>(t.size());
  p.linktype = 1;
  ASSERT_TRUE(decode_packet(p));
  EXPECT_TRUE(p.has(kTunneled));
  p.data = plain.data();
  p.caplen = p.wirelen = static_cast<std::uint32_t>(plain.size());
  EXPECT_FALSE(decode_packet(p));
  Packet fresh;
  fresh.data = plain.data();
  fresh.caplen = fresh.wirelen = p.caplen;
  fresh.linktype = 1;
  decode_packet(fresh);
  EXPECT_EQ(p.payload_len, fresh.payload_len);
  EXPECT_EQ(p.ip_len, fresh.ip_len);
  EXPECT_EQ(p.flow_hash, fresh.flow_hash);
  EXPECT_EQ(p.tunnel_id, fresh.tunnel_id);
  EXPECT_EQ(p.l3_off, fresh.l3_off);
  EXPECT_EQ(p.l4_off, fresh.l4_off);
  EXPECT_EQ(p.payload_off, fresh.payload_off);
  EXPECT_EQ(p.outer_l3_off, fresh.outer_l3_off);
  EXPECT_EQ(p.sport, fresh.sport);
  EXPECT_EQ(p.dport, fresh.dport);
  EXPECT_EQ(p.flags, fresh.flags);
  EXPECT_EQ(p.ip_version, fresh.ip_version);
  EXPECT_EQ(p.l4_proto, fresh.l4_proto);
  EXPECT_EQ(p.tunnel, fresh.tunnel);
  EXPECT_EQ(p.src, fresh.src);
  EXPECT_EQ(p.dst, fresh.dst);
}

// ---------------------------------------------------------------- L2 encapsulations

TEST(DecodeL2, VlanAndQinQ) {
  const Bytes ip = ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(1000, 53));
  auto d = run(eth(kEtherVlan, vlan(100, kEtherIpv4, ip, 5)));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.p.has(kVlan));
  EXPECT_EQ(d.p.vlan, 100);
  EXPECT_EQ(d.p.l3_off, 18);
  EXPECT_EQ(d.p.dport, 53);

  auto q = run(
      eth(kEtherQinQ, vlan(300, kEtherVlan, vlan(42, kEtherIpv6, ipv6("::1", "::2", kIpTcp, tcp(1, 2, 0))))));
  ASSERT_TRUE(q.ok);
  EXPECT_EQ(q.p.vlan, 300);  // outermost
  EXPECT_EQ(q.p.l3_off, 22);
  EXPECT_EQ(q.p.ip_version, 6);

  // 8 tags are accepted, 9 are not.
  Bytes inner = ip;
  std::uint16_t next = kEtherIpv4;
  for (int i = 0; i < 8; ++i) {
    inner = vlan(static_cast<std::uint16_t>(10 + i), next, inner);
    next = kEtherVlan;
  }
  auto eight = run(eth(kEtherVlan, inner));
  EXPECT_TRUE(eight.ok);
  EXPECT_EQ(eight.p.vlan, 17);
  EXPECT_EQ(eight.p.l3_off, 14 + 32);
  auto nine = run(eth(kEtherVlan, vlan(1, kEtherVlan, inner)));
  EXPECT_FALSE(nine.ok);
  EXPECT_TRUE(nine.p.has(kMalformed));
}

TEST(DecodeL2, MplsStack) {
  auto d =
      run(eth(kEtherMpls, mpls({16, 17, 18}, ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1, 179, kTcpSyn)))));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.p.has(kMpls));
  EXPECT_EQ(d.p.l3_off, 14 + 12);
  EXPECT_EQ(d.p.dport, 179);
  auto d6 = run(eth(kEtherVlan, vlan(9, kEtherMpls, mpls({100}, ipv6("::1", "::2", kIpUdp, udp(1, 2))))));
  ASSERT_TRUE(d6.ok);
  EXPECT_TRUE(d6.p.has(kMpls) && d6.p.has(kVlan));
  EXPECT_EQ(d6.p.l3_off, 14 + 4 + 4);
  EXPECT_EQ(d6.p.ip_version, 6);
  // Pseudowire control word (first nibble 0): not IP.
  auto pw = run(eth(kEtherMpls, mpls({20}, Bytes{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})));
  EXPECT_FALSE(pw.ok);
  EXPECT_TRUE(pw.p.has(kNotIp));
  // No bottom of stack anywhere: malformed, never an endless walk.
  Bytes labels;
  for (int i = 0; i < 40; ++i) put32(labels, 0x00010040);
  auto nobos = run(eth(kEtherMpls, labels));
  EXPECT_FALSE(nobos.ok);
  EXPECT_TRUE(nobos.p.has(kMalformed));
}

TEST(DecodeL2, PppoeSession) {
  auto d =
      run(eth(kEtherPppoeSess,
              pppoe_session(0x1234, 0x0021, ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1, 443, kTcpSyn)))));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.p.has(kPppoe));
  EXPECT_EQ(d.p.l3_off, 22);
  EXPECT_EQ(d.p.dport, 443);
  auto d6 = run(eth(
      kEtherVlan, vlan(7, kEtherPppoeSess, pppoe_session(1, 0x0057, ipv6("::1", "::2", kIpUdp, udp(1, 2))))));
  ASSERT_TRUE(d6.ok);
  EXPECT_EQ(d6.p.l3_off, 26);
  EXPECT_EQ(d6.p.ip_version, 6);
  auto lcp = run(eth(kEtherPppoeSess, pppoe_session(1, 0xC021, filler(10))));
  EXPECT_FALSE(lcp.ok);
  EXPECT_TRUE(lcp.p.has(kNotIp));
}

TEST(DecodeL2, LinkTypes) {
  const Bytes ip4 = ipv4("10.1.1.1", "10.2.2.2", kIpUdp, udp(1111, 2222, {1}));
  const Bytes ip6 = ipv6("2001:db8::1", "2001:db8::2", kIpTcp, tcp(3333, 4444, kTcpSyn));
  struct Case {
    const char* name;
    Bytes frame;
    std::uint32_t dlt;
    std::uint16_t l3;
    int ver;
  } cases[] = {
      {"raw101 v4", ip4, 101, 0, 4},
      {"raw12 v6", ip6, 12, 0, 6},
      {"ipv4 228", ip4, 228, 0, 4},
      {"ipv6 229", ip6, 229, 0, 6},
      {"null v4", null_loopback(2, ip4), 0, 4, 4},
      {"null v6 darwin", null_loopback(30, ip6), 0, 4, 6},
      {"null v6 big-endian host", cat({Bytes{0, 0, 0, 24}, ip6}), 0, 4, 6},
      {"loop v4", cat({Bytes{0, 0, 0, 2}, ip4}), 108, 4, 4},
      {"ppp ff03", ppp(0x0021, ip4), 9, 4, 4},
      {"ppp bare", ppp(0x0057, ip6, false), 9, 2, 6},
      {"ppp compressed proto", cat({Bytes{0x21}, ip4}), 9, 1, 4},
      {"ppp serial", ppp(0x0021, ip4), 50, 4, 4},
      {"ppp serial chdlc", chdlc(0x0800, ip4), 50, 4, 4},
      {"chdlc", chdlc(0x86DD, ip6), 104, 4, 6},
      {"chdlc mpls", chdlc(0x8847, mpls({5}, ip4)), 104, 8, 4},
      {"sll", sll(0x0800, ip4), 113, 16, 4},
      {"sll vlan", sll(0x8100, vlan(12, 0x86DD, ip6)), 113, 20, 6},
      {"sll2", sll2(0x86DD, ip6), 276, 20, 6},
      {"ppi eth", cat({Bytes{0, 0, 8, 0, 1, 0, 0, 0}, eth(kEtherIpv4, ip4)}), 192, 22, 4},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto d = run(c.frame, c.dlt);
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.p.l3_off, c.l3);
    EXPECT_EQ(d.p.ip_version, c.ver);
    EXPECT_EQ(d.p.flags & (kMalformed | kL4Truncated), 0);
    EXPECT_EQ(d.p.sport, c.ver == 4 ? 1111 : 3333);
  }
  auto wrong = run(ip6, 228);  // DLT_IPV4 carrying IPv6
  EXPECT_FALSE(wrong.ok);
  EXPECT_TRUE(wrong.p.has(kMalformed));
  auto af = run(null_loopback(7, ip4), 0);
  EXPECT_FALSE(af.ok);
  EXPECT_TRUE(af.p.has(kNotIp));
}

TEST(DecodeL2, Ieee80211AndLlcSnap) {
  // 802.3 length + LLC/SNAP carrying IPv4.
  const Bytes ip = ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(1, 2));
  Bytes snap = {0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x00};
  auto d = run(eth(static_cast<std::uint16_t>(snap.size() + ip.size()), cat({snap, ip})));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.l3_off, 22);
  // 802.11 QoS data frame (ToDS), LLC/SNAP, IPv4.
  Bytes wlan = {0x88, 0x01, 0, 0};
  wlan.resize(24, 0x11);
  wlan.push_back(0);
  wlan.push_back(0);  // QoS control
  auto w = run(cat({wlan, snap, ip}), 105);
  ASSERT_TRUE(w.ok);
  EXPECT_EQ(w.p.l3_off, 26 + 8);
}

// ---------------------------------------------------------------- IP details

TEST(DecodeIp, Ipv4Fragments) {
  auto first =
      run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(7000, 8000, filler(32)), {.mf = true})));
  ASSERT_TRUE(first.ok);
  EXPECT_TRUE(first.p.has(kFirstFragment));
  EXPECT_FALSE(first.p.has(kFragment));
  EXPECT_EQ(first.p.sport, 7000);
  EXPECT_EQ(first.p.l4_off, 34);

  // The UDP length of a first fragment covers the whole datagram.
  Bytes big = udp(7000, 8000, filler(100));
  big.resize(8 + 32);
  auto firstbig = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, big, {.mf = true})));
  ASSERT_TRUE(firstbig.ok);
  EXPECT_FALSE(firstbig.p.has(kMalformed));
  EXPECT_EQ(firstbig.p.payload_len, 32u);

  auto later =
      run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, filler(40), {.mf = true, .frag_offset8 = 5})));
  ASSERT_TRUE(later.ok);
  EXPECT_TRUE(later.p.has(kFragment));
  EXPECT_FALSE(later.p.has(kFirstFragment));
  EXPECT_EQ(later.p.l4_proto, kIpUdp);
  EXPECT_EQ(later.p.l4_off, kNoOffset);
  EXPECT_EQ(later.p.sport, 0);
  EXPECT_EQ(later.p.payload_off, 34);
  EXPECT_EQ(later.p.payload_len, 40u);
  EXPECT_EQ(later.p.flow_hash, decode::flow_hash(addr("10.0.0.2"), addr("10.0.0.1"), 0, 0, kIpUdp, 4));

  auto last = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, filler(8), {.frag_offset8 = 10})));
  EXPECT_TRUE(last.p.has(kFragment));
  // A first fragment decodes its L4 header, but the hash of all fragments of
  // a datagram must agree: this is the flow-tracker's job; here just check
  // the first fragment's hash uses its ports.
  EXPECT_EQ(first.p.flow_hash, decode::flow_hash(addr("10.0.0.1"), addr("10.0.0.2"), 7000, 8000, kIpUdp, 4));
}

TEST(DecodeIp, Ipv6ExtensionChain) {
  const Bytes l4 = tcp(1234, 443, kTcpSyn, kHttp);
  const Bytes chain =
      ipv6_ext(kIp6DstOpts, ipv6_ext(kIp6Routing, ipv6_ext(kIpAh, ipv6_ah(kIpTcp, l4), 3), 2), 1);
  auto d = run(eth(kEtherIpv6, ipv6("2001:db8::1", "2001:db8::2", kIp6HopByHop, chain)));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.flags, 0);
  EXPECT_EQ(d.p.l4_proto, kIpTcp);
  EXPECT_EQ(d.p.l4_off, 14 + 40 + 8 + 16 + 24 + 24);
  EXPECT_EQ(d.p.dport, 443);
  EXPECT_EQ(d.p.payload_len, kHttp.size());

  auto esp = run(eth(kEtherIpv6, ipv6("::1", "::2", kIp6HopByHop, ipv6_ext(kIpEsp, filler(40)))));
  ASSERT_TRUE(esp.ok);
  EXPECT_EQ(esp.p.l4_proto, kIpEsp);
  EXPECT_EQ(esp.p.l4_off, 14 + 48);
  EXPECT_EQ(esp.p.sport, 0);
  auto none = run(eth(kEtherIpv6, ipv6("::1", "::2", kIpNoNext, {})));
  ASSERT_TRUE(none.ok);
  EXPECT_EQ(none.p.l4_proto, kIpNoNext);

  // An extension header claiming more than the payload length: malformed.
  Bytes lie = ipv6("::1", "::2", kIp6HopByHop, ipv6_ext(kIpTcp, tcp(1, 2, 0)));
  lie[40 + 1] = 200;
  auto dl = run(eth(kEtherIpv6, lie));
  EXPECT_TRUE(dl.ok);
  EXPECT_TRUE(dl.p.has(kMalformed));
  EXPECT_EQ(dl.p.sport, 0);
  // The same lie before a protocol without ports (found by fuzzing,
  // fuzz/fuzz_decode.cpp): malformed, and no L4 offset past the datagram.
  Bytes lie_esp = ipv6("::1", "::2", kIp6HopByHop, ipv6_ext(kIpEsp, filler(16)));
  lie_esp[40 + 1] = 200;
  auto de = run(eth(kEtherIpv6, lie_esp));
  EXPECT_TRUE(de.ok);
  EXPECT_TRUE(de.p.has(kMalformed));
  EXPECT_EQ(de.p.l4_off, kNoOffset);
  EXPECT_EQ(de.p.l4_proto, kIp6HopByHop);

  // An endless chain of destination options stops at a sane depth.
  Bytes longchain = udp(1, 2);
  for (int i = 0; i < 12; ++i) longchain = ipv6_ext(i == 0 ? kIpUdp : kIp6DstOpts, longchain);
  auto lc = run(eth(kEtherIpv6, ipv6("::1", "::2", kIp6DstOpts, longchain)));
  EXPECT_TRUE(lc.ok);
  EXPECT_TRUE(lc.p.has(kL4Truncated));
}

TEST(DecodeIp, Ipv6Fragments) {
  auto first = run(eth(
      kEtherIpv6, ipv6("::1", "::2", kIp6Fragment, ipv6_frag(kIpUdp, 0, true, udp(53, 5353, filler(16))))));
  ASSERT_TRUE(first.ok);
  EXPECT_TRUE(first.p.has(kFirstFragment));
  EXPECT_EQ(first.p.l4_off, 14 + 48);
  EXPECT_EQ(first.p.sport, 53);
  auto later =
      run(eth(kEtherIpv6, ipv6("::1", "::2", kIp6Fragment, ipv6_frag(kIpUdp, 3, false, filler(16)))));
  ASSERT_TRUE(later.ok);
  EXPECT_TRUE(later.p.has(kFragment));
  EXPECT_EQ(later.p.l4_proto, kIpUdp);
  EXPECT_EQ(later.p.l4_off, kNoOffset);
  EXPECT_EQ(later.p.payload_off, 14 + 48);
  EXPECT_EQ(later.p.payload_len, 16u);
  EXPECT_EQ(later.p.sport, 0);
  // Atomic fragment (offset 0, M=0): a whole datagram.
  auto atomic =
      run(eth(kEtherIpv6, ipv6("::1", "::2", kIp6Fragment, ipv6_frag(kIpTcp, 0, false, tcp(1, 2, 0)))));
  EXPECT_FALSE(atomic.p.has(kFragment) || atomic.p.has(kFirstFragment));
  EXPECT_EQ(atomic.p.sport, 1);
}

TEST(DecodeIp, LyingLengths) {
  const Bytes good = eth_v4_tcp();
  auto mutate = [&](std::size_t at, std::uint8_t v) {
    Bytes f = good;
    f.at(at) = v;
    return f;
  };
  // IHL < 5
  auto a = run(mutate(14, 0x44));
  EXPECT_FALSE(a.ok);
  EXPECT_TRUE(a.p.has(kMalformed));
  // total length < header length
  Bytes b = good;
  set16(b, 16, 12);
  auto db = run(b);
  EXPECT_FALSE(db.ok);
  EXPECT_TRUE(db.p.has(kMalformed));
  // total length beyond the wire length
  Bytes c = good;
  set16(c, 16, 1500);
  auto dc = run(c);
  EXPECT_FALSE(dc.ok);
  EXPECT_TRUE(dc.p.has(kMalformed));
  // ... but consistent with a larger wire length: snaplen truncation
  auto dt = run(c, kDltEthernet, SIZE_MAX, 14 + 1500);
  ASSERT_TRUE(dt.ok);
  EXPECT_TRUE(dt.p.has(kTruncated));
  EXPECT_FALSE(dt.p.has(kMalformed));
  EXPECT_EQ(dt.p.ip_len, 1500u);
  EXPECT_EQ(dt.p.payload_len, kHttp.size());
  // version nibble 6 under EtherType IPv4
  auto dv = run(mutate(14, 0x65));
  EXPECT_FALSE(dv.ok);
  EXPECT_TRUE(dv.p.has(kMalformed));
  // TCP data offset < 5 / beyond the IP datagram
  auto dd = run(mutate(34 + 12, 0x40));
  EXPECT_TRUE(dd.ok);
  EXPECT_TRUE(dd.p.has(kMalformed));
  EXPECT_EQ(dd.p.sport, 40000);
  auto de = run(mutate(34 + 12, 0xF0));
  EXPECT_TRUE(de.p.has(kMalformed));
  // UDP length larger than the IP payload
  Bytes u = eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpUdp, udp(1, 2, filler(4))));
  set16(u, 34 + 4, 100);
  auto du = run(u);
  EXPECT_TRUE(du.ok);
  EXPECT_TRUE(du.p.has(kMalformed));
  EXPECT_EQ(du.p.payload_len, 4u);
  set16(u, 34 + 4, 3);
  EXPECT_TRUE(run(u).p.has(kMalformed));
  // IPv6 payload length beyond the frame
  Bytes v6 = eth(kEtherIpv6, ipv6("::1", "::2", kIpUdp, udp(1, 2)));
  set16(v6, 14 + 4, 400);
  auto d6 = run(v6);
  EXPECT_FALSE(d6.ok);
  EXPECT_TRUE(d6.p.has(kMalformed));
  // IP total length too short for the TCP header it announces
  Bytes s = good;
  set16(s, 16, 30);
  auto ds = run(s);
  EXPECT_TRUE(ds.ok);
  EXPECT_TRUE(ds.p.has(kL4Truncated));
  EXPECT_TRUE(ds.p.has(kMalformed));
  EXPECT_EQ(ds.p.sport, 40000);  // ports are within the datagram
}

// ---------------------------------------------------------------- tunnels

TEST(DecodeTunnel, GreVersion0) {
  const Bytes inner = ipv4("192.168.0.1", "192.168.0.2", kIpUdp, udp(1234, 53, {1, 2, 3}));
  auto d = run(eth(kEtherIpv4, ipv4("1.0.0.1", "1.0.0.2", kIpGre, gre(0x0800, inner, 0xCAFEBABE, 77, true))));
  const Packet& p = d.p;
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(p.has(kTunneled));
  EXPECT_EQ(p.tunnel, TunnelType::gre);
  EXPECT_EQ(p.tunnel_id, 0xCAFEBABEu);
  EXPECT_EQ(p.outer_l3_off, 14);
  EXPECT_EQ(p.l3_off, 14 + 20 + 16);
  EXPECT_EQ(p.l4_off, 14 + 20 + 16 + 20);
  EXPECT_EQ(p.src, addr("192.168.0.1"));
  EXPECT_EQ(p.dst, addr("192.168.0.2"));
  EXPECT_EQ(p.sport, 1234);
  EXPECT_EQ(p.payload_len, 3u);
  EXPECT_EQ(p.ip_len, inner.size());

  // Transparent Ethernet bridging with an inner VLAN (outer has none).
  auto teb = run(eth(kEtherIpv6, ipv6("2001::1", "2001::2", kIpGre,
                                      gre(kEtherTeb, eth(kEtherVlan, vlan(55, kEtherIpv4, inner)), 9))));
  ASSERT_TRUE(teb.ok);
  EXPECT_EQ(teb.p.tunnel_id, 9u);
  EXPECT_EQ(teb.p.ip_version, 4);
  EXPECT_EQ(teb.p.l3_off, 14 + 40 + 8 + 18);
  EXPECT_EQ(teb.p.vlan, 55);

  // GRE carrying something else (e.g. ARP): the outer packet stays.
  auto arp = run(eth(kEtherIpv4, ipv4("1.0.0.1", "1.0.0.2", kIpGre, gre(0x0806, filler(28)))));
  ASSERT_TRUE(arp.ok);
  EXPECT_FALSE(arp.p.has(kTunneled));
  EXPECT_FALSE(arp.p.has(kNotIp));
  EXPECT_EQ(arp.p.l4_proto, kIpGre);
  EXPECT_EQ(arp.p.l3_off, 14);
  EXPECT_EQ(arp.p.tunnel, TunnelType::none);
  EXPECT_EQ(arp.p.outer_l3_off, kNoOffset);
}

TEST(DecodeTunnel, PptpGre) {
  const Bytes inner = ipv4("10.8.0.2", "10.8.0.1", kIpTcp, tcp(50000, 22, kTcpSyn));
  auto d = run(eth(kEtherIpv4, ipv4("1.0.0.1", "1.0.0.2", kIpGre, gre_pptp(4321, ppp(0x0021, inner), 5, 6))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.tunnel, TunnelType::gre);
  EXPECT_EQ(d.p.tunnel_id, 4321u);
  EXPECT_EQ(d.p.l3_off, 14 + 20 + 16 + 4);
  EXPECT_EQ(d.p.dport, 22);
  // Acknowledgement-only enhanced GRE packet: nothing inside.
  auto ack = run(eth(kEtherIpv4, ipv4("1.0.0.1", "1.0.0.2", kIpGre, gre_pptp(4321, {}, {}, 6))));
  ASSERT_TRUE(ack.ok);
  EXPECT_FALSE(ack.p.has(kTunneled));
}

TEST(DecodeTunnel, Vxlan) {
  const Bytes inner =
      eth(kEtherIpv4, ipv4("172.16.0.1", "172.16.0.2", kIpTcp, tcp(3456, 443, kTcpAck, kHttp)));
  auto d =
      run(eth(kEtherVlan, vlan(5, kEtherIpv4,
                               ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(49152, 4789, vxlan(1111, inner))))));
  const Packet& p = d.p;
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(p.tunnel, TunnelType::vxlan);
  EXPECT_EQ(p.tunnel_id, 1111u);
  EXPECT_EQ(p.vlan, 5);
  EXPECT_EQ(p.outer_l3_off, 18);
  EXPECT_EQ(p.l3_off, 18 + 20 + 8 + 8 + 14);
  EXPECT_EQ(p.l4_off, p.l3_off + 20);
  EXPECT_EQ(p.src, addr("172.16.0.1"));
  EXPECT_EQ(p.sport, 3456);
  EXPECT_EQ(p.dport, 443);
  EXPECT_EQ(p.tcp_flags, kTcpAck);
  EXPECT_EQ(p.payload_len, kHttp.size());
  EXPECT_EQ(p.flags, kVlan | kTunneled);
  // I flag clear: not VXLAN.
  Bytes nv = vxlan(1, inner);
  nv[0] = 0;
  auto n = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(1, 4789, nv))));
  ASSERT_TRUE(n.ok);
  EXPECT_FALSE(n.p.has(kTunneled));
  EXPECT_EQ(n.p.dport, 4789);
}

TEST(DecodeTunnel, GtpU) {
  const Bytes inner = ipv6("2001:db8::a", "2001:db8::b", kIpUdp, udp(1000, 2000, filler(10)));
  auto d =
      run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(2152, 2152, gtpu(0x12808FB8, inner)))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.tunnel, TunnelType::gtpu);
  EXPECT_EQ(d.p.tunnel_id, 0x12808FB8u);
  EXPECT_EQ(d.p.l3_off, 14 + 20 + 8 + 8);
  EXPECT_EQ(d.p.ip_version, 6);
  EXPECT_EQ(d.p.dport, 2000);
  // Sequence number and two extension headers (PDU session container...).
  auto e = run(
      eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp,
                           udp(2152, 2152, gtpu(7, inner, true, {{0x85, filler(2)}, {0x40, filler(6)}})))));
  ASSERT_TRUE(e.ok);
  EXPECT_EQ(e.p.tunnel_id, 7u);
  EXPECT_EQ(e.p.l3_off, 14 + 20 + 8 + 12 + 4 + 8);
  EXPECT_EQ(e.p.sport, 1000);
  // Echo request (type 1) on the GTP-U port is not a G-PDU.
  Bytes echo = gtpu(7, {});
  echo[1] = 1;
  auto ec = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(2152, 2152, echo))));
  ASSERT_TRUE(ec.ok);
  EXPECT_FALSE(ec.p.has(kTunneled));
}

TEST(DecodeTunnel, IpInIpAndDepthLimit) {
  auto d = run(
      eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpIpv6, ipv6("::1", "::2", kIpTcp, tcp(1, 2, kTcpSyn)))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.p.tunnel, TunnelType::ipip);
  EXPECT_EQ(d.p.ip_version, 6);
  EXPECT_EQ(d.p.l3_off, 34);
  EXPECT_EQ(d.p.outer_l3_off, 14);
  // Six nested IPv4-in-IPv4: decapsulated kMaxTunnelDepth times.
  Bytes pkt = ipv4("9.9.9.9", "8.8.8.8", kIpUdp, udp(5, 6));
  for (int i = 0; i < 6; ++i) pkt = ipv4("1.1.1." + std::to_string(i), "2.2.2.2", kIpIpip, pkt);
  auto n = run(eth(kEtherIpv4, pkt));
  ASSERT_TRUE(n.ok);
  EXPECT_EQ(n.p.l3_off, 14 + 20 * decode::kMaxTunnelDepth);
  EXPECT_EQ(n.p.l4_proto, kIpIpip);
  EXPECT_EQ(n.p.outer_l3_off, 14);
}

TEST(DecodeTunnel, InnerTruncatedKeepsOuter) {
  const Bytes inner = eth(kEtherIpv4, ipv4("172.16.0.1", "172.16.0.2", kIpTcp, tcp(3456, 443, kTcpAck)));
  const Bytes f = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(49152, 4789, vxlan(3, inner))));
  // Snaplen cut in the middle of the inner IP header.
  auto d = run(f, kDltEthernet, 14 + 20 + 8 + 8 + 14 + 10, static_cast<std::uint32_t>(f.size()));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.p.has(kTruncated));
  EXPECT_FALSE(d.p.has(kMalformed));
  EXPECT_FALSE(d.p.has(kTunneled));
  EXPECT_EQ(d.p.dport, 4789);
  EXPECT_EQ(d.p.src, addr("10.0.0.1"));
}

// ---------------------------------------------------------------- truncation sweep

namespace {
struct Sample {
  const char* name;
  Bytes frame;
  std::uint32_t dlt;
};
std::vector<Sample> samples() {
  const Bytes t4 = ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1, 2, kTcpSyn, kHttp, 8));
  const Bytes u6 = ipv6("2001::1", "2001::2", kIp6HopByHop, ipv6_ext(kIpUdp, udp(3, 4, filler(9))));
  return {
      {"eth ipv4 tcp", eth(kEtherIpv4, t4), 1},
      {"eth ipv6 ext udp", eth(kEtherIpv6, u6), 1},
      {"qinq mpls", eth(kEtherQinQ, vlan(1, kEtherVlan, vlan(2, kEtherMpls, mpls({1, 2}, t4)))), 1},
      {"pppoe", eth(kEtherPppoeSess, pppoe_session(1, 0x0057, u6)), 1},
      {"gre key", eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpGre, gre(0x86DD, u6, 5, 6, true))), 1},
      {"pptp", eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpGre, gre_pptp(9, ppp(0x0021, t4), 1, 2))), 1},
      {"vxlan",
       eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpUdp, udp(1, 4789, vxlan(5, eth(kEtherIpv4, t4))))), 1},
      {"gtpu ext",
       eth(kEtherIpv4,
           ipv4("1.1.1.1", "2.2.2.2", kIpUdp, udp(2152, 2152, gtpu(5, t4, true, {{0x85, filler(6)}})))),
       1},
      {"6in4", eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpIpv6, u6)), 1},
      {"icmp", eth(kEtherIpv4, ipv4("1.1.1.1", "2.2.2.2", kIpIcmp, icmp(3, 3, filler(28)))), 1},
      {"sll2", sll2(0x0800, t4), 276},
      {"ppi", cat({Bytes{0, 0, 8, 0, 1, 0, 0, 0}, eth(kEtherIpv6, u6)}), 192},
      {"null", null_loopback(2, t4), 0},
  };
}
}  // namespace

// Cut with wirelen == caplen: the frame itself is short, headers lie.
TEST(DecodeTruncation, EveryLengthLyingFrame) {
  for (const auto& s : samples()) {
    SCOPED_TRACE(s.name);
    const auto full = run(s.frame, s.dlt);
    ASSERT_TRUE(full.ok);
    ASSERT_EQ(full.p.flags & (kMalformed | kTruncated | kL4Truncated), 0);
    for (std::size_t n = 0; n < s.frame.size(); ++n) {
      SCOPED_TRACE(n);
      auto d = run(s.frame, s.dlt, n);
      // Any cut loses bytes the outermost IP header counts: a lie.
      EXPECT_TRUE(d.p.has(kMalformed));
      EXPECT_FALSE(d.p.has(kTruncated));
      EXPECT_FALSE(d.ok);
      EXPECT_EQ(d.p.flow_hash, 0u);
    }
  }
}

// Cut by a snap length (wirelen = full size): never malformed.
TEST(DecodeTruncation, EveryLengthSnaplen) {
  for (const auto& s : samples()) {
    SCOPED_TRACE(s.name);
    const auto full = run(s.frame, s.dlt);
    const bool tunneled = full.p.has(kTunneled);
    const std::uint32_t outer = tunneled ? full.p.outer_l3_off : full.p.l3_off;
    const std::uint32_t outer_hdr = s.frame[outer] >> 4 == 4 ? (s.frame[outer] & 15) * 4 : 40;
    const std::uint32_t l4_hdr_end = full.p.payload_off;
    const auto wire = static_cast<std::uint32_t>(s.frame.size());
    for (std::uint32_t n = 0; n < wire; ++n) {
      SCOPED_TRACE(n);
      auto d = run(s.frame, s.dlt, n, wire);
      EXPECT_TRUE(d.p.has(kTruncated));
      // A cut inside the link header is a frame shorter than its link header.
      if (n >= outer) {
        EXPECT_FALSE(d.p.has(kMalformed));
      }
      EXPECT_EQ(d.ok, n >= outer + outer_hdr);
      if (!d.ok) continue;
      EXPECT_NE(d.p.flow_hash, 0u);
      if (n >= l4_hdr_end) {
        // Everything decoded as in the full frame; the payload is cut.
        EXPECT_EQ(d.p.l3_off, full.p.l3_off);
        EXPECT_EQ(d.p.sport, full.p.sport);
        EXPECT_EQ(d.p.tunnel_id, full.p.tunnel_id);
        EXPECT_EQ(d.p.flow_hash, full.p.flow_hash);
        EXPECT_FALSE(d.p.has(kL4Truncated));
        EXPECT_EQ(d.p.payload_len, n - l4_hdr_end);
      } else if (!tunneled) {
        EXPECT_TRUE(d.p.has(kL4Truncated));
        EXPECT_EQ(d.p.payload_len, 0u);
      } else {
        // Either the inner packet with a cut L4 header, or the outer one.
        EXPECT_TRUE(d.p.has(kL4Truncated) || !d.p.has(kTunneled));
      }
    }
  }
}

// Random garbage never crashes (ASan build) and keeps offsets in range.
TEST(DecodeTruncation, RandomBytes) {
  std::mt19937 rng(12345);
  const std::uint32_t dlts[] = {0, 1, 9, 12, 50, 104, 105, 108, 113, 127, 192, 228, 229, 276};
  auto base = samples();
  for (int i = 0; i < 20000; ++i) {
    Bytes f;
    if (i % 2) {
      f = base[rng() % base.size()].frame;
      for (int k = 0, m = 1 + rng() % 4; k < m; ++k) f[rng() % f.size()] = static_cast<std::uint8_t>(rng());
    } else {
      f.resize(rng() % 200);
      for (auto& b : f) b = static_cast<std::uint8_t>(rng());
    }
    auto d = run(f, dlts[rng() % std::size(dlts)]);
    if (d.p.l3_off != kNoOffset) {
      EXPECT_LT(d.p.l3_off, f.size());
    }
    if (d.p.payload_off != kNoOffset && d.p.payload_len) {
      EXPECT_LE(d.p.payload_off + d.p.payload_len, f.size());
    }
  }
}

// ---------------------------------------------------------------- flow hash

TEST(DecodeHash, Symmetric) {
  using decode::flow_hash;
  const auto a = addr("10.0.0.1"), b = addr("192.168.7.9");
  EXPECT_EQ(flow_hash(a, b, 1234, 80, 6, 4), flow_hash(b, a, 80, 1234, 6, 4));
  EXPECT_NE(flow_hash(a, b, 1234, 80, 6, 4), flow_hash(a, b, 1235, 80, 6, 4));
  EXPECT_NE(flow_hash(a, b, 1234, 80, 6, 4), flow_hash(a, b, 80, 1234, 6, 4));
  EXPECT_NE(flow_hash(a, b, 1234, 80, 6, 4), flow_hash(a, b, 1234, 80, 17, 4));
  EXPECT_NE(flow_hash(a, b, 1234, 80, 6, 4), flow_hash(a, addr("192.168.7.8"), 1234, 80, 6, 4));
  const auto c = addr("2001:db8::1"), e = addr("2001:db8::2");
  EXPECT_EQ(flow_hash(c, e, 5, 6, 17, 6), flow_hash(e, c, 6, 5, 17, 6));
  EXPECT_NE(flow_hash(c, e, 5, 6, 17, 6), flow_hash(c, e, 6, 5, 17, 6));
  EXPECT_NE(flow_hash(c, e, 5, 6, 17, 6), flow_hash(c, addr("2001:db8::3"), 5, 6, 17, 6));

  // Decoded packets of both directions agree.
  auto fwd = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpTcp, tcp(1000, 443, kTcpSyn))));
  auto rev = run(eth(kEtherIpv4, ipv4("10.0.0.2", "10.0.0.1", kIpTcp, tcp(443, 1000, kTcpSyn | kTcpAck))));
  EXPECT_EQ(fwd.p.flow_hash, rev.p.flow_hash);
  auto other = run(eth(kEtherIpv4, ipv4("10.0.0.2", "10.0.0.1", kIpTcp, tcp(443, 1001, kTcpAck))));
  EXPECT_NE(fwd.p.flow_hash, other.p.flow_hash);
  // ICMP: no ports in the hash, so echo request and reply agree.
  auto req = run(eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpIcmp, icmp(8, 0))));
  auto rep = run(eth(kEtherIpv4, ipv4("10.0.0.2", "10.0.0.1", kIpIcmp, icmp(0, 0))));
  EXPECT_EQ(req.p.flow_hash, rep.p.flow_hash);
}

TEST(DecodeHash, LowBitsWellMixed) {
  // Sequential client ports and addresses (a typical NAT/scan pattern) must
  // spread over shards using the low bits.
  constexpr int kBuckets = 16, kN = 16384;
  int by_port[kBuckets] = {}, by_addr[kBuckets] = {};
  int bits[32] = {};
  const auto srv = addr("203.0.113.5");
  for (int i = 0; i < kN; ++i) {
    auto cli = addr("10.0.0.1");
    const std::uint32_t h1 = decode::flow_hash(cli, srv, static_cast<std::uint16_t>(20000 + i), 443, 6, 4);
    ++by_port[h1 % kBuckets];
    cli[2] = static_cast<std::uint8_t>(i >> 8);
    cli[3] = static_cast<std::uint8_t>(i);
    const std::uint32_t h2 = decode::flow_hash(cli, srv, 5555, 443, 6, 4);
    ++by_addr[h2 % kBuckets];
    for (int b = 0; b < 32; ++b) bits[b] += (h1 >> b) & 1;
  }
  for (int k = 0; k < kBuckets; ++k) {
    EXPECT_NEAR(by_port[k], kN / kBuckets, kN / kBuckets / 5) << "bucket " << k;
    EXPECT_NEAR(by_addr[k], kN / kBuckets, kN / kBuckets / 5) << "bucket " << k;
  }
  for (int b = 0; b < 32; ++b) EXPECT_NEAR(bits[b], kN / 2, kN / 20) << "bit " << b;
}
