#include "ipfix_flow.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace netloom::ipfix {
namespace {

constexpr std::uint8_t kTcp = 6;

Field std_ie(std::uint16_t id, std::uint16_t len) { return Field{id, len, 0}; }
Field rev_ie(std::uint16_t id, std::uint16_t len) { return Field{id, len, kReversePen}; }
Field nl_ie(std::uint16_t id, std::uint16_t len) { return Field{id, len, kNetloomPen}; }

Template make_template(Layout l) {
  const bool v6 = l == Layout::tcp6 || l == Layout::udp6;
  const bool tcp = l == Layout::tcp4 || l == Layout::tcp6;
  Template t;
  t.id = static_cast<std::uint16_t>(l);
  auto& f = t.fields;
  if (v6) {
    f.push_back(std_ie(iana::sourceIPv6Address, 16));
    f.push_back(std_ie(iana::destinationIPv6Address, 16));
  } else {
    f.push_back(std_ie(iana::sourceIPv4Address, 4));
    f.push_back(std_ie(iana::destinationIPv4Address, 4));
  }
  f.push_back(std_ie(iana::sourceTransportPort, 2));
  f.push_back(std_ie(iana::destinationTransportPort, 2));
  f.push_back(std_ie(iana::protocolIdentifier, 1));
  f.push_back(std_ie(iana::octetDeltaCount, 8));
  f.push_back(std_ie(iana::packetDeltaCount, 8));
  f.push_back(rev_ie(iana::octetDeltaCount, 8));
  f.push_back(rev_ie(iana::packetDeltaCount, 8));
  f.push_back(std_ie(iana::flowStartMilliseconds, 8));
  f.push_back(std_ie(iana::flowEndMilliseconds, 8));
  f.push_back(std_ie(iana::flowStartNanoseconds, 8));
  f.push_back(std_ie(iana::flowEndNanoseconds, 8));
  f.push_back(std_ie(iana::flowEndReason, 1));
  if (tcp) f.push_back(std_ie(iana::tcpControlBits, 2));
  f.push_back(nl_ie(nl::appLabel, kVarLen));
  f.push_back(nl_ie(nl::tstatP2PType, 2));
  f.push_back(nl_ie(nl::flowFlags, 2));
  f.push_back(nl_ie(nl::flowEnd, 1));
  if (tcp) {
    f.push_back(nl_ie(nl::tstatConType, 4));
    f.push_back(nl_ie(nl::tstatHttpType, 2));
    for (std::uint16_t id = nl::rttAvgClient; id <= nl::firstAckServer; ++id) f.push_back(nl_ie(id, 8));
    f.push_back(nl_ie(nl::tlsServerName, kVarLen));
    f.push_back(nl_ie(nl::httpHost, kVarLen));
  } else {
    f.push_back(nl_ie(nl::tstatUdpTypeClient, 2));
    f.push_back(nl_ie(nl::tstatUdpTypeServer, 2));
    for (std::uint16_t id = nl::firstPacketClient; id <= nl::lastPacketServer; ++id)
      f.push_back(nl_ie(id, 8));
  }
  return t;
}

std::string_view cut(const std::string& s) { return std::string_view(s).substr(0, kMaxString); }

double rtt_avg_us(const TcpDirStats& d) {
  return d.rtt_cnt ? d.rtt_sum_us / static_cast<double>(d.rtt_cnt) : 0.0;
}

std::uint16_t flags_of(const FlowRecord& r) {
  std::uint16_t f = 0;
  if (r.internal[0]) f |= kFlagClientInternal;
  if (r.internal[1]) f |= kFlagServerInternal;
  if (r.crypto[0]) f |= kFlagClientCrypto;
  if (r.crypto[1]) f |= kFlagServerCrypto;
  if (r.complete) f |= kFlagComplete;
  if (r.midstream) f |= kFlagMidstream;
  return f;
}

std::uint64_t dir_bytes(const FlowRecord& r, int d) {
  return r.key.l4_proto == kTcp ? r.tcp[d].bytes_all : r.udp[d].bytes_all;
}
std::uint64_t dir_pkts(const FlowRecord& r, int d) {
  return r.key.l4_proto == kTcp ? r.tcp[d].pkts_all : r.udp[d].pkts_all;
}

// The value of field f for record r.
void put_field(Bytes& b, const FlowRecord& r, const Field& f) {
  const FlowKey& k = r.key;
  if (f.pen == 0) {
    switch (f.id) {
      case iana::sourceIPv4Address:
        b.insert(b.end(), k.client.begin(), k.client.begin() + 4);
        return;
      case iana::destinationIPv4Address:
        b.insert(b.end(), k.server.begin(), k.server.begin() + 4);
        return;
      case iana::sourceIPv6Address:
        b.insert(b.end(), k.client.begin(), k.client.end());
        return;
      case iana::destinationIPv6Address:
        b.insert(b.end(), k.server.begin(), k.server.end());
        return;
      case iana::sourceTransportPort:
        return put16(b, k.client_port);
      case iana::destinationTransportPort:
        return put16(b, k.server_port);
      case iana::protocolIdentifier:
        return put8(b, k.l4_proto);
      case iana::octetDeltaCount:
        return put64(b, dir_bytes(r, 0));
      case iana::packetDeltaCount:
        return put64(b, dir_pkts(r, 0));
      case iana::flowStartMilliseconds:
        return put64(b, r.first_ns / 1'000'000);
      case iana::flowEndMilliseconds:
        return put64(b, r.last_ns / 1'000'000);
      case iana::flowStartNanoseconds:
        return put64(b, ns_to_ntp(r.first_ns));
      case iana::flowEndNanoseconds:
        return put64(b, ns_to_ntp(r.last_ns));
      case iana::flowEndReason:
        return put8(b, end_reason(r.end));
      case iana::tcpControlBits:
        return put16(b, tcp_flags(r));
    }
  } else if (f.pen == kReversePen) {
    switch (f.id) {
      case iana::octetDeltaCount:
        return put64(b, dir_bytes(r, 1));
      case iana::packetDeltaCount:
        return put64(b, dir_pkts(r, 1));
    }
  } else if (f.pen == kNetloomPen) {
    const TcpDirStats &c = r.tcp[0], &s = r.tcp[1];
    switch (f.id) {
      case nl::appLabel:
        return put_varlen(b, cut(r.labels.app));
      case nl::tstatConType:
        return put32(b, r.labels.con_type);
      case nl::tstatP2PType:
        return put16(b, r.labels.p2p_type);
      case nl::tstatHttpType:
        return put16(b, r.labels.http_type);
      case nl::tstatUdpTypeClient:
        return put16(b, r.labels.udp_type[0]);
      case nl::tstatUdpTypeServer:
        return put16(b, r.labels.udp_type[1]);
      case nl::flowFlags:
        return put16(b, flags_of(r));
      case nl::flowEnd:
        return put8(b, static_cast<std::uint8_t>(r.end));
      case nl::rttAvgClient:
        return put_f64(b, rtt_avg_us(c));
      case nl::rttMinClient:
        return put_f64(b, c.rtt_min_us);
      case nl::rttMaxClient:
        return put_f64(b, c.rtt_max_us);
      case nl::rttSamplesClient:
        return put64(b, c.rtt_cnt);
      case nl::rttAvgServer:
        return put_f64(b, rtt_avg_us(s));
      case nl::rttMinServer:
        return put_f64(b, s.rtt_min_us);
      case nl::rttMaxServer:
        return put_f64(b, s.rtt_max_us);
      case nl::rttSamplesServer:
        return put64(b, s.rtt_cnt);
      case nl::firstPayloadClient:
        return put64(b, c.first_payload_ns);
      case nl::lastPayloadClient:
        return put64(b, c.last_payload_ns);
      case nl::firstPayloadServer:
        return put64(b, s.first_payload_ns);
      case nl::lastPayloadServer:
        return put64(b, s.last_payload_ns);
      case nl::firstAckClient:
        return put64(b, c.first_ack_ns);
      case nl::firstAckServer:
        return put64(b, s.first_ack_ns);
      case nl::firstPacketClient:
        return put64(b, r.udp[0].first_ns);
      case nl::lastPacketClient:
        return put64(b, r.udp[0].last_ns);
      case nl::firstPacketServer:
        return put64(b, r.udp[1].first_ns);
      case nl::lastPacketServer:
        return put64(b, r.udp[1].last_ns);
      case nl::tlsServerName:
        return put_varlen(b, cut(r.l7.tls_sni));
      case nl::httpHost:
        return put_varlen(b, cut(r.l7.http_host));
    }
  }
  // A field of our own templates that this function does not know: a bug.
  b.insert(b.end(), f.length == kVarLen ? 1 : f.length, 0);
}

std::size_t varlen_size(std::size_t n) { return n < 255 ? 1 + n : 3 + n; }

}  // namespace

const std::vector<Template>& export_templates() {
  static const std::vector<Template> all = {make_template(Layout::tcp4), make_template(Layout::tcp6),
                                            make_template(Layout::udp4), make_template(Layout::udp6)};
  return all;
}

const Template& export_template(Layout l) {
  return export_templates()[static_cast<std::size_t>(static_cast<std::uint16_t>(l) - 256)];
}

Layout layout_of(const FlowRecord& r) {
  const bool v6 = r.key.ip_version == 6;
  if (r.key.l4_proto == kTcp) return v6 ? Layout::tcp6 : Layout::tcp4;
  return v6 ? Layout::udp6 : Layout::udp4;
}

void put_record(Bytes& b, const FlowRecord& r, Layout l) {
  for (const Field& f : export_template(l).fields) put_field(b, r, f);
}

std::size_t record_len(const FlowRecord& r, Layout l) {
  std::size_t n = 0;
  for (const Field& f : export_template(l).fields) {
    if (f.length != kVarLen) {
      n += f.length;
    } else if (f.id == nl::appLabel) {
      n += varlen_size(cut(r.labels.app).size());
    } else if (f.id == nl::tlsServerName) {
      n += varlen_size(cut(r.l7.tls_sni).size());
    } else if (f.id == nl::httpHost) {
      n += varlen_size(cut(r.l7.http_host).size());
    } else {
      n += 1;
    }
  }
  return n;
}

std::uint8_t end_reason(FlowEnd e) {
  switch (e) {
    case FlowEnd::idle:
    case FlowEnd::singleton:
      return 1;  // idle timeout
    case FlowEnd::interim:
      return 2;  // active timeout
    case FlowEnd::fin:
    case FlowEnd::rst:
    case FlowEnd::half_duplex:
      return 3;  // end of flow detected
    case FlowEnd::open:
    case FlowEnd::end_of_input:
      return 4;  // forced end
    case FlowEnd::evicted:
      return 5;  // lack of resources
  }
  return 4;
}

FlowEnd flow_end_from_reason(std::uint8_t reason) {
  switch (reason) {
    case 1:
      return FlowEnd::idle;
    case 2:
      return FlowEnd::interim;
    case 3:
      return FlowEnd::fin;
    case 5:
      return FlowEnd::evicted;
    default:
      return FlowEnd::end_of_input;
  }
}

std::uint16_t tcp_flags(const FlowRecord& r) {
  std::uint16_t f = 0;
  for (const TcpDirStats& d : r.tcp) {
    if (d.fin_cnt) f |= 0x01;
    if (d.syn_cnt) f |= 0x02;
    if (d.rst_cnt) f |= 0x04;
    if (d.pkts_push) f |= 0x08;
    if (d.ack_cnt) f |= 0x10;
  }
  return f;
}

bool flow_from_record(const Template& t, const std::vector<Value>& values, FlowRecord& out,
                      std::uint64_t* skipped) {
  FlowRecord r;
  bool v4s = false, v4d = false, v6s = false, v6d = false;
  // Counters: delta, total and initiator/responder forms; the first found wins.
  std::uint64_t bytes[2] = {0, 0}, pkts[2] = {0, 0};
  bool have_bytes[2] = {false, false}, have_pkts[2] = {false, false};
  // Times by precision: 0 s, 1 ms, 2 µs, 3 ns; per [start/end][direction].
  std::uint64_t times[2][2] = {{0, 0}, {0, 0}};
  int time_prec[2][2] = {{-1, -1}, {-1, -1}};
  bool have_reason = false, have_end = false, have_flags = false;
  std::uint8_t reason = 0;
  double rtt_avg[2] = {0, 0};
  bool dir_times[2] = {false, false};  // netloom's per-direction UDP times present
  std::uint64_t unknown = 0;

  auto set_count = [](std::uint64_t* arr, bool* have, int d, std::uint64_t v) {
    if (!have[d]) {
      arr[d] = v;
      have[d] = true;
    }
  };
  auto set_time = [&](int which, int d, int prec, std::uint64_t ns) {
    if (prec > time_prec[which][d]) {
      time_prec[which][d] = prec;
      times[which][d] = ns;
    }
  };

  const std::size_t n = std::min(t.fields.size(), values.size());
  for (std::size_t i = 0; i < n; ++i) {
    const Field& f = t.fields[i];
    const Value v = values[i];
    const std::uint64_t u = as_unsigned(v);
    if (f.pen == 0 || f.pen == kReversePen) {
      const int d = f.pen == kReversePen ? 1 : 0;
      bool known = true;
      switch (f.id) {
        case iana::sourceIPv4Address:
        case iana::destinationIPv4Address:
          if (d || v.len != 4) {
            known = false;
            break;
          }
          std::copy(v.data, v.data + 4,
                    (f.id == iana::sourceIPv4Address ? r.key.client : r.key.server).begin());
          (f.id == iana::sourceIPv4Address ? v4s : v4d) = true;
          break;
        case iana::sourceIPv6Address:
        case iana::destinationIPv6Address:
          if (d || v.len != 16) {
            known = false;
            break;
          }
          std::copy(v.data, v.data + 16,
                    (f.id == iana::sourceIPv6Address ? r.key.client : r.key.server).begin());
          (f.id == iana::sourceIPv6Address ? v6s : v6d) = true;
          break;
        case iana::sourceTransportPort:
          if (d) known = false;
          if (!d) r.key.client_port = static_cast<std::uint16_t>(u);
          break;
        case iana::destinationTransportPort:
          if (d) known = false;
          if (!d) r.key.server_port = static_cast<std::uint16_t>(u);
          break;
        case iana::protocolIdentifier:
          if (d) known = false;
          if (!d) r.key.l4_proto = static_cast<std::uint8_t>(u);
          break;
        case iana::octetDeltaCount:
        case iana::octetTotalCount:
          set_count(bytes, have_bytes, d, u);
          break;
        case iana::packetDeltaCount:
        case iana::packetTotalCount:
          set_count(pkts, have_pkts, d, u);
          break;
        case iana::initiatorOctets:
        case iana::responderOctets:
          if (d) {
            known = false;
            break;
          }
          set_count(bytes, have_bytes, f.id == iana::initiatorOctets ? 0 : 1, u);
          break;
        case iana::initiatorPackets:
        case iana::responderPackets:
          if (d) {
            known = false;
            break;
          }
          set_count(pkts, have_pkts, f.id == iana::initiatorPackets ? 0 : 1, u);
          break;
        case iana::flowStartSeconds:
        case iana::flowEndSeconds:
          set_time(f.id == iana::flowEndSeconds, d, 0, u * 1'000'000'000ull);
          break;
        case iana::flowStartMilliseconds:
        case iana::flowEndMilliseconds:
          set_time(f.id == iana::flowEndMilliseconds, d, 1, u * 1'000'000ull);
          break;
        case iana::flowStartMicroseconds:
        case iana::flowEndMicroseconds:
          // dateTimeMicroseconds: NTP format, the low 11 bits unused.
          set_time(f.id == iana::flowEndMicroseconds, d, 2,
                   ntp_to_ns(u & ~std::uint64_t{0x7ff}) / 1000 * 1000);
          break;
        case iana::flowStartNanoseconds:
        case iana::flowEndNanoseconds:
          set_time(f.id == iana::flowEndNanoseconds, d, 3, ntp_to_ns(u));
          break;
        case iana::flowEndReason:
          if (d) {
            known = false;
            break;
          }
          have_reason = true;
          reason = static_cast<std::uint8_t>(u);
          break;
        default:
          known = false;
      }
      if (!known) ++unknown;
      continue;
    }
    if (f.pen != kNetloomPen) {
      ++unknown;
      continue;
    }
    TcpDirStats &c = r.tcp[0], &s = r.tcp[1];
    switch (f.id) {
      case nl::appLabel:
        r.labels.app = std::string(as_string(v));
        break;
      case nl::tstatConType:
        r.labels.con_type = static_cast<std::uint32_t>(u);
        break;
      case nl::tstatP2PType:
        r.labels.p2p_type = static_cast<std::uint16_t>(u);
        break;
      case nl::tstatHttpType:
        r.labels.http_type = static_cast<std::uint16_t>(u);
        break;
      case nl::tstatUdpTypeClient:
        r.labels.udp_type[0] = static_cast<std::uint16_t>(u);
        break;
      case nl::tstatUdpTypeServer:
        r.labels.udp_type[1] = static_cast<std::uint16_t>(u);
        break;
      case nl::flowFlags:
        have_flags = true;
        r.internal = {(u & kFlagClientInternal) != 0, (u & kFlagServerInternal) != 0};
        r.crypto = {(u & kFlagClientCrypto) != 0, (u & kFlagServerCrypto) != 0};
        r.complete = (u & kFlagComplete) != 0;
        r.midstream = (u & kFlagMidstream) != 0;
        break;
      case nl::flowEnd:
        if (u <= static_cast<std::uint8_t>(FlowEnd::interim)) {
          have_end = true;
          r.end = static_cast<FlowEnd>(u);
        }
        break;
      case nl::rttAvgClient:
        rtt_avg[0] = as_float(v);
        break;
      case nl::rttMinClient:
        c.rtt_min_us = as_float(v);
        break;
      case nl::rttMaxClient:
        c.rtt_max_us = as_float(v);
        break;
      case nl::rttSamplesClient:
        c.rtt_cnt = u;
        break;
      case nl::rttAvgServer:
        rtt_avg[1] = as_float(v);
        break;
      case nl::rttMinServer:
        s.rtt_min_us = as_float(v);
        break;
      case nl::rttMaxServer:
        s.rtt_max_us = as_float(v);
        break;
      case nl::rttSamplesServer:
        s.rtt_cnt = u;
        break;
      case nl::firstPayloadClient:
        c.first_payload_ns = u;
        break;
      case nl::lastPayloadClient:
        c.last_payload_ns = u;
        break;
      case nl::firstPayloadServer:
        s.first_payload_ns = u;
        break;
      case nl::lastPayloadServer:
        s.last_payload_ns = u;
        break;
      case nl::firstAckClient:
        c.first_ack_ns = u;
        break;
      case nl::firstAckServer:
        s.first_ack_ns = u;
        break;
      case nl::firstPacketClient:
        r.udp[0].first_ns = u;
        dir_times[0] = true;
        break;
      case nl::lastPacketClient:
        r.udp[0].last_ns = u;
        dir_times[0] = true;
        break;
      case nl::firstPacketServer:
        r.udp[1].first_ns = u;
        dir_times[1] = true;
        break;
      case nl::lastPacketServer:
        r.udp[1].last_ns = u;
        dir_times[1] = true;
        break;
      case nl::tlsServerName:
        r.l7.tls_sni = std::string(as_string(v));
        break;
      case nl::httpHost:
        r.l7.http_host = std::string(as_string(v));
        break;
      default:
        ++unknown;
    }
  }
  if (skipped) *skipped += unknown;

  if (v4s && v4d) {
    r.key.ip_version = 4;
  } else if (v6s && v6d) {
    r.key.ip_version = 6;
  } else {
    return false;  // not a flow of addresses (or a mix of families)
  }
  if (!have_flags) {
    // Another exporter: no notion of internal networks, so every host
    // counts as internal (Tstat without -N).
    r.internal = {true, true};
  }
  if (!have_end) r.end = have_reason ? flow_end_from_reason(reason) : FlowEnd::idle;
  r.first_ns = times[0][0];
  r.last_ns = times[1][0];
  if (r.last_ns < r.first_ns) r.last_ns = r.first_ns;

  for (int d = 0; d < 2; ++d) {
    if (r.key.l4_proto == kTcp) {
      r.tcp[d].pkts_all = pkts[d];
      r.tcp[d].bytes_all = bytes[d];
      // Back from the average: sum = avg * samples.
      r.tcp[d].rtt_sum_us = rtt_avg[d] * static_cast<double>(r.tcp[d].rtt_cnt);
    } else {
      UdpDirStats& u = r.udp[d];
      u.pkts_all = pkts[d];
      u.bytes_all = bytes[d];
      if (!dir_times[d] && pkts[d]) {
        // No per-direction times: the direction's own (reverse) times if
        // sent, else the flow's.
        u.first_ns = time_prec[0][d] >= 0 ? times[0][d] : r.first_ns;
        u.last_ns = time_prec[1][d] >= 0 ? times[1][d] : r.last_ns;
      }
    }
  }
  out = std::move(r);
  return true;
}

}  // namespace netloom::ipfix
