// The TCP harness (see harness.hpp).
#include "harness.hpp"

#include "netloom/error.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {

namespace {

constexpr std::uint8_t kSyn = 0x02;

// Openings are tried in this order. They are disjoint by construction except
// RTSP and HTTP (OPTIONS), so RTSP, whose request line is stricter, goes first.
constexpr const TcpMachine* kOrder[] = {&kTlsMachine,  &kSshMachine,  &kRtspMachine, &kHttpMachine,
                                        &kSmtpMachine, &kPop3Machine, &kImapMachine, &kRtmpMachine,
                                        &kMsnMachine,  &kYmsgMachine, &kXmppMachine};

// By MachineId, for the per-packet lookup.
constexpr const TcpMachine* kById[kTcpMachines] = {&kHttpMachine, &kRtspMachine, &kSmtpMachine, &kPop3Machine,
                                                   &kImapMachine, &kTlsMachine,  &kSshMachine,  &kRtmpMachine,
                                                   &kMsnMachine,  &kYmsgMachine, &kXmppMachine};
const TcpMachine& machine_of(MachineId id) { return *kById[id]; }

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t");
  const auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace

std::string machine_names() {
  std::string out;
  for (const TcpMachine* m : kOrder) {
    out += m->name;
    out += ", ";
  }
  return out + "rtp";
}

Config parse_machines(const std::string& list, Config base) {
  base.tcp_machines.reset();
  base.rtp = false;
  std::size_t from = 0;
  bool any = false;
  while (from <= list.size()) {
    const std::size_t comma = std::min(list.find(',', from), list.size());
    const std::string name = trim(list.substr(from, comma - from));
    from = comma + 1;
    if (name.empty()) continue;
    any = true;
    if (name == "all") {
      base.tcp_machines.set();
      base.rtp = true;
      continue;
    }
    if (name == "rtp") {
      base.rtp = true;
      continue;
    }
    bool found = false;
    for (const TcpMachine* m : kOrder)
      if (m->name == name) {
        base.tcp_machines.set(m->id);
        found = true;
      }
    if (!found)
      throw ConfigError("parameter 'machines': unknown machine '" + name + "' (valid: all, " +
                        machine_names() + ")");
  }
  if (!any) throw ConfigError("parameter 'machines': no machine named (valid: all, " + machine_names() + ")");
  return base;
}

bool is_http_request(const std::uint8_t* p, std::uint32_t len) noexcept {
  if (len < 4) return false;
  auto is = [&](std::string_view k) { return len >= k.size() && std::memcmp(p, k.data(), k.size()) == 0; };
  switch (p[0]) {
    case 'G':
      return is("GET ");
    case 'P':
      return is("POST") || is("PUT ") || is("PATCH ");
    case 'H':
      return is("HEAD");
    case 'O':
      return is("OPTIONS ");
    case 'D':
      return is("DELETE ");
    case 'C':
      return is("CONNECT ");
    default:
      return false;
  }
}

std::string_view app_name(const Decision& d, std::uint16_t server_port) {
  if (d.con == l7::con::SSL) {
    if (server_port == 993) return "IMAPS";
    if (server_port == 995) return "POP3S";
    if (server_port == 465) return "SMTPS";
  }
  return d.app;
}

void apply(const Decision& d, std::uint16_t server_port, FlowLabels& labels) {
  labels.con_type = (labels.con_type & ~l7::con::kWeakGuesses) | d.con;
  if (d.http_type >= 0) labels.http_type = static_cast<std::uint16_t>(d.http_type);
  if (labels.app.empty()) labels.app = std::string(app_name(d, server_port));
}

void TcpFlow::count_http(const TcpPacket& p, FlowRecord& rec) const {
  if (p.dir == 0) {
    if (is_http_request(p.payload, p.len)) ++rec.l7.http_req_cnt;
  } else if (p.len >= 4 && std::memcmp(p.payload, "HTTP", 4) == 0) {
    ++rec.l7.http_res_cnt;
  }
}

void TcpFlow::finish(FlowRecord& rec) {
  if (!con_ && http_counting_) rec.l7.http_req_cnt = rec.l7.http_res_cnt = 0;  // not HTTP after all
  http_counting_ = false;
  phase_ = Phase::finished;
  scratch_ = Scratch{};
}

std::optional<Decision> TcpFlow::on_packet(const Config& cfg, const TcpPacket& p, FlowRecord& rec,
                                           Tally& tally) {
  ++pkts_;
  if (phase_ == Phase::finished) return std::nullopt;
  const unsigned d = p.dir & 1u;
  if (p.flags & kSyn) {
    isn_[d] = p.seq;
    syn_seen_ |= static_cast<std::uint8_t>(1u << d);
  }
  if (phase_ == Phase::counting) {  // an HTTP flow: a 4-byte compare per segment, whole flow
    if (p.len) count_http(p, rec);
    return std::nullopt;
  }
  if (pkts_ > cfg.max_packets) {
    finish(rec);
    return std::nullopt;
  }
  if (phase_ == Phase::active && !con_ && pkts_ > machine_of(machine_).budget) {
    finish(rec);  // the machine's own limit (Tstat's §6 give-up counts)
    return std::nullopt;
  }
  if (p.len == 0) return std::nullopt;

  Segment s;
  s.data = p.payload;
  s.len = p.len;
  s.dir = static_cast<std::uint8_t>(d);
  s.ts_ns = p.ts_ns;
  s.seq = (p.flags & kSyn) ? p.seq + 1 : p.seq;  // data on a SYN starts after it
  s.has_isn = (syn_seen_ >> d) & 1u;
  s.isn = isn_[d];
  s.first_in_dir = !((payload_seen_ >> d) & 1u);
  s.first_in_flow = payload_seen_ == 0;
  s.stream_start = s.has_isn ? s.seq == isn_[d] + 1 : s.first_in_dir;
  s.midstream = syn_seen_ == 0;
  s.flow_pkts = pkts_;
  s.server_port = p.server_port;
  payload_seen_ |= static_cast<std::uint8_t>(1u << d);

  if (phase_ == Phase::searching) {
    // Only the first payload of each direction may open a machine.
    if (!s.first_in_dir) return std::nullopt;
    for (const TcpMachine* m : kOrder)
      if (cfg.tcp_machines.test(m->id) && m->opens(s)) {
        machine_ = m->id;
        break;
      }
    if (machine_ == kTcpMachines) {
      if (payload_seen_ == 3) finish(rec);  // both directions started with nothing known
      return std::nullopt;
    }
    phase_ = Phase::active;
    http_counting_ = machine_ == kHttp;
  }

  const TcpMachine& m = machine_of(machine_);
  if (http_counting_) count_http(p, rec);
  Decision dec;
  const Step step = m.feed(scratch_, s, rec, dec, tally);
  std::optional<Decision> out;
  if (dec.con && !con_) {
    con_ = dec.con;
    apply(dec, p.server_port, rec.labels);
    out = dec;
  }
  if (step != Step::more) {
    if (con_ == l7::con::HTTP && http_counting_) {
      phase_ = Phase::counting;
      scratch_ = Scratch{};
    } else {
      finish(rec);
    }
  }
  return out;
}

}  // namespace netloom::fsmdpi
