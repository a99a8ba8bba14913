#include "log_format.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <utility>

namespace netloom::logs {
namespace {

using Names = std::vector<std::string_view>;

// Column groups, in Tstat's order (tstat/tstat.c write_tcplog_header_block).
constexpr std::string_view kCoreDir[] = {"ip",         "port",       "pkts_all",  "rst_cnt",   "ack_cnt",
                                         "ack_cnt_p",  "bytes_uniq", "pkts_data", "bytes_all", "pkts_retx",
                                         "bytes_retx", "pkts_ooo",   "syn_cnt",   "fin_cnt"};
constexpr std::string_view kCoreTail[] = {
    "first",       "last",    "durat",   "c_first",    "s_first",    "c_last", "s_last", "c_first_ack",
    "s_first_ack", "c_isint", "s_isint", "c_iscrypto", "s_iscrypto", "con_t",  "p2p_t",  "http_t"};
constexpr std::string_view kE2EDir[] = {"rtt_avg", "rtt_min", "rtt_max", "rtt_std",
                                        "rtt_cnt", "ttl_min", "ttl_max"};
constexpr std::string_view kP2PCols[] = {"p2p_st",   "ed2k_data", "ed2k_sig",
                                         "ed2k_c2s", "ed2k_c2c",  "ed2k_chat"};
constexpr std::string_view kOptDir[] = {
    "f1323_opt", "tm_opt",   "win_scl",  "sack_opt", "sack_cnt",   "mss",       "mss_max",  "mss_min",
    "win_max",   "win_min",  "win_0",    "cwin_max", "cwin_min",   "cwin_ini",  "pkts_rto", "pkts_fs",
    "pkts_reor", "pkts_dup", "pkts_unk", "pkts_fc",  "pkts_unrto", "pkts_unfs", "syn_retx"};
constexpr std::string_view kL7[] = {"http_req_cnt",
                                    "http_res_cnt",
                                    "http_res",
                                    "c_pkts_push",
                                    "s_pkts_push",
                                    "c_tls_SNI",
                                    "s_tls_SCN",
                                    "c_npnalpn",
                                    "s_npnalpn",
                                    "tls_session_stat",
                                    "c_last_handshakeT",
                                    "s_last_handshakeT",
                                    "c_appdataT",
                                    "s_appdataT",
                                    "c_appdataB",
                                    "s_appdataB",
                                    "fqdn",
                                    "dns_rslv",
                                    "req_tm",
                                    "res_tm",
                                    "http_hostname",
                                    "c_TLSvers",
                                    "s_TLSvers",
                                    "dns_enc"};
constexpr std::string_view kUdpDir[] = {"ip",       "port",  "first_abs", "durat", "bytes_all",
                                        "pkts_all", "isint", "iscrypto",  "type"};
// log_skype_complete, per direction: the union of Tstat's UDP and TCP lines.
constexpr std::string_view kSkypeDir[] = {"ip",
                                          "port",
                                          "isint",
                                          "iscrypto",
                                          "bytes",
                                          "pkts",
                                          "e2e_pkts",
                                          "out_pkts",
                                          "sig_pkts",
                                          "unk_pkts",
                                          "audio_pkts",
                                          "video_pkts",
                                          "avg_pktsize",
                                          "pktsize_belief",
                                          "avg_ipg",
                                          "avgipg_belief",
                                          "chi_e2o_hdr_min",
                                          "chi_e2e_hdr_max",
                                          "chi_e2e_hdr_min",
                                          "chi_hdr_max",
                                          "chi_payload_max",
                                          "udp_type",
                                          "bayes",
                                          "chi_class",
                                          "video"};
constexpr std::string_view kSkypeTail[] = {"first_abs", "durat", "l4"};
constexpr std::string_view kUdpTail[] = {"fqdn",        "quic_SNI",      "quic_UA", "quic_c_vers",
                                         "quic_s_vers", "quic_zero_rtt", "quic_ech"};

// "c_"/"s_" + name, built once (thread-safe static) and kept for the process.
struct Prefixed {
  std::vector<std::string> storage;
  Names c[5], s[5];
  Prefixed() {
    const std::pair<const std::string_view*, std::size_t> groups[5] = {{kCoreDir, std::size(kCoreDir)},
                                                                       {kE2EDir, std::size(kE2EDir)},
                                                                       {kOptDir, std::size(kOptDir)},
                                                                       {kUdpDir, std::size(kUdpDir)},
                                                                       {kSkypeDir, std::size(kSkypeDir)}};
    std::size_t total = 0;
    for (auto& g : groups) total += 2 * g.second;
    storage.reserve(total);  // no reallocation: the views below stay valid
    for (int gi = 0; gi < 5; ++gi)
      for (char side : {'c', 's'})
        for (std::size_t i = 0; i < groups[gi].second; ++i) {
          storage.push_back(std::string(1, side) + "_" + std::string(groups[gi].first[i]));
          (side == 'c' ? c : s)[gi].push_back(storage.back());
        }
  }
};

const Names& prefixed(const std::string_view* names, char side) {
  static const Prefixed p;
  int which = names == kCoreDir ? 0 : names == kE2EDir ? 1 : names == kOptDir ? 2 : names == kUdpDir ? 3 : 4;
  return side == 'c' ? p.c[which] : p.s[which];
}

template <std::size_t N>
void add_dir(Names& out, const std::string_view (&names)[N], char side) {
  const Names& p = prefixed(names, side);
  out.insert(out.end(), p.begin(), p.end());
}
template <std::size_t N>
void add(Names& out, const std::string_view (&names)[N]) {
  out.insert(out.end(), names, names + N);
}

Names build_columns(Kind k, unsigned mask) {
  Names n;
  if (k == Kind::skype_complete) {
    add_dir(n, kSkypeDir, 'c');
    add_dir(n, kSkypeDir, 's');
    add(n, kSkypeTail);
    return n;
  }
  if (k == Kind::udp_complete) {
    add_dir(n, kUdpDir, 'c');
    add_dir(n, kUdpDir, 's');
    add(n, kUdpTail);
    return n;
  }
  add_dir(n, kCoreDir, 'c');
  add_dir(n, kCoreDir, 's');
  add(n, kCoreTail);
  if (k == Kind::tcp_nocomplete) return n;
  if (mask & kEndToEnd) {
    add_dir(n, kE2EDir, 'c');
    add_dir(n, kE2EDir, 's');
  }
  if (mask & kP2P) add(n, kP2PCols);
  if (mask & kOptions) {
    add_dir(n, kOptDir, 'c');
    add_dir(n, kOptDir, 's');
  }
  if (mask & kLayer7) add(n, kL7);
  // kAdvanced: no columns in Tstat's default build.
  return n;
}

}  // namespace

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::tcp_complete:
      return "log_tcp_complete";
    case Kind::tcp_nocomplete:
      return "log_tcp_nocomplete";
    case Kind::udp_complete:
      return "log_udp_complete";
    case Kind::skype_complete:
      return "log_skype_complete";
  }
  return "log_unknown";
}

std::vector<std::string_view> columns(Kind k, unsigned mask) { return build_columns(k, mask); }

std::string header(Format f, Kind k, unsigned mask) {
  const Names n = columns(k, mask);
  std::string h;
  if (f == Format::json) return h;
  if (f == Format::csv) {
    for (std::size_t i = 0; i < n.size(); ++i) {
      if (i) h += ',';
      h += n[i];
    }
    h += ",app\n";  // the classifiers' application name, beside Tstat's numeric codes
    return h;
  }
  if (k == Kind::skype_complete) return h;  // Tstat writes log_skype_complete without a header
  h += '#';
  if (k != Kind::udp_complete) {
    char lvl[16];
    unsigned m = mask % 100;
    lvl[0] = static_cast<char>('0' + m / 10);
    lvl[1] = static_cast<char>('0' + m % 10);
    h.append(lvl, 2);
    h += '#';
  }
  char num[16];
  for (std::size_t i = 0; i < n.size(); ++i) {
    if (i) h += ' ';
    h += n[i];
    h += ':';
    auto r = std::to_chars(num, num + sizeof num, i + 1);
    h.append(num, r.ptr);
  }
  h += '\n';
  return h;
}

// ---- RowWriter --------------------------------------------------------------

void RowWriter::begin(const std::vector<std::string_view>& names, std::string_view proto, bool complete,
                      std::string_view app) {
  spill();
  names_ = &names;
  col_ = 0;
  app_ = app;
  if (f_ == Format::json) {
    out_ += "{\"proto\":\"";
    out_ += proto;
    out_ += complete ? "\",\"complete\":true" : "\",\"complete\":false";
    out_ += ",\"app\":";
    if (app.empty()) {
      out_ += "null";
    } else {
      json_string(app);
    }
  }
}

void RowWriter::end() {
  spill();
  if (col_ != names_->size())
    throw std::logic_error("log row has " + std::to_string(col_) + " columns, header " +
                           std::to_string(names_->size()));
  if (f_ == Format::json) out_ += '}';
  if (f_ == Format::csv) {
    out_ += ',';
    csv_string(app_);
  }
  out_ += '\n';
}

void RowWriter::sep() {
  spill();
  switch (f_) {
    case Format::tstat:
      if (col_) out_ += ' ';
      break;
    case Format::csv:
      if (col_) out_ += ',';
      break;
    case Format::json:
      out_ += ",\"";
      out_ += (*names_)[col_];
      out_ += "\":";
      break;
  }
  ++col_;
}

void RowWriter::u(std::uint64_t v) {
  if (f_ == Format::tstat) {  // the usual case: separator and digits into the stage
    if (staged_ > kStage - kStageRoom) spill();
    char* p = stage_ + staged_;
    if (col_++) *p++ = ' ';
    staged_ = static_cast<std::size_t>(std::to_chars(p, stage_ + kStage, v).ptr - stage_);
    return;
  }
  sep();
  char b[24];
  out_.append(b, std::to_chars(b, b + sizeof b, v).ptr);
}

char* fixed6(char* first, char* last, double v) {
  // v = m * 2^-k exactly; v * 1e6 = m * 1e6 / 2^k, rounded half to even on
  // the exact quotient, which is what to_chars (printf's "%.6f") prints.
  const auto bits = std::bit_cast<std::uint64_t>(v);
  const unsigned exp = static_cast<unsigned>(bits >> 52);  // sign bit clear below
  if (v >= 0 && v < 9.2e12 && exp != 0) {
    const int k = 1075 - static_cast<int>(exp);
    if (k > 0 && k < 120) {
      const std::uint64_t m = (bits & ((std::uint64_t{1} << 52) - 1)) | std::uint64_t{1} << 52;
      const unsigned __int128 p = static_cast<unsigned __int128>(m) * 1000000u;
      auto q = static_cast<std::uint64_t>(p >> k);  // < 9.2e18: v < 9.2e12
      const unsigned __int128 r = p & ((static_cast<unsigned __int128>(1) << k) - 1);
      const unsigned __int128 half = static_cast<unsigned __int128>(1) << (k - 1);
      if (r > half || (r == half && (q & 1))) ++q;
      char* out = std::to_chars(first, last, q / 1000000).ptr;
      if (last - out < 7) return std::to_chars(first, last, v, std::chars_format::fixed, 6).ptr;
      *out++ = '.';
      std::uint64_t f = q % 1000000;
      for (int i = 5; i >= 0; --i, f /= 10) out[i] = static_cast<char>('0' + f % 10);
      return out + 6;
    }
  }
  if (v == 0 && !std::signbit(v)) {
    static constexpr char kZero[] = "0.000000";
    return std::copy(kZero, kZero + 8, first);
  }
  return std::to_chars(first, last, v, std::chars_format::fixed, 6).ptr;
}

void RowWriter::ms(double v) {
  if (!std::isfinite(v)) v = 0;                     // never print nan/inf into a log
  if (f_ == Format::tstat && v >= 0 && v < 1e12) {  // at most 13 + 1 + 6 characters and the separator
    if (staged_ > kStage - kStageRoom) spill();
    char* p = stage_ + staged_;
    if (col_++) *p++ = ' ';
    staged_ = static_cast<std::size_t>(fixed6(p, stage_ + kStage, v) - stage_);
    return;
  }
  char b[400];
  char* p = b;
  if (f_ == Format::tstat) {
    spill();
    if (col_++) *p++ = ' ';
  } else {
    sep();
  }
  out_.append(b, fixed6(p, b + sizeof b, v));
}

void RowWriter::num_text(std::string_view text) {
  sep();
  out_ += text;
}

void RowWriter::ip(const IpAddr& a, int version) {
  sep();
  char b[INET6_ADDRSTRLEN + 2];
  std::size_t n = 0;
  if (version == 6) {
    if (inet_ntop(AF_INET6, a.data(), b, sizeof b) == nullptr) b[0] = '\0';
    n = std::char_traits<char>::length(b);
  } else {
    for (int i = 0; i < 4; ++i) {
      if (i) b[n++] = '.';
      unsigned v = a[i];
      if (v >= 100) b[n++] = static_cast<char>('0' + v / 100);
      if (v >= 10) b[n++] = static_cast<char>('0' + v / 10 % 10);
      b[n++] = static_cast<char>('0' + v % 10);
    }
  }
  if (f_ == Format::json) out_ += '"';
  out_.append(b, n);
  if (f_ == Format::json) out_ += '"';
}

void RowWriter::str(std::string_view s) {
  sep();
  if (f_ == Format::tstat) {
    // Tstat writes strings raw; a space or control byte taken off the wire
    // (an HTTP Host, an SNI) would shift every later column, so those become '_'.
    for (char ch : s) {
      const auto u = static_cast<unsigned char>(ch);
      out_ += (u <= 0x20 || u == 0x7f) ? '_' : ch;
    }
  } else if (f_ == Format::csv) {
    csv_string(s);
  } else {
    json_string(s);
  }
}

void RowWriter::csv_string(std::string_view s) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out_ += s;
    return;
  }
  out_ += '"';
  for (char c : s) {
    if (c == '"') out_ += '"';
    out_ += c;
  }
  out_ += '"';
}

void append_json_string(std::string& out_, std::string_view s) {
  out_ += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out_ += "\\\"";
        break;
      case '\\':
        out_ += "\\\\";
        break;
      case '\n':
        out_ += "\\n";
        break;
      case '\r':
        out_ += "\\r";
        break;
      case '\t':
        out_ += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char hex[] = "0123456789abcdef";
          out_ += "\\u00";
          out_ += hex[c >> 4];
          out_ += hex[c & 15];
        } else {
          out_ += static_cast<char>(c);
        }
    }
  }
  out_ += '"';
}

void RowWriter::json_string(std::string_view s) { append_json_string(out_, s); }

void RowWriter::absent(std::string_view tstat_text) {
  sep();
  if (f_ == Format::tstat)
    out_ += tstat_text;
  else if (f_ == Format::json)
    out_ += "null";
  // CSV: empty field
}

// ---- time and RTT, as Tstat computes them -----------------------------------

// Tstat keeps times as struct timeval and prints time2double(t)/1000, where
// time2double is an exact µs count as a double: divide the exact µs count.
double abs_ms(std::uint64_t ns) {
  double us = static_cast<double>(ns / 1000);
  if (ns % 1000) us += static_cast<double>(ns % 1000) / 1000.0;
  return us / 1000.0;
}

// elapsed() in µs (exact for whole µs), 0 when the end precedes the start
// (events that never happened have time 0).
static double elapsed_us(std::uint64_t from_ns, std::uint64_t to_ns) {
  if (to_ns < from_ns) return 0.0;
  return static_cast<double>(to_ns - from_ns) / 1000.0;
}
double rel_ms(std::uint64_t from_ns, std::uint64_t to_ns) { return elapsed_us(from_ns, to_ns) / 1000.0; }
double rel_s(std::uint64_t from_ns, std::uint64_t to_ns) {
  return elapsed_us(from_ns, to_ns) / 1000.0 / 1000.0;
}

double rtt_avg_ms(const TcpDirStats& d) {
  return d.rtt_sum_us / (static_cast<double>(d.rtt_cnt) + 0.0001) / 1000.0;
}

double rtt_stdev_ms(const TcpDirStats& d) {
  if (d.rtt_cnt <= 2) return 0.0;
  const double n = static_cast<double>(d.rtt_cnt);
  double term = (d.rtt_sum2_us - d.rtt_sum_us * d.rtt_sum_us / n) / (n - 1);
  if (!(term > 0)) return 0.0;  // rounding can make a zero variance slightly negative
  return std::sqrt(term) / 1000.0;
}

// ---- rows -------------------------------------------------------------------

void format_tcp(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r, unsigned mask,
                bool complete) {
  w.begin(names, "tcp", complete, r.labels.app);
  const FlowKey& k = r.key;
  for (int d = 0; d < 2; ++d) {
    const TcpDirStats& t = r.tcp[d];
    w.ip(d == 0 ? k.client : k.server, k.ip_version);
    w.u(d == 0 ? k.client_port : k.server_port);
    w.u(t.pkts_all);
    w.u(t.rst_cnt);
    w.u(t.ack_cnt);
    w.u(t.ack_cnt_p);
    w.u(t.bytes_uniq);
    w.u(t.pkts_data);
    w.u(t.bytes_all);
    w.u(t.pkts_retx);
    w.u(t.bytes_retx);
    w.u(t.pkts_ooo);
    w.u(t.syn_cnt);
    w.u(t.fin_cnt);
  }
  const TcpDirStats &c = r.tcp[0], &s = r.tcp[1];
  w.ms(abs_ms(r.first_ns));
  w.ms(abs_ms(r.last_ns));
  w.ms(rel_ms(r.first_ns, r.last_ns));
  w.ms(rel_ms(r.first_ns, c.first_payload_ns));
  w.ms(rel_ms(r.first_ns, s.first_payload_ns));
  w.ms(rel_ms(r.first_ns, c.last_payload_ns));
  w.ms(rel_ms(r.first_ns, s.last_payload_ns));
  w.ms(rel_ms(r.first_ns, c.first_ack_ns));
  w.ms(rel_ms(r.first_ns, s.first_ack_ns));
  w.u(r.internal[0]);
  w.u(r.internal[1]);
  w.u(r.crypto[0]);
  w.u(r.crypto[1]);
  const FlowLabels& l = r.labels;
  w.u(l.con_type);
  // labels.p2p_type is Tstat's ptp->p2p_type: ipp2p code*100 + subtype.
  w.u(l.p2p_type / 100);
  // labels.http_type is Tstat's http_data (enum http_content), logged +1 for HTTP flows.
  w.u((l.con_type & 1u) ? l.http_type + 1u : 0u);
  if (!complete) {
    w.end();
    return;
  }
  if (mask & kEndToEnd) {
    for (const TcpDirStats* t : {&c, &s}) {
      w.ms(rtt_avg_ms(*t));
      w.ms(t->rtt_min_us / 1000.0);
      w.ms(t->rtt_max_us / 1000.0);
      w.ms(rtt_stdev_ms(*t));
      w.u(t->rtt_cnt);
      w.u(t->ttl_min);
      w.u(t->ttl_max);
    }
  }
  if (mask & kP2P) {
    w.u(l.p2p_type % 100);
    // ed2k_data, ed2k_sig, ed2k_c2s, ed2k_c2c, ed2k_chat: eDonkey message
    // counters of the PDPI classifier; FlowRecord has no field for them yet.
    for (int i = 0; i < 5; ++i) w.u(0);
  }
  if (mask & kOptions) {
    for (const TcpDirStats* t : {&c, &s}) {
      w.u(t->ws_requested);
      w.u(t->ts_requested);
      w.u(t->win_scale);
      w.u(t->sack_requested);
      w.u(t->sack_cnt);
      w.u(t->mss);
      w.u(t->seg_max);
      w.u(t->seg_min);
      w.u(t->win_max);
      w.u(t->win_min);
      w.u(t->win_zero);
      w.u(t->cwin_max);
      w.u(t->cwin_min);
      w.u(t->cwin_ini);
      w.u(t->pkts_rto);
      w.u(t->pkts_fr);
      w.u(t->pkts_reor);
      w.u(t->pkts_dup);
      w.u(t->pkts_unk);
      w.u(t->pkts_fc);
      w.u(t->pkts_unrto);
      w.u(t->pkts_unfr);
      w.u(t->syn_retx);
    }
  }
  if (mask & kLayer7) {
    // From the FSMDPI machines (FlowRecord::l7); absent values print as Tstat does.
    const L7Facts& l7 = r.l7;
    auto text = [&](const std::string& v) { v.empty() ? w.absent("-") : w.str(v); };
    auto rel = [&](std::uint64_t ns) { w.ms(ns ? rel_ms(r.first_ns, ns) : 0.0); };
    w.u(l7.http_req_cnt);
    w.u(l7.http_res_cnt);
    if (l7.http_status)
      w.u(l7.http_status);
    else
      w.absent("---");
    w.u(c.pkts_push);  // c_pkts_push (PSH-delimited messages)
    w.u(s.pkts_push);
    text(l7.tls_sni);
    text(l7.tls_cn);
    w.u(l7.npnalpn[0]);
    w.u(l7.npnalpn[1]);
    w.u(l7.tls_session_stat);
    rel(l7.tls_last_handshake_ns[0]);
    rel(l7.tls_last_handshake_ns[1]);
    rel(l7.tls_appdata_ns[0]);
    rel(l7.tls_appdata_ns[1]);
    w.u(l7.tls_appdata_offset[0]);
    w.u(l7.tls_appdata_offset[1]);
    w.absent("-");      // fqdn           <- DN-Hunter
    w.absent("-");      // dns_rslv       <- DN-Hunter resolver
    w.num_text("0.0");  // req_tm         <- DN-Hunter request time (abs ms)
    w.num_text("0.0");  // res_tm         <- DN-Hunter response time (abs ms)
    text(l7.http_host);
    text(l7.tls_version[0]);
    text(l7.tls_version[1]);
    w.u(0);  // dns_enc        <- DNS over HTTPS/TLS
  }
  w.end();
}

void format_udp(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r) {
  w.begin(names, "udp", true, r.labels.app);
  const FlowKey& k = r.key;
  for (int d = 0; d < 2; ++d) {
    const UdpDirStats& u = r.udp[d];
    w.ip(d == 0 ? k.client : k.server, k.ip_version);
    w.u(d == 0 ? k.client_port : k.server_port);
    w.ms(abs_ms(u.first_ns));
    w.ms(rel_s(u.first_ns, u.last_ns));  // c_durat is in seconds
    w.u(u.bytes_all);
    w.u(u.pkts_all);
    w.u(r.internal[d]);
    w.u(r.crypto[d]);
    w.u(r.labels.udp_type[d]);
  }
  w.absent("-");  // fqdn          <- DN-Hunter
  w.absent("-");  // quic_SNI      <- QUIC Initial SNI
  w.absent("-");  // quic_UA       <- QUIC user agent
  w.absent("-");  // quic_c_vers   <- "0x%08x" once both sides are confirmed QUIC
  w.absent("-");  // quic_s_vers
  w.u(0);         // quic_zero_rtt <- 0-RTT packets
  w.u(0);         // quic_ech
  w.end();
}

}  // namespace netloom::logs

namespace netloom::logs {

void format_skype(RowWriter& w, const std::vector<std::string_view>& names, const FlowRecord& r) {
  const SkypeFacts& sk = *r.skype;
  const bool tstat = w.format() == Format::tstat;
  // Tstat's two line layouts are subsets of the union: the TCP line has no
  // per-packet types and only the two TCP chi-square figures; the UDP line
  // lacks chi_hdr_max.
  static const Names kTstatUdp = [] {
    Names n;
    for (char side : {'c', 's'})
      for (std::string_view c : prefixed(kSkypeDir, side))
        if (c.substr(2) != "chi_hdr_max") n.push_back(c);
    n.insert(n.end(), std::begin(kSkypeTail), std::end(kSkypeTail));
    return n;
  }();
  static const Names kTstatTcp = [] {
    constexpr std::string_view skip[] = {"e2e_pkts",        "out_pkts",        "sig_pkts",        "unk_pkts",
                                         "chi_e2o_hdr_min", "chi_e2e_hdr_max", "chi_e2e_hdr_min", "udp_type"};
    Names n;
    for (char side : {'c', 's'})
      for (std::string_view c : prefixed(kSkypeDir, side))
        if (std::find(std::begin(skip), std::end(skip), c.substr(2)) == std::end(skip)) n.push_back(c);
    n.insert(n.end(), std::begin(kSkypeTail), std::end(kSkypeTail));
    return n;
  }();
  const Names& cols = tstat ? (sk.tcp ? kTstatTcp : kTstatUdp) : names;
  w.begin(cols, sk.tcp ? "tcp" : "udp", true, r.labels.app);
  // Writes a column if this row's layout has it; JSON/CSV rows of the other
  // variant print it as absent.
  auto has = [&](std::string_view name) {
    return !tstat || std::find(cols.begin(), cols.end(), name) != cols.end();
  };
  const FlowKey& k = r.key;
  for (int d = 0; d < 2; ++d) {
    const SkypeDirFacts& f = sk.dir[d];
    const Names& pn = prefixed(kSkypeDir, d == 0 ? 'c' : 's');
    std::size_t i = 0;
    auto col = [&](auto&& write, bool applies) {
      const std::string_view name = pn[i++];
      if (!has(name)) return;
      if (applies)
        write();
      else
        w.absent("-");
    };
    const bool udp = !sk.tcp;
    col([&] { w.ip(d == 0 ? k.client : k.server, k.ip_version); }, true);
    col([&] { w.u(d == 0 ? k.client_port : k.server_port); }, true);
    col([&] { w.u(r.internal[d]); }, true);
    col([&] { w.u(r.crypto[d]); }, true);
    col([&] { w.u(f.bytes); }, true);
    col([&] { w.u(f.pkts); }, true);
    col([&] { w.u(f.e2e); }, udp);
    col([&] { w.u(f.out); }, udp);
    col([&] { w.u(f.sig); }, udp);
    col([&] { w.u(f.unknown); }, udp);
    col([&] { w.u(f.audio); }, true);
    col([&] { w.u(f.video); }, true);
    col([&] { w.ms(f.avg_pkt_size); }, true);
    col([&] { w.ms(f.pktsize_belief); }, true);
    col([&] { w.ms(f.avg_ipg_ms); }, true);
    col([&] { w.ms(f.avgipg_belief); }, true);
    col([&] { w.ms(f.chi_min_e2o_hdr); }, udp);
    col([&] { w.ms(f.chi_max_e2e_hdr); }, udp);
    col([&] { w.ms(f.chi_min_e2e_hdr); }, udp);
    col([&] { w.ms(f.chi_max_hdr); }, !udp);
    col([&] { w.ms(f.chi_max_payload); }, true);
    col([&] { w.u(f.udp_type); }, udp);
    col([&] { w.num_text(std::to_string(f.bayes_flag)); }, true);
    col([&] { w.u(static_cast<unsigned>(f.chi_class)); }, true);
    col([&] { w.u(f.video_present); }, true);
  }
  w.ms(static_cast<double>(r.first_ns) / 1e9);  // start, s since the epoch
  w.ms(rel_s(r.first_ns, r.last_ns));           // duration, s
  if (tstat)
    w.str(sk.tcp ? "T" : "U");
  else
    w.str(sk.tcp ? "tcp" : "udp");
  w.end();
}

}  // namespace netloom::logs
