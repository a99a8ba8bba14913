// The IPFIX codec (blocks/export/ipfix_codec.*) and netloom's record layout
// (ipfix_flow.*): values and templates written and read back, FlowRecords
// through a message and back, records of other exporters, and every kind of
// malformed message the decoder must refuse without reading past its bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ipfix_codec.hpp"
#include "ipfix_flow.hpp"

using namespace netloom;
using namespace netloom::ipfix;

namespace {

IpAddr v4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) { return IpAddr{a, b, c, d}; }
IpAddr v6(std::uint8_t last) {
  IpAddr x{0x20, 0x01, 0x0d, 0xb8};
  x[15] = last;
  return x;
}

FlowRecord tcp_record(bool ipv6) {
  FlowRecord r;
  r.key.ip_version = ipv6 ? 6 : 4;
  r.key.l4_proto = 6;
  r.key.client = ipv6 ? v6(1) : v4(10, 0, 0, 1);
  r.key.server = ipv6 ? v6(2) : v4(192, 0, 2, 80);
  r.key.client_port = 40001;
  r.key.server_port = 443;
  r.first_ns = 1700000000123456789ull;
  r.last_ns = 1700000002987654321ull;
  r.end = FlowEnd::fin;
  r.complete = true;
  r.internal = {true, false};
  r.crypto = {false, true};
  r.labels.con_type = 8192 | 1;
  r.labels.p2p_type = 1203;
  r.labels.http_type = 4;
  r.labels.app = "TLS";
  r.l7.tls_sni = "www.example.test";
  r.l7.http_host = "example.test";
  auto& c = r.tcp[0];
  auto& s = r.tcp[1];
  c.pkts_all = 12;
  c.bytes_all = 1234;
  c.syn_cnt = 1;
  c.fin_cnt = 1;
  c.ack_cnt = 11;
  c.pkts_push = 2;
  c.rtt_sum_us = 3 * 1500.25;
  c.rtt_cnt = 3;
  c.rtt_min_us = 1000.5;
  c.rtt_max_us = 2000.75;
  c.first_payload_ns = r.first_ns + 1000;
  c.last_payload_ns = r.first_ns + 2000;
  c.first_ack_ns = r.first_ns + 3000;
  s.pkts_all = 10;
  s.bytes_all = 98765;
  s.syn_cnt = 1;
  s.rst_cnt = 1;
  s.ack_cnt = 10;
  s.rtt_sum_us = 7.5;
  s.rtt_cnt = 1;
  s.rtt_min_us = 7.5;
  s.rtt_max_us = 7.5;
  s.first_payload_ns = r.first_ns + 4000;
  s.last_payload_ns = r.first_ns + 5000;
  s.first_ack_ns = r.first_ns + 6000;
  return r;
}

FlowRecord udp_record(bool ipv6, bool one_way) {
  FlowRecord r;
  r.key.ip_version = ipv6 ? 6 : 4;
  r.key.l4_proto = 17;
  r.key.client = ipv6 ? v6(3) : v4(10, 0, 0, 3);
  r.key.server = ipv6 ? v6(4) : v4(192, 0, 2, 53);
  r.key.client_port = 5353;
  r.key.server_port = 53;
  r.first_ns = 1700000100000000001ull;
  r.last_ns = 1700000100500000999ull;
  r.end = FlowEnd::idle;
  r.internal = {true, true};
  r.labels.udp_type = {19, one_way ? std::uint16_t{0} : std::uint16_t{19}};
  r.labels.app = "DNS";
  r.udp[0] = UdpDirStats{r.first_ns, r.first_ns + 77, 80, 2};
  if (!one_way) r.udp[1] = UdpDirStats{r.first_ns + 1000, r.last_ns, 300, 2};
  return r;
}

// A message with the templates and the given records.
Bytes message_of(const std::vector<FlowRecord>& recs, std::uint32_t seq = 0, std::uint32_t domain = 7) {
  Bytes m;
  begin_message(m, 1700000000, seq, domain);
  std::size_t s = open_set(m, kTemplateSetId);
  for (const Template& t : export_templates()) put_template(m, t);
  close_set(m, s);
  for (const FlowRecord& r : recs) {
    const Layout l = layout_of(r);
    std::size_t ds = open_set(m, static_cast<std::uint16_t>(l));
    const std::size_t before = m.size();
    put_record(m, r, l);
    EXPECT_EQ(m.size() - before, record_len(r, l));
    close_set(m, ds);
  }
  finish_message(m);
  return m;
}

std::vector<FlowRecord> decode_flows(Decoder& d, const Bytes& m, bool udp = true,
                                     std::string_view session = "udp 192.0.2.1:1000") {
  std::vector<FlowRecord> out;
  d.decode(session, udp, m.data(), m.size(), [&](const Template& t, const std::vector<Value>& v) {
    FlowRecord r;
    if (flow_from_record(t, v, r)) out.push_back(std::move(r));
  });
  return out;
}

// A bare template message: (id, fields) records in one set.
Bytes template_message(const std::vector<Template>& ts, std::uint16_t set_id = kTemplateSetId) {
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, set_id);
  for (const Template& t : ts) put_template(m, t);
  close_set(m, s);
  finish_message(m);
  return m;
}

std::string decode_error(Decoder& d, const Bytes& m, bool udp = true) {
  try {
    d.decode("udp 192.0.2.9:9", udp, m.data(), m.size(), [](const Template&, const std::vector<Value>&) {});
  } catch (const DecodeError& e) {
    return e.what();
  }
  return "";
}

Template simple_template(std::uint16_t id) {
  Template t;
  t.id = id;
  t.fields = {
      {iana::sourceIPv4Address, 4, 0}, {iana::destinationIPv4Address, 4, 0}, {iana::packetDeltaCount, 4, 0}};
  return t;
}

}  // namespace

TEST(IpfixCodec, BigEndianValuesAndBoundsCheckedReads) {
  Bytes b;
  put8(b, 0x01);
  put16(b, 0x0203);
  put32(b, 0x04050607);
  put64(b, 0x08090a0b0c0d0e0full);
  put_f64(b, 1.5);
  ASSERT_EQ(b.size(), 1u + 2 + 4 + 8 + 8);
  EXPECT_EQ(b[1], 0x02);
  EXPECT_EQ(b[7], 0x08);
  Cursor c(b.data(), b.size());
  EXPECT_EQ(c.u8(), 0x01);
  EXPECT_EQ(c.u16(), 0x0203);
  EXPECT_EQ(c.u32(), 0x04050607u);
  EXPECT_EQ(c.u64(), 0x08090a0b0c0d0e0full);
  EXPECT_EQ(as_float(Value{c.take(8), 8}), 1.5);
  EXPECT_EQ(c.left(), 0u);
  EXPECT_THROW(c.u8(), DecodeError);
  Cursor short_one(b.data(), 3);
  short_one.u16();
  EXPECT_THROW(short_one.u16(), DecodeError);  // 1 byte left
  EXPECT_THROW(short_one.take(2), DecodeError);
}

TEST(IpfixCodec, ReducedSizeUnsignedAndFloat32) {
  const std::uint8_t three[] = {0x01, 0x00, 0x02};
  EXPECT_EQ(as_unsigned(Value{three, 3}), 0x010002u);
  EXPECT_EQ(as_unsigned(Value{three, 0}), 0u);
  const std::uint8_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
  EXPECT_EQ(as_unsigned(Value{nine, 9}), 0u);  // not an integer length
  float f = 2.25f;
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  Bytes b;
  put32(b, u);
  EXPECT_EQ(as_float(Value{b.data(), 4}), 2.25);
}

// Also past the NTP era rollover of 2036.
TEST(IpfixCodec, NtpTimestampsRoundTripEveryNanosecond) {
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> ns = {0,
                                   1,
                                   999'999'999,
                                   1'000'000'000,
                                   1700000000123456789ull,
                                   1700000000999999999ull,
                                   4102444800000000000ull};
  for (int i = 0; i < 100000; ++i) ns.push_back(1600000000000000000ull + rng() % 200000000000000000ull);
  for (std::uint64_t x : ns) {
    const std::uint64_t ntp = ns_to_ntp(x);
    ASSERT_EQ(ntp_to_ns(ntp), x) << x;
    // A collector that takes milliseconds from the fraction (nfdump) gets the
    // same millisecond as flowStartMilliseconds.
    if (x >= 2085978496000000000ull) continue;  // NTP era 1 (2036 on): no such check
    const std::uint64_t ms = (ntp >> 32) * 1000 + (((ntp & 0xffffffffull) * 1000) >> 32);
    ASSERT_EQ(ms - 2208988800000ull, x / 1'000'000) << x;
  }
}

TEST(IpfixCodec, VariableLengthStrings) {
  for (std::size_t n : {0u, 1u, 254u, 255u, 256u, 1000u, 65535u, 70000u}) {
    Bytes b;
    put_varlen(b, std::string(n, 'x'));
    Cursor c(b.data(), b.size());
    std::size_t len = c.u8();
    if (len == 255) len = c.u16();
    EXPECT_EQ(len, std::min<std::size_t>(n, 65535)) << n;
    EXPECT_EQ(c.left(), len) << n;
  }
}

TEST(IpfixCodec, TemplatesSurviveTheWire) {
  Decoder d;
  decode_flows(d, message_of({}));
  ASSERT_EQ(d.template_count(), 4u);
  for (const Template& t : export_templates()) {
    const Template* got = d.find("udp 192.0.2.1:1000", 7, t.id);
    ASSERT_NE(got, nullptr) << t.id;
    EXPECT_EQ(*got, t);
  }
  // Separate templates for IPv4 and IPv6, netloom's PEN on the enterprise fields.
  const Template& t4 = export_template(Layout::tcp4);
  const Template& t6 = export_template(Layout::tcp6);
  EXPECT_EQ(t4.fields[0], (Field{iana::sourceIPv4Address, 4, 0}));
  EXPECT_EQ(t6.fields[0], (Field{iana::sourceIPv6Address, 16, 0}));
  bool app = false, reverse = false;
  for (const Field& f : t4.fields) {
    app |= f.pen == kNetloomPen && f.id == nl::appLabel && f.length == kVarLen;
    reverse |= f.pen == kReversePen && f.id == iana::octetDeltaCount;
  }
  EXPECT_TRUE(app);
  EXPECT_TRUE(reverse);
  EXPECT_EQ(d.find("udp 192.0.2.1:1000", 8, t4.id), nullptr);  // another domain
  EXPECT_EQ(d.find("udp 192.0.2.2:1000", 7, t4.id), nullptr);  // another exporter
}

TEST(IpfixCodec, FlowRecordsRoundTrip) {
  std::vector<FlowRecord> in = {tcp_record(false), tcp_record(true), udp_record(false, false),
                                udp_record(true, true)};
  in[1].labels.app = std::string(400, 'a');  // cut to kMaxString
  in[1].l7.tls_sni.clear();
  Decoder d;
  const Bytes m = message_of(in, 0);
  ASSERT_LE(m.size(), kMaxMessageLen);
  auto out = decode_flows(d, m);
  ASSERT_EQ(out.size(), in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const FlowRecord &a = in[i], &b = out[i];
    SCOPED_TRACE(i);
    EXPECT_EQ(b.key.ip_version, a.key.ip_version);
    EXPECT_EQ(b.key.l4_proto, a.key.l4_proto);
    EXPECT_EQ(b.key.client, a.key.client);
    EXPECT_EQ(b.key.server, a.key.server);
    EXPECT_EQ(b.key.client_port, a.key.client_port);
    EXPECT_EQ(b.key.server_port, a.key.server_port);
    EXPECT_EQ(b.first_ns, a.first_ns);
    EXPECT_EQ(b.last_ns, a.last_ns);
    EXPECT_EQ(b.end, a.end);
    EXPECT_EQ(b.complete, a.complete);
    EXPECT_EQ(b.midstream, a.midstream);
    EXPECT_EQ(b.internal, a.internal);
    EXPECT_EQ(b.crypto, a.crypto);
    EXPECT_EQ(b.labels.app, a.labels.app.substr(0, kMaxString));
    EXPECT_EQ(b.labels.p2p_type, a.labels.p2p_type);
    if (a.key.l4_proto == 6) {
      EXPECT_EQ(b.labels.con_type, a.labels.con_type);
      EXPECT_EQ(b.labels.http_type, a.labels.http_type);
      EXPECT_EQ(b.l7.tls_sni, a.l7.tls_sni);
      EXPECT_EQ(b.l7.http_host, a.l7.http_host);
      for (int dir = 0; dir < 2; ++dir) {
        const TcpDirStats &x = a.tcp[dir], &y = b.tcp[dir];
        EXPECT_EQ(y.pkts_all, x.pkts_all);
        EXPECT_EQ(y.bytes_all, x.bytes_all);
        EXPECT_EQ(y.rtt_cnt, x.rtt_cnt);
        EXPECT_DOUBLE_EQ(y.rtt_sum_us, x.rtt_sum_us);
        EXPECT_EQ(y.rtt_min_us, x.rtt_min_us);
        EXPECT_EQ(y.rtt_max_us, x.rtt_max_us);
        EXPECT_EQ(y.first_payload_ns, x.first_payload_ns);
        EXPECT_EQ(y.last_payload_ns, x.last_payload_ns);
        EXPECT_EQ(y.first_ack_ns, x.first_ack_ns);
      }
    } else {
      EXPECT_EQ(b.labels.udp_type, a.labels.udp_type);
      for (int dir = 0; dir < 2; ++dir) {
        EXPECT_EQ(b.udp[dir].pkts_all, a.udp[dir].pkts_all);
        EXPECT_EQ(b.udp[dir].bytes_all, a.udp[dir].bytes_all);
        EXPECT_EQ(b.udp[dir].first_ns, a.udp[dir].first_ns);
        EXPECT_EQ(b.udp[dir].last_ns, a.udp[dir].last_ns);
      }
    }
  }
  EXPECT_EQ(tcp_flags(in[0]), 0x01 | 0x02 | 0x04 | 0x08 | 0x10);
  EXPECT_EQ(d.stats().records, 4u);
}

TEST(IpfixCodec, EndReasonMapping) {
  EXPECT_EQ(end_reason(FlowEnd::idle), 1);
  EXPECT_EQ(end_reason(FlowEnd::interim), 2);
  EXPECT_EQ(end_reason(FlowEnd::fin), 3);
  EXPECT_EQ(end_reason(FlowEnd::rst), 3);
  EXPECT_EQ(end_reason(FlowEnd::end_of_input), 4);
  EXPECT_EQ(end_reason(FlowEnd::evicted), 5);
  EXPECT_EQ(flow_end_from_reason(2), FlowEnd::interim);
  EXPECT_EQ(flow_end_from_reason(5), FlowEnd::evicted);
}

// A record of another exporter: reduced-size counters, seconds, unknown IANA
// and enterprise elements (skipped), initiator/responder counters.
TEST(IpfixCodec, ForeignExporterRecords) {
  Template t;
  t.id = 300;
  t.fields = {{iana::sourceIPv4Address, 4, 0},
              {iana::destinationIPv4Address, 4, 0},
              {10, 4, 0},  // ingressInterface: not used
              {iana::sourceTransportPort, 2, 0},
              {iana::destinationTransportPort, 2, 0},
              {iana::protocolIdentifier, 1, 0},
              {iana::initiatorOctets, 4, 0},
              {iana::responderOctets, 4, 0},
              {iana::initiatorPackets, 2, 0},
              {iana::responderPackets, 2, 0},
              {iana::flowStartSeconds, 4, 0},
              {iana::flowEndSeconds, 4, 0},
              {iana::flowEndReason, 1, 0},
              {42, kVarLen, 99999},            // someone else's string
              {iana::octetDeltaCount, 8, 0}};  // ignored: initiatorOctets came first
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, kTemplateSetId);
  put_template(m, t);
  close_set(m, s);
  s = open_set(m, 300);
  for (std::uint8_t x : {10, 1, 1, 1, 10, 1, 1, 2}) put8(m, x);
  put32(m, 7);
  put16(m, 1234);
  put16(m, 80);
  put8(m, 17);
  put32(m, 1000);
  put32(m, 2000);
  put16(m, 5);
  put16(m, 6);
  put32(m, 1700000000);
  put32(m, 1700000005);
  put8(m, 1);
  put_varlen(m, "opaque");
  put64(m, 999);
  close_set(m, s);
  finish_message(m);
  Decoder d;
  std::vector<FlowRecord> out;
  std::uint64_t skipped = 0;
  d.decode("udp 198.51.100.7:2055", true, m.data(), m.size(),
           [&](const Template& tt, const std::vector<Value>& v) {
             FlowRecord r;
             ASSERT_TRUE(flow_from_record(tt, v, r, &skipped));
             out.push_back(r);
           });
  ASSERT_EQ(out.size(), 1u);
  const FlowRecord& r = out[0];
  EXPECT_EQ(r.key.ip_version, 4);
  EXPECT_EQ(r.key.client, v4(10, 1, 1, 1));
  EXPECT_EQ(r.key.server, v4(10, 1, 1, 2));
  EXPECT_EQ(r.key.server_port, 80);
  EXPECT_EQ(r.udp[0].bytes_all, 1000u);
  EXPECT_EQ(r.udp[1].bytes_all, 2000u);
  EXPECT_EQ(r.udp[0].pkts_all, 5u);
  EXPECT_EQ(r.udp[1].pkts_all, 6u);
  EXPECT_EQ(r.first_ns, 1700000000000000000ull);
  EXPECT_EQ(r.last_ns, 1700000005000000000ull);
  EXPECT_EQ(r.udp[1].first_ns, r.first_ns);  // no per-direction times: the flow's
  EXPECT_EQ(r.end, FlowEnd::idle);
  EXPECT_EQ(r.internal, (std::array<bool, 2>{true, true}));  // no netloom flags: all internal
  EXPECT_TRUE(r.labels.app.empty());
  EXPECT_EQ(skipped, 2u);  // ingressInterface and PEN 99999's field
}

TEST(IpfixCodec, RecordsWithoutAddressesAreNotFlows) {
  Template t;
  t.id = 301;
  t.fields = {{iana::packetDeltaCount, 8, 0}};
  FlowRecord r;
  const std::uint8_t eight[8] = {0, 0, 0, 0, 0, 0, 0, 9};
  EXPECT_FALSE(flow_from_record(t, {Value{eight, 8}}, r));
}

// ---- malformed messages -------------------------------------------------------

TEST(IpfixCodec, TruncatedHeader) {
  Decoder d;
  const Bytes m = {0x00, 0x0a, 0x00, 0x10, 0, 0, 0, 0, 0, 0};
  EXPECT_NE(decode_error(d, m).find("truncated message header"), std::string::npos);
  EXPECT_NE(decode_error(d, {}).find("truncated"), std::string::npos);
}

TEST(IpfixCodec, WrongVersionAndLength) {
  Decoder d;
  Bytes m = template_message({simple_template(256)});
  m[1] = 9;  // NetFlow v9
  EXPECT_NE(decode_error(d, m).find("version 9"), std::string::npos);
  m = template_message({simple_template(256)});
  m[2] = 0x01;  // length 256+..., more than the datagram
  EXPECT_NE(decode_error(d, m).find("message length"), std::string::npos);
  m = template_message({simple_template(256)});
  m[2] = 0;
  m[3] = 8;  // below the header
  EXPECT_NE(decode_error(d, m).find("shorter than its header"), std::string::npos);
  EXPECT_EQ(d.template_count(), 0u);
}

TEST(IpfixCodec, SetLengthPastTheMessage) {
  Decoder d;
  Bytes m = template_message({simple_template(256)});
  m[16 + 2] = 0x0f;  // set length 0x0fxx
  EXPECT_NE(decode_error(d, m).find("runs past the end of the message"), std::string::npos);
  m = template_message({simple_template(256)});
  m[16 + 2] = 0;
  m[16 + 3] = 2;  // below the set header
  EXPECT_NE(decode_error(d, m).find("below its 4-byte header"), std::string::npos);
  // Two stray bytes after the last set.
  m = template_message({simple_template(256)});
  m.push_back(0);
  m.push_back(0);
  finish_message(m);
  EXPECT_NE(decode_error(d, m).find("stray bytes"), std::string::npos);
}

TEST(IpfixCodec, TemplateWithZeroFields) {
  Template empty;
  empty.id = 256;
  Decoder d;
  // Over UDP a field-less template (a withdrawal) is not allowed at all.
  EXPECT_NE(decode_error(d, template_message({empty}), true).find("forbids over UDP"), std::string::npos);
  // Over TCP it withdraws, and withdrawing what was never sent is malformed.
  EXPECT_NE(decode_error(d, template_message({empty}), false).find("withdrawal of unknown template 256"),
            std::string::npos);
}

TEST(IpfixCodec, TemplateWithdrawalOverTcp) {
  Decoder d;
  const std::string tcp = "tcp 192.0.2.9:9";
  auto run = [&](const Bytes& m, std::string_view session) {
    d.decode(session, false, m.data(), m.size(), [](const Template&, const std::vector<Value>&) {});
  };
  run(template_message({simple_template(256), simple_template(257), simple_template(258)}), tcp);
  run(template_message({simple_template(256)}), "tcp 192.0.2.10:9");
  ASSERT_EQ(d.template_count(), 4u);
  Template w;
  w.id = 257;
  run(template_message({w}), tcp);
  EXPECT_EQ(d.find(tcp, 1, 257), nullptr);
  EXPECT_NE(d.find(tcp, 1, 256), nullptr);
  w.id = kTemplateSetId;  // all templates of the session and domain
  run(template_message({w}), tcp);
  EXPECT_EQ(d.find(tcp, 1, 256), nullptr);
  EXPECT_EQ(d.find(tcp, 1, 258), nullptr);
  EXPECT_NE(d.find("tcp 192.0.2.10:9", 1, 256), nullptr);  // other exporters keep theirs
  EXPECT_EQ(d.stats().withdrawals, 2u);
  d.end_session("tcp 192.0.2.10:9");
  EXPECT_EQ(d.template_count(), 0u);
}

TEST(IpfixCodec, HugeFieldCountIsRefusedBeforeAllocating) {
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, kTemplateSetId);
  put16(m, 256);
  put16(m, 65535);  // field count
  put16(m, iana::sourceIPv4Address);
  put16(m, 4);
  close_set(m, s);
  finish_message(m);
  Decoder d;
  EXPECT_NE(decode_error(d, m).find("declares 65535 fields"), std::string::npos);
  EXPECT_EQ(d.template_count(), 0u);
}

TEST(IpfixCodec, OtherBadTemplates) {
  Decoder d;
  Template t = simple_template(100);  // below 256
  EXPECT_NE(decode_error(d, template_message({t})).find("below 256"), std::string::npos);
  t = simple_template(256);
  t.fields[1].length = 0;
  EXPECT_NE(decode_error(d, template_message({t})).find("has length 0"), std::string::npos);
  Template o = simple_template(260);
  o.scope_count = 0;
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, kOptionsTemplateSetId);
  put16(m, 260);
  put16(m, 1);
  put16(m, 0);  // scope count 0
  put16(m, iana::sourceIPv4Address);
  put16(m, 4);
  close_set(m, s);
  finish_message(m);
  EXPECT_NE(decode_error(d, m).find("no scope field"), std::string::npos);
  // Too many templates from one exporter.
  Decoder small(Decoder::Options{std::chrono::minutes(1), 2});
  EXPECT_NE(decode_error(small,
                         template_message({simple_template(256), simple_template(257), simple_template(258)}))
                .find("more than 2 templates"),
            std::string::npos);
}

TEST(IpfixCodec, DataSetForAnUnknownTemplateIsSkippedAndReported) {
  Decoder d;
  std::vector<std::uint16_t> unknown;
  d.on_unknown = [&](std::string_view, std::uint32_t, std::uint16_t id) { unknown.push_back(id); };
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, 999);
  put32(m, 1);
  close_set(m, s);
  finish_message(m);
  int records = 0;
  d.decode("udp 192.0.2.9:9", true, m.data(), m.size(),
           [&](const Template&, const std::vector<Value>&) { ++records; });
  EXPECT_EQ(records, 0);
  EXPECT_EQ(d.stats().unknown_template_sets, 1u);
  EXPECT_EQ(unknown, std::vector<std::uint16_t>{999});
}

TEST(IpfixCodec, RecordCutShortAfterGoodRecords) {
  Template t = simple_template(256);
  t.fields.push_back({nl::appLabel, kVarLen, kNetloomPen});
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, kTemplateSetId);
  put_template(m, t);
  close_set(m, s);
  s = open_set(m, 256);
  for (int i = 0; i < 2; ++i) {  // two good records
    put32(m, 0x0a000001);
    put32(m, 0x0a000002);
    put32(m, 5);
    put_varlen(m, "ok");
  }
  put32(m, 0x0a000001);  // a third whose string claims 200 bytes
  put32(m, 0x0a000002);
  put32(m, 5);
  put8(m, 200);
  put8(m, 'x');
  close_set(m, s);
  finish_message(m);
  Decoder d;
  int records = 0;
  try {
    d.decode("udp 192.0.2.9:9", true, m.data(), m.size(),
             [&](const Template&, const std::vector<Value>&) { ++records; });
    FAIL() << "no error";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("cut short"), std::string::npos) << e.what();
  }
  EXPECT_EQ(records, 2);  // delivered before the damage
}

TEST(IpfixCodec, OptionsRecordsAreCountedNotDelivered) {
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, kOptionsTemplateSetId);
  Template o;
  o.id = 400;
  o.scope_count = 1;
  o.fields = {{149, 4, 0}, {41, 8, 0}};  // observationDomainId scope, exportedMessageTotalCount
  put_template(m, o);
  close_set(m, s);
  s = open_set(m, 400);
  put32(m, 1);
  put64(m, 77);
  close_set(m, s);
  finish_message(m);
  Decoder d;
  int records = 0;
  d.decode("udp 192.0.2.9:9", true, m.data(), m.size(),
           [&](const Template&, const std::vector<Value>&) { ++records; });
  EXPECT_EQ(records, 0);
  EXPECT_EQ(d.stats().options_records, 1u);
}

TEST(IpfixCodec, SequenceGapsCountLostRecords) {
  Decoder d;
  const FlowRecord r = udp_record(false, false);
  decode_flows(d, message_of({r, r}, 0));
  decode_flows(d, message_of({r}, 2));   // as expected
  decode_flows(d, message_of({r}, 10));  // 7 records never arrived
  EXPECT_EQ(d.stats().lost_records, 7u);
  EXPECT_EQ(d.stats().records, 4u);
}

TEST(IpfixCodec, UdpTemplatesExpireWhenNotRefreshed) {
  Decoder d(Decoder::Options{std::chrono::seconds(10), 4096});
  const auto t0 = Decoder::Clock::now();
  Bytes tm = template_message(export_templates());
  d.decode(
      "udp 192.0.2.1:1", true, tm.data(), tm.size(), [](const Template&, const std::vector<Value>&) {}, t0);
  Bytes m;
  begin_message(m, 0, 0, 1);
  std::size_t s = open_set(m, static_cast<std::uint16_t>(Layout::udp4));
  put_record(m, udp_record(false, false), Layout::udp4);
  close_set(m, s);
  finish_message(m);
  int records = 0;
  auto count = [&](const Template&, const std::vector<Value>&) { ++records; };
  d.decode("udp 192.0.2.1:1", true, m.data(), m.size(), count, t0 + std::chrono::seconds(5));
  EXPECT_EQ(records, 1);
  d.decode("udp 192.0.2.1:1", true, m.data(), m.size(), count, t0 + std::chrono::seconds(11));
  EXPECT_EQ(records, 1);
  EXPECT_EQ(d.stats().templates_expired, 1u);
  EXPECT_EQ(d.stats().unknown_template_sets, 1u);
}

// Whatever the bytes, decode() returns or throws DecodeError, and reads only
// what it was given (the sanitizer build checks the latter).
TEST(IpfixCodec, MutatedAndRandomMessagesNeverCrash) {
  std::mt19937 rng(7);
  const Bytes good = message_of({tcp_record(false), tcp_record(true), udp_record(false, false)});
  Decoder d;
  std::uint64_t errors = 0, ok = 0;
  for (int i = 0; i < 20000; ++i) {
    Bytes m = good;
    const int kind = i % 4;
    if (kind == 0) {  // flip bytes
      for (int k = 0; k < 4; ++k) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    } else if (kind == 1) {  // cut, header length fixed up to match
      m.resize(16 + rng() % (m.size() - 16));
      finish_message(m);
    } else if (kind == 2) {  // cut, header left as is
      m.resize(rng() % m.size());
    } else {  // random bytes behind a valid-looking header
      m.assign(16 + rng() % 400, 0);
      for (auto& x : m) x = static_cast<std::uint8_t>(rng());
      m[0] = 0;
      m[1] = 10;
      finish_message(m);
    }
    // Heap copy of exactly the message's size, so any over-read is caught.
    std::vector<std::uint8_t> exact(m.begin(), m.end());
    try {
      d.decode(i % 2 ? "udp a" : "tcp b", i % 2, exact.data(), exact.size(),
               [&](const Template& t, const std::vector<Value>& v) {
                 FlowRecord r;
                 flow_from_record(t, v, r);
               });
      ++ok;
    } catch (const DecodeError&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 1000u);
  EXPECT_GT(ok, 100u);
}

// What hostile templates can make the decoder hold is bounded.
TEST(IpfixCodec, TemplateFloodsAreBounded) {
  Template wide;
  wide.id = 256;
  for (int i = 0; i < 1025; ++i) wide.fields.push_back({iana::packetDeltaCount, 1, 0});
  Decoder d;
  EXPECT_NE(decode_error(d, template_message({wide})).find("more than the 1024 accepted"), std::string::npos);
  Decoder::Options o;
  o.max_total_templates = 3;
  Decoder small(o);
  auto feed = [&](const std::string& session, std::uint16_t id) {
    const Bytes m = template_message({simple_template(id)});
    try {
      small.decode(session, true, m.data(), m.size(), [](const Template&, const std::vector<Value>&) {});
      return std::string();
    } catch (const DecodeError& e) {
      return std::string(e.what());
    }
  };
  EXPECT_EQ(feed("udp a:1", 256), "");
  EXPECT_EQ(feed("udp a:2", 256), "");
  EXPECT_EQ(feed("udp a:3", 256), "");
  EXPECT_NE(feed("udp a:4", 256).find("from all exporters together"), std::string::npos);
  EXPECT_EQ(feed("udp a:1", 256), "");  // a refresh is no new template
}

TEST(IpfixCodec, ExpireForgetsStaleUdpTemplatesOnly) {
  Decoder d(Decoder::Options{std::chrono::seconds(10), 4096});
  const auto t0 = Decoder::Clock::now();
  const Bytes m = template_message({simple_template(256), simple_template(257)});
  auto none = [](const Template&, const std::vector<Value>&) {};
  d.decode("udp 192.0.2.1:1", true, m.data(), m.size(), none, t0);
  d.decode("udp 192.0.2.2:1", true, m.data(), m.size(), none, t0 + std::chrono::seconds(8));
  d.decode("tcp 192.0.2.3:1", false, m.data(), m.size(), none, t0);
  d.expire(t0 + std::chrono::seconds(12));
  EXPECT_EQ(d.find("udp 192.0.2.1:1", 1, 256), nullptr);
  EXPECT_NE(d.find("udp 192.0.2.2:1", 1, 256), nullptr);
  EXPECT_NE(d.find("tcp 192.0.2.3:1", 1, 257), nullptr);  // TCP templates live with the connection
  EXPECT_EQ(d.template_count(), 4u);
  EXPECT_EQ(d.stats().templates_expired, 2u);
}
