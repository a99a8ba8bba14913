// PcapSink's selection rules on their own (blocks/sinks/pcap_dump_rules.*):
// the `udp` class list, udp_type -> file, the STUN test, and Tstat's
// per-direction TCP/UDP limits on hand-made segments.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "netloom/error.hpp"
#include "netloom/l7.hpp"
#include "pcap_dump_rules.hpp"

using namespace netloom;
using namespace netloom::pcapdump;

namespace {

std::string udp_error(const std::string& list) {
  try {
    parse_udp_classes(list);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

constexpr std::uint8_t F = 0x01, S = 0x02, R = 0x04, A = 0x10;

}  // namespace

TEST(PcapDumpRules, ParsesTheUdpClassList) {
  EXPECT_TRUE(parse_udp_classes("").empty());
  EXPECT_TRUE(parse_udp_classes("  ").empty());
  EXPECT_EQ(parse_udp_classes("dns"), (std::vector<int>{14}));
  EXPECT_EQ(parse_udp_classes(" dns , RTP,stun,unknown"), (std::vector<int>{14, 1, 24, 0}));
  std::vector<int> all;
  std::string every;
  for (std::size_t i = 0; i < kUdpClasses.size(); ++i) {
    if (i) every += ',';
    every += kUdpClasses[i];
    all.push_back(static_cast<int>(i));
  }
  EXPECT_EQ(parse_udp_classes(every), all);
}

TEST(PcapDumpRules, RejectsBadUdpClassesNamingTheValidOnes) {
  EXPECT_EQ(
      udp_error("dns,foo"),
      "parameter 'udp': unknown class 'foo' (valid: unknown, rtp, rtcp, edk, kad, kadu, gnutella, "
      "bittorrent, dc, kazaa, pplive, sopcast, tvants, okad, dns, utp, vod, ppstream, teredo, sip, dtls, "
      "quic, mturn, sye, stun)");
  EXPECT_EQ(udp_error("udp_dns").rfind("parameter 'udp': unknown class 'udp_dns' (valid: unknown, rtp", 0),
            0u);
  EXPECT_EQ(udp_error("dns,,rtp"), "parameter 'udp': empty class name in 'dns,,rtp'");
  EXPECT_EQ(udp_error("dns,"), "parameter 'udp': empty class name in 'dns,'");
  EXPECT_EQ(udp_error("dns,DNS"), "parameter 'udp': class 'dns' is listed twice");
}

TEST(PcapDumpRules, MapsUdpTypesToTstatsFiles) {
  namespace u = l7::udp;
  auto name = [](std::uint16_t t) {
    const int c = udp_class_of(t);
    return c < 0 ? std::string("-") : std::string(kUdpClasses[static_cast<std::size_t>(c)]);
  };
  EXPECT_EQ(name(u::UNKNOWN), "unknown");
  EXPECT_EQ(name(u::DNS), "dns");
  EXPECT_EQ(name(u::RTP), "rtp");
  EXPECT_EQ(name(u::RTP_PLUS), "rtp");
  EXPECT_EQ(name(u::RTCP), "rtcp");
  EXPECT_EQ(name(u::UTP), "utp");
  EXPECT_EQ(name(u::UTPBT), "utp");
  EXPECT_EQ(name(u::BITTORRENT), "bittorrent");
  EXPECT_EQ(name(u::OKAD), "okad");
  EXPECT_EQ(name(u::QUIC), "quic");
  EXPECT_EQ(name(u::MTURN), "mturn");
  EXPECT_EQ(name(u::SYE), "sye");
  // No file in Tstat: the FIRST_* halves and the Skype types.
  for (std::uint16_t t :
       {u::FIRST_RTP, u::FIRST_RTCP, u::FIRST_RTP_PLUS, u::SKYPE_E2E, u::SKYPE_OUT, u::SKYPE_SIG})
    EXPECT_EQ(name(t), "-") << t;
  EXPECT_EQ(name(32), "-");
  // Every class but stun takes at least one type.
  std::vector<bool> hit(kUdpClasses.size());
  for (std::uint16_t t = 0; t < 32; ++t)
    if (udp_class_of(t) >= 0) hit[static_cast<std::size_t>(udp_class_of(t))] = true;
  for (std::size_t c = 0; c < kUdpClasses.size(); ++c) EXPECT_EQ(hit[c], c != kStunClass) << kUdpClasses[c];
}

TEST(PcapDumpRules, RecognisesOnlyAWholeStunBindingRequest) {
  std::vector<std::uint8_t> req(20, 0);
  req[1] = 0x01;
  EXPECT_TRUE(is_stun_binding_request(req.data(), 20));
  std::vector<std::uint8_t> attr = req;
  attr[3] = 8;  // 8 bytes of attributes
  attr.resize(28, 0xAB);
  EXPECT_TRUE(is_stun_binding_request(attr.data(), 28));
  EXPECT_FALSE(is_stun_binding_request(attr.data(), 27));  // length field disagrees
  EXPECT_FALSE(is_stun_binding_request(req.data(), 19));   // shorter than a header
  std::vector<std::uint8_t> resp = req;
  resp[0] = 0x01;  // 0x0101: Binding Success Response
  EXPECT_FALSE(is_stun_binding_request(resp.data(), 20));
}

namespace {

// A connection the tests walk through: client ISN 1000, server ISN 5000,
// four 100-byte client segments each acknowledged by the server, FINs.
struct Conv {
  struct Seg {
    int dir;
    TcpSegment s;
  };
  std::vector<Seg> segs;
  Conv() {
    auto add = [&](int dir, std::uint8_t fl, std::uint32_t seq, std::uint32_t ack, std::uint32_t len) {
      segs.push_back({dir, TcpSegment{seq, ack, fl, len}});
    };
    add(0, S, 1000, 0, 0);         // 0 SYN
    add(1, S | A, 5000, 1001, 0);  // 1 SYN/ACK
    add(0, A, 1001, 5001, 0);      // 2 ACK
    for (std::uint32_t i = 0; i < 4; ++i) {
      add(0, A, 1001 + 100 * i, 5001, 100);  // 3,5,7,9 data
      add(1, A, 5001, 1101 + 100 * i, 0);    // 4,6,8,10 its ACK
    }
    add(0, F | A, 1401, 5001, 0);  // 11 FIN
    add(1, F | A, 5001, 1402, 0);  // 12 FIN/ACK
    add(0, A, 1402, 5002, 0);      // 13 last ACK
  }
  std::vector<int> kept(const Limits& lim) const {
    TcpDir d[2];
    std::vector<int> out;
    for (std::size_t i = 0; i < segs.size(); ++i)
      if (tcp_keep(d[segs[i].dir], d[1 - segs[i].dir], segs[i].s, lim)) out.push_back(static_cast<int>(i));
    return out;
  }
};

}  // namespace

TEST(PcapDumpRules, TcpMaxPacketsKeepsTheFirstDataSegmentsAndTheirAcks) {
  Conv c;
  EXPECT_EQ(c.kept({2, 0}), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 11, 12, 13}));
  EXPECT_EQ(c.kept({1, 0}), (std::vector<int>{0, 1, 2, 3, 4, 11, 12, 13}));
  EXPECT_EQ(c.kept({4, 0}).size(), c.segs.size());
}

TEST(PcapDumpRules, TcpMaxBytesCountsFromTheSegmentStart) {
  Conv c;
  // Segment starts are 1, 101, 201, 301 bytes into the stream; an ACK is kept
  // while all the client sent (end - ISN: 101, 201, ...) is within the limit.
  EXPECT_EQ(c.kept({0, 101}), (std::vector<int>{0, 1, 2, 3, 4, 5, 11, 12, 13}));
  EXPECT_EQ(c.kept({0, 100}), (std::vector<int>{0, 1, 2, 3, 11, 12, 13}));
  // Either limit keeps a segment.
  EXPECT_EQ(c.kept({3, 101}), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 13}));
}

TEST(PcapDumpRules, TcpRetransmissionsCountAsDataSegmentsAndRstIsAlwaysKept) {
  TcpDir d[2];
  const Limits lim{2, 0};
  EXPECT_TRUE(tcp_keep(d[0], d[1], {1000, 0, S, 0}, lim));
  EXPECT_TRUE(tcp_keep(d[0], d[1], {1001, 0, A, 50}, lim));
  EXPECT_TRUE(tcp_keep(d[0], d[1], {1001, 0, A, 50}, lim));   // retransmission: data packet 2
  EXPECT_FALSE(tcp_keep(d[0], d[1], {1051, 0, A, 50}, lim));  // data packet 3
  EXPECT_TRUE(tcp_keep(d[0], d[1], {1101, 0, R, 0}, lim));
  EXPECT_EQ(d[0].data_pkts, 3u);
  EXPECT_EQ(d[0].max_end, 1101u);
}

TEST(PcapDumpRules, TcpWithoutSynCountsFromTheFirstByteSeen) {
  TcpDir d[2];
  const Limits lim{0, 10};
  EXPECT_TRUE(tcp_keep(d[0], d[1], {7000, 0, A, 10}, lim));   // starts at 1
  EXPECT_FALSE(tcp_keep(d[0], d[1], {7010, 0, A, 10}, lim));  // starts at 11
  EXPECT_EQ(d[0].isn, 6999u);
}

TEST(PcapDumpRules, UdpLimitsCountThisDatagram) {
  UdpDir d;
  EXPECT_TRUE(udp_keep(d, 10, {2, 0}));
  EXPECT_TRUE(udp_keep(d, 10, {2, 0}));
  EXPECT_FALSE(udp_keep(d, 10, {2, 0}));
  UdpDir b;
  EXPECT_TRUE(udp_keep(b, 10, {0, 25}));
  EXPECT_TRUE(udp_keep(b, 10, {0, 25}));
  EXPECT_FALSE(udp_keep(b, 10, {0, 25}));  // 30 bytes
  UdpDir e;                                // empty datagrams stay within a byte limit
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(udp_keep(e, 0, {0, 1}));
  EXPECT_EQ(e.packets, 5u);
}
