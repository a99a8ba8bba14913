// The Anonymizer's policy (which ends, whitelist, XOR on internal IPv4 only,
// strict privacy, cache counts) and the rewriting of packet bytes with every
// checksum that covers an address kept valid.
#include <gtest/gtest.h>

#include <netloom/netloom.hpp>
#include <vector>

#include "anonymizer.hpp"
#include "decode/decode.hpp"
#include "packet_rewrite.hpp"
#include "pcap_builder.hpp"

using namespace netloom;
using namespace netloom::privacy;
using namespace netloom::testing;

namespace {

const Key kReferenceKey = {21,  34,  23,  141, 51,  164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
                           216, 152, 143, 131, 121, 121, 101, 39,  98, 87, 76, 45, 42, 132, 34,  2};

Policy cryptopan(Ends ends = Ends::all) {
  Policy p;
  p.key = kReferenceKey;
  p.ends = ends;
  return p;
}

IpAddr cpan(const std::string& s) {
  IpAddr a = addr(s);
  CryptoPan c(kReferenceKey);
  c.anonymize(a.data(), s.find(':') != std::string::npos ? 16 : 4);
  return a;
}

FlowRecord record(const std::string& client, const std::string& server, bool c_int, bool s_int) {
  FlowRecord r;
  r.key.client = addr(client);
  r.key.server = addr(server);
  r.key.ip_version = client.find(':') != std::string::npos ? 6 : 4;
  r.key.l4_proto = 6;
  r.internal = {c_int, s_int};
  return r;
}

// ---- checksums, computed from scratch

std::uint16_t be16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }

struct L4Info {
  std::size_t l4 = 0, len = 0;
  std::uint8_t proto = 0;
  std::uint32_t pseudo = 0;
};

L4Info l4_of(const std::uint8_t* f, std::size_t l3) {
  const std::uint8_t* h = f + l3;
  L4Info i;
  if (h[0] >> 4 == 4) {
    const std::size_t ihl = 4u * (h[0] & 15);
    i.l4 = l3 + ihl;
    i.proto = h[9];
    i.len = be16(h + 2) - ihl;
    i.pseudo = ones_sum(h + 12, 8);
  } else {
    i.l4 = l3 + 40;
    i.proto = h[6];
    i.len = be16(h + 4);
    i.pseudo = ones_sum(h + 8, 32);
  }
  i.pseudo += i.proto + static_cast<std::uint32_t>(i.len >> 16) + static_cast<std::uint32_t>(i.len & 0xFFFF);
  return i;
}

int csum_at(std::uint8_t proto) { return proto == 6 ? 16 : proto == 17 ? 6 : proto == 58 ? 2 : -1; }

// Sets the IPv4 header checksum and the TCP/UDP/ICMPv6 checksum of the IP packet at f[l3].
void set_checksums(Bytes& f, std::size_t l3) {
  std::uint8_t* h = f.data() + l3;
  if (h[0] >> 4 == 4) {
    const std::size_t ihl = 4u * (h[0] & 15);
    h[10] = h[11] = 0;
    const std::uint16_t c = static_cast<std::uint16_t>(~ones_fold(ones_sum(h, ihl)));
    set16(f, l3 + 10, c);
  }
  const L4Info i = l4_of(f.data(), l3);
  const int at = csum_at(i.proto);
  if (at < 0) return;
  set16(f, i.l4 + static_cast<std::size_t>(at), 0);
  std::uint16_t c = static_cast<std::uint16_t>(~ones_fold(ones_sum(f.data() + i.l4, i.len, i.pseudo)));
  if (i.proto == 17 && c == 0) c = 0xFFFF;
  set16(f, i.l4 + static_cast<std::size_t>(at), c);
}

// Both checksums of the packet at f[l3] verify (the whole packet must be there).
void expect_valid(const std::uint8_t* f, std::size_t l3, const char* what) {
  const std::uint8_t* h = f + l3;
  if (h[0] >> 4 == 4) {
    EXPECT_EQ(ones_fold(ones_sum(h, 4u * (h[0] & 15))), 0xFFFF) << what << ": IPv4 header";
  }
  const L4Info i = l4_of(f, l3);
  if (csum_at(i.proto) < 0) return;
  EXPECT_EQ(ones_fold(ones_sum(f + i.l4, i.len, i.pseudo)), 0xFFFF) << what << ": L4 checksum";
}

// A one-packet batch decoded like the capture path does.
std::shared_ptr<PacketBatch> batch_of(const Bytes& frame, std::uint32_t caplen = 0) {
  auto b = std::make_shared<PacketBatch>();
  b->buffer.reserve(frame.size() + 1);
  const std::uint32_t cap = caplen ? caplen : static_cast<std::uint32_t>(frame.size());
  Packet& p = b->append(frame.data(), cap);
  p.wirelen = static_cast<std::uint32_t>(frame.size());
  p.linktype = 1;
  decode::decode_packet(p);
  return b;
}

}  // namespace

// ---- policy on flow records

TEST(AnonPolicy, InternalEndsOnlyByDefault) {
  Anonymizer a(cryptopan(Ends::internal));
  FlowRecord r = record("192.168.1.10", "8.8.8.8", true, false);
  a.apply(r);
  EXPECT_EQ(r.key.client, cpan("192.168.1.10"));
  EXPECT_EQ(r.key.server, addr("8.8.8.8"));
  EXPECT_TRUE(r.crypto[0]);
  EXPECT_FALSE(r.crypto[1]);
  EXPECT_EQ(a.stats().anonymized, 1u);
  // A record already anonymized upstream is not anonymized twice.
  const FlowRecord before = r;
  a.apply(r);
  EXPECT_EQ(r.key.client, before.key.client);
  EXPECT_EQ(a.stats().anonymized, 1u);
}

TEST(AnonPolicy, AllEndsAndIpv6) {
  Anonymizer a(cryptopan(Ends::all));
  FlowRecord r = record("2001:db8::1", "2001:db8::2", false, false);
  a.apply(r);
  EXPECT_EQ(r.key.client, addr("4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e"));
  EXPECT_EQ(r.key.server, addr("4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c"));
  EXPECT_TRUE(r.crypto[0] && r.crypto[1]);
}

TEST(AnonPolicy, CryptoNetsAsTstatY) {
  Policy p = cryptopan(Ends::crypto_nets);
  p.crypto_nets = flow::NetList::parse("130.192.0.0/16\n2001:db8::/32\n", "-Y");
  Anonymizer a(std::move(p));
  FlowRecord r = record("130.192.5.6", "130.193.0.1", false, true);  // internal-ness does not matter
  a.apply(r);
  EXPECT_EQ(r.key.client, cpan("130.192.5.6"));
  EXPECT_EQ(r.key.server, addr("130.193.0.1"));
  FlowRecord r6 = record("2001:db8:1::1", "2001:db9::1", true, true);
  a.apply(r6);
  EXPECT_TRUE(r6.crypto[0]);
  EXPECT_FALSE(r6.crypto[1]);
}

TEST(AnonPolicy, WhitelistLeavesNetworksInClear) {
  Policy p = cryptopan(Ends::all);
  p.whitelists.push_back(flow::NetList::parse("192.168.1.0/24\n", "-W"));
  p.whitelists.push_back(flow::NetList::parse("8.8.8.8/32\n", "list"));
  Anonymizer a(std::move(p));
  FlowRecord r = record("192.168.1.10", "8.8.8.8", true, false);
  a.apply(r);
  EXPECT_EQ(r.key.client, addr("192.168.1.10"));
  EXPECT_EQ(r.key.server, addr("8.8.8.8"));
  EXPECT_FALSE(r.crypto[0] || r.crypto[1]);
  FlowRecord r2 = record("192.168.2.10", "8.8.4.4", true, false);
  a.apply(r2);
  EXPECT_EQ(r2.key.client, cpan("192.168.2.10"));
  EXPECT_EQ(r2.key.server, cpan("8.8.4.4"));
  EXPECT_EQ(a.stats().whitelisted, 2u);
  EXPECT_EQ(a.stats().anonymized, 2u);
  // A whitelist with only IPv4 entries whitelists no IPv6 address.
  FlowRecord r6 = record("2001:db8::1", "2001:db8::2", true, true);
  a.apply(r6);
  EXPECT_TRUE(r6.crypto[0] && r6.crypto[1]);
}

TEST(AnonPolicy, XorMasksInternalIpv4Only) {
  Policy p;
  p.mode = Mode::xor_mask;
  p.xor_mask = 0x00FF00FF;
  Anonymizer a(std::move(p));
  FlowRecord r = record("10.1.2.3", "8.8.8.8", true, false);
  a.apply(r);
  EXPECT_EQ(r.key.client, addr("10.254.2.252"));
  EXPECT_EQ(r.key.server, addr("8.8.8.8"));
  EXPECT_TRUE(r.crypto[0]);
  EXPECT_FALSE(r.crypto[1]);
  FlowRecord loc = record("10.1.2.3", "10.1.2.4", true, true);
  a.apply(loc);
  EXPECT_EQ(loc.key.client, addr("10.254.2.252"));
  EXPECT_EQ(loc.key.server, addr("10.254.2.251"));
  // IPv6: Tstat's -A does not apply; left in clear and counted.
  FlowRecord r6 = record("2001:db8::1", "2001:db8::2", true, false);
  a.apply(r6);
  EXPECT_EQ(r6.key.client, addr("2001:db8::1"));
  EXPECT_FALSE(r6.crypto[0]);
  EXPECT_EQ(a.stats().not_maskable, 1u);
  EXPECT_EQ(a.stats().anonymized, 3u);
  EXPECT_EQ(a.stats().cache_misses, 0u);  // no cache for a XOR
}

TEST(AnonPolicy, StrictClearsPayloadStrings) {
  Policy p = cryptopan(Ends::internal);
  p.strict = true;
  Anonymizer a(std::move(p));
  FlowRecord r = record("10.0.0.1", "1.1.1.1", true, false);
  r.l7.http_host = "example.org";
  r.l7.tls_sni = "secret.example.org";
  r.l7.banner[1] = "SSH-2.0-OpenSSH_9.2";
  r.l7.tls_version[0] = "0303";
  r.labels.app = "TLS";
  a.apply(r);
  EXPECT_EQ(r.l7.http_host, "");
  EXPECT_EQ(r.l7.tls_sni, "");
  EXPECT_EQ(r.l7.tls_cn, "");
  EXPECT_EQ(r.l7.banner[1], "");
  EXPECT_EQ(r.l7.tls_version[0], "0303");  // not payload text about the user
  EXPECT_EQ(r.labels.app, "TLS");
  EXPECT_EQ(a.stats().strings_cleared, 3u);
  Anonymizer lax(cryptopan(Ends::internal));
  FlowRecord r2 = record("10.0.0.1", "1.1.1.1", true, false);
  r2.l7.tls_sni = "kept.example.org";
  lax.apply(r2);
  EXPECT_EQ(r2.l7.tls_sni, "kept.example.org");
}

TEST(AnonPolicy, CacheCountsHitsAndMisses) {
  Policy p = cryptopan(Ends::all);
  p.cache_size = 2;
  Anonymizer a(std::move(p));
  const IpAddr x = addr("10.0.0.1"), y = addr("10.0.0.2"), z = addr("10.0.0.3");
  EXPECT_EQ(a.translate(x, 4), cpan("10.0.0.1"));
  EXPECT_EQ(a.translate(x, 4), cpan("10.0.0.1"));
  a.translate(y, 4);
  a.translate(z, 4);  // drops x (y was used more recently)
  EXPECT_EQ(a.translate(x, 4), cpan("10.0.0.1"));
  EXPECT_EQ(a.stats().cache_hits, 1u);
  EXPECT_EQ(a.stats().cache_misses, 4u);
  EXPECT_EQ(a.cache_entries(), 2u);
  Policy q = cryptopan(Ends::all);
  q.cache_size = 0;
  Anonymizer none(std::move(q));
  none.translate(x, 4);
  EXPECT_EQ(none.translate(x, 4), cpan("10.0.0.1"));
  EXPECT_EQ(none.stats().cache_misses, 2u);
  EXPECT_EQ(none.stats().cache_hits, 0u);
}

// ---- packets

TEST(AnonPackets, ChecksumsStayValidForEveryTransport) {
  struct Case {
    const char* name;
    Bytes frame;
  };
  const Bytes payload = filler(37, 3);  // odd length on purpose
  std::vector<Case> cases = {
      {"IPv4 TCP",
       eth(kEtherIpv4, ipv4("192.168.1.10", "93.184.216.34", kIpTcp, tcp(40000, 443, kTcpAck, payload)))},
      {"IPv4 UDP", eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpUdp, udp(5353, 53, payload)))},
      {"IPv6 TCP", eth(kEtherIpv6, ipv6("2001:db8::10", "2a00:1450::1", kIpTcp, tcp(40000, 443, kTcpSyn)))},
      {"IPv6 UDP", eth(kEtherIpv6, ipv6("2001:db8::10", "2a00:1450::1", kIpUdp, udp(40000, 443, payload)))},
      {"ICMPv6", eth(kEtherIpv6, ipv6("2001:db8::10", "2a00:1450::1", kIpIcmpv6, icmp(128, 0, payload)))},
      {"ICMPv4", eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpIcmp, icmp(8, 0, payload)))},
  };
  for (auto& c : cases) {
    set_checksums(c.frame, 14);
    expect_valid(c.frame.data(), 14, c.name);
    auto b = batch_of(c.frame);
    Packet& p = b->packets[0];
    const IpAddr src = p.src, dst = p.dst;
    Anonymizer a(cryptopan(Ends::all));
    ASSERT_EQ(a.apply(p), std::optional<bool>(true)) << c.name;
    expect_valid(p.data, 14, c.name);
    EXPECT_EQ(p.src, a.translate(src, p.ip_version)) << c.name;
    EXPECT_EQ(p.dst, a.translate(dst, p.ip_version)) << c.name;
    // What a reader of the rewritten bytes decodes.
    Bytes again(p.data, p.data + p.caplen);
    auto b2 = batch_of(again);
    EXPECT_EQ(b2->packets[0].src, p.src) << c.name;
    EXPECT_EQ(b2->packets[0].dst, p.dst) << c.name;
    EXPECT_FALSE(b2->packets[0].has(kMalformed)) << c.name;
  }
}

TEST(AnonPackets, UdpWithoutChecksumKeepsNone) {
  Bytes f = eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpUdp, udp(5353, 53, filler(20))));
  set_checksums(f, 14);
  set16(f, 14 + 20 + 6, 0);  // IPv4 UDP: 0 = no checksum
  auto b = batch_of(f);
  Anonymizer a(cryptopan(Ends::all));
  ASSERT_EQ(a.apply(b->packets[0]), std::optional<bool>(true));
  EXPECT_EQ(be16(b->packets[0].data + 14 + 20 + 6), 0);
  EXPECT_EQ(ones_fold(ones_sum(b->packets[0].data + 14, 20)), 0xFFFF);  // the IPv4 header checksum is right
}

TEST(AnonPackets, SnapLengthCutPacketsGetTheChecksumOfTheWholePacket) {
  Bytes f =
      eth(kEtherIpv4, ipv4("192.168.1.10", "93.184.216.34", kIpTcp, tcp(40000, 80, kTcpAck, filler(300))));
  set_checksums(f, 14);
  auto b = batch_of(f, 14 + 20 + 20 + 10);  // headers and 10 payload bytes captured
  Packet& p = b->packets[0];
  ASSERT_TRUE(p.has(kTruncated));
  Anonymizer a(cryptopan(Ends::all));
  ASSERT_EQ(a.apply(p), std::optional<bool>(true));
  // The captured bytes plus the payload that was not captured: consistent.
  Bytes whole(p.data, p.data + p.caplen);
  for (std::size_t i = p.caplen; i < f.size(); ++i) whole.push_back(f[i]);
  expect_valid(whole.data(), 14, "cut TCP");
}

TEST(AnonPackets, WrongChecksumStaysWrongBySameAmount) {
  Bytes f = eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpTcp, tcp(1, 2, kTcpSyn)));
  set_checksums(f, 14);
  set16(f, 14 + 20 + 16, static_cast<std::uint16_t>(be16(f.data() + 14 + 20 + 16) + 5));  // off by 5
  auto b = batch_of(f);
  Anonymizer a(cryptopan(Ends::all));
  ASSERT_TRUE(a.apply(b->packets[0]).value());
  const L4Info i = l4_of(b->packets[0].data, 14);
  EXPECT_NE(ones_fold(ones_sum(b->packets[0].data + i.l4, i.len, i.pseudo)), 0xFFFF);
  set16(f, 14 + 20 + 16, static_cast<std::uint16_t>(be16(f.data() + 14 + 20 + 16) - 5));
  auto good = batch_of(f);
  a.apply(good->packets[0]);
  // The two rewritten checksums differ by the same 5.
  EXPECT_EQ(be16(b->packets[0].data + 14 + 20 + 16) - be16(good->packets[0].data + 14 + 20 + 16), 5);
}

TEST(AnonPackets, TunnelOuterAndInnerHeadersAndTheOuterUdpChecksum) {
  // VXLAN with an outer UDP checksum (which covers the inner packet).
  Bytes inner =
      eth(kEtherIpv4, ipv4("192.168.1.10", "93.184.216.34", kIpTcp, tcp(40000, 443, kTcpAck, filler(21))));
  set_checksums(inner, 14);
  Bytes f = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(50000, 4789, vxlan(42, inner))));
  set_checksums(f, 14);
  auto b = batch_of(f);
  Packet& p = b->packets[0];
  ASSERT_TRUE(p.has(kTunneled));
  const std::size_t inner_l3 = p.l3_off;
  Anonymizer a(cryptopan(Ends::all));
  ASSERT_TRUE(a.apply(p).value());
  expect_valid(p.data, 14, "outer");
  expect_valid(p.data, inner_l3, "inner");
  EXPECT_EQ(p.src, cpan("192.168.1.10"));
  Bytes again(p.data, p.data + p.caplen);
  auto b2 = batch_of(again);
  const std::uint8_t* outer = b2->packets[0].data + 14;
  const IpAddr outer_src{outer[12], outer[13], outer[14], outer[15]};
  EXPECT_EQ(outer_src, cpan("10.0.0.1"));
  EXPECT_EQ(b2->packets[0].src, cpan("192.168.1.10"));
  EXPECT_EQ(b2->packets[0].dst, cpan("93.184.216.34"));

  // Teredo-like: IPv6 inside UDP over IPv4, outer checksum.
  Bytes in6 = ipv6("2001:0:4136:e378::1", "2001:db8::99", kIpUdp, udp(1000, 2000, filler(11)));
  in6.insert(in6.begin(), 14, 0);  // set_checksums wants the packet at an offset
  set_checksums(in6, 14);
  Bytes six(in6.begin() + 14, in6.end());
  Bytes t = eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpIpv6, six));  // 6in4 (no outer L4)
  set_checksums(t, 14);
  auto bt = batch_of(t);
  ASSERT_TRUE(bt->packets[0].has(kTunneled));
  const std::size_t l3in = bt->packets[0].l3_off;
  Anonymizer a2(cryptopan(Ends::all));
  ASSERT_TRUE(a2.apply(bt->packets[0]).value());
  expect_valid(bt->packets[0].data, 14, "6in4 outer");
  expect_valid(bt->packets[0].data, l3in, "6in4 inner");
  EXPECT_EQ(bt->packets[0].src, cpan("2001:0:4136:e378::1"));
}

TEST(AnonPackets, InternalnessFromTheFlowOrTheNetFile) {
  Bytes f = eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpUdp, udp(5353, 53, filler(4))));
  set_checksums(f, 14);
  Policy p = cryptopan(Ends::internal);
  p.internal_nets = flow::NetList::parse("192.168.0.0/16\n", "-N");
  Anonymizer a(std::move(p));
  auto b = batch_of(f);  // no flow context: the net file decides
  ASSERT_TRUE(a.apply(b->packets[0]).value());
  EXPECT_EQ(b->packets[0].src, cpan("192.168.1.10"));
  EXPECT_EQ(b->packets[0].dst, addr("8.8.8.8"));
  // With a flow context its ends' internal flags decide (here: the server, 8.8.8.8).
  FlowContext ctx;
  ctx.record.internal = {false, true};
  auto b2 = batch_of(f);
  b2->packets[0].flow = &ctx;
  b2->packets[0].flow_dir = 1;  // server -> client: src is the server's end
  ASSERT_TRUE(a.apply(b2->packets[0]).value());
  EXPECT_EQ(b2->packets[0].src, a.translate(addr("192.168.1.10"), 4));  // src is the "server" end here
  EXPECT_EQ(b2->packets[0].dst, addr("8.8.8.8"));
  expect_valid(b2->packets[0].data, 14, "flow");
}

TEST(AnonPackets, FramesWithoutAnIpHeaderAreLeftAlone) {
  Bytes arp = eth(kEtherArp, filler(28));
  auto b = batch_of(arp);
  Anonymizer a(cryptopan(Ends::all));
  EXPECT_FALSE(a.apply(b->packets[0]).has_value());
  EXPECT_TRUE(std::equal(arp.begin(), arp.end(), b->packets[0].data));
  Bytes cut = eth(kEtherIpv4, ipv4("192.168.1.10", "8.8.8.8", kIpUdp, udp(1, 2)));
  auto c = batch_of(cut, 14 + 16);  // destination address not captured
  EXPECT_FALSE(a.apply(c->packets[0]).has_value());
}
