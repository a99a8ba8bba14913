#include "kafka_json.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstdint>

#include "log_format.hpp"

namespace netloom::kafka {
namespace {

void ip_text(std::string& out, const IpAddr& a, int version) {
  char b[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(version == 6 ? AF_INET6 : AF_INET, a.data(), b, sizeof b) == nullptr) b[0] = '\0';
  out += b;
}

void proto_text(std::string& out, std::uint8_t l4) {
  if (l4 == 6)
    out += "tcp";
  else if (l4 == 17)
    out += "udp";
  else
    out += std::to_string(l4);
}

// A JSON object written member by member.
class Obj {
 public:
  explicit Obj(std::string& out) : out_(out) { out_ += '{'; }
  void close() { out_ += '}'; }

  void u(std::string_view k, std::uint64_t v) {
    key(k);
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    out_.append(b, r.ptr);
  }
  void i(std::string_view k, std::int64_t v) {
    key(k);
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    out_.append(b, r.ptr);
  }
  // Absolute packet time in ms since the epoch, 6 decimals: the flow logs' `first`.
  void ms(std::string_view k, std::uint64_t ns) {
    key(k);
    char b[64];
    auto r = std::to_chars(b, b + sizeof b, logs::abs_ms(ns), std::chars_format::fixed, 6);
    out_.append(b, r.ptr);
  }
  // Shortest text that reads back as the same double; null if not finite.
  void real(std::string_view k, double v) {
    key(k);
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    char b[64];
    auto r = std::to_chars(b, b + sizeof b, v);
    out_.append(b, r.ptr);
  }
  void boolean(std::string_view k, bool v) {
    key(k);
    out_ += v ? "true" : "false";
  }
  void null(std::string_view k) {
    key(k);
    out_ += "null";
  }
  void str(std::string_view k, std::string_view v) {
    key(k);
    string(v);
  }
  void str_or_null(std::string_view k, std::string_view v) {
    if (v.empty())
      null(k);
    else
      str(k, v);
  }
  void ip(std::string_view k, const IpAddr& a, int version) {
    key(k);
    out_ += '"';
    ip_text(out_, a, version);
    out_ += '"';
  }
  void proto(std::string_view k, std::uint8_t l4) {
    key(k);
    out_ += '"';
    proto_text(out_, l4);
    out_ += '"';
  }
  // "k":[ ... ] of unsigned values
  template <class It>
  void array(std::string_view k, It first, It last) {
    key(k);
    out_ += '[';
    for (It it = first; it != last; ++it) {
      if (it != first) out_ += ',';
      char b[24];
      auto r = std::to_chars(b, b + sizeof b, *it);
      out_.append(b, r.ptr);
    }
    out_ += ']';
  }

 private:
  void key(std::string_view k) {
    if (!first_) out_ += ',';
    first_ = false;
    string(k);
    out_ += ':';
  }
  void string(std::string_view s) { logs::append_json_string(out_, s); }

  std::string& out_;
  bool first_ = true;
};

}  // namespace

void append_tuple(std::string& out, const FlowKey& k) {
  proto_text(out, k.l4_proto);
  const bool v6 = k.ip_version == 6;
  for (int d = 0; d < 2; ++d) {
    out += v6 ? " [" : " ";
    ip_text(out, d == 0 ? k.client : k.server, k.ip_version);
    out += v6 ? "]:" : ":";
    out += std::to_string(d == 0 ? k.client_port : k.server_port);
  }
}

std::string_view end_name(FlowEnd e) {
  switch (e) {
    case FlowEnd::open:
      return "open";
    case FlowEnd::fin:
      return "fin";
    case FlowEnd::rst:
      return "rst";
    case FlowEnd::idle:
      return "idle";
    case FlowEnd::singleton:
      return "singleton";
    case FlowEnd::end_of_input:
      return "end_of_input";
    case FlowEnd::evicted:
      return "evicted";
    case FlowEnd::half_duplex:
      return "half_duplex";
    case FlowEnd::interim:
      return "interim";
  }
  return "unknown";
}

void event_json(std::string& out, const ClassificationEvent& e) {
  Obj o(out);
  o.ms("ts", e.ts_ns);
  o.u("flow_id", e.flow_id);
  o.proto("proto", e.key.l4_proto);
  o.ip("c_ip", e.key.client, e.key.ip_version);
  o.u("c_port", e.key.client_port);
  o.ip("s_ip", e.key.server, e.key.ip_version);
  o.u("s_port", e.key.server_port);
  o.u("packets", e.packets);
  o.str("dir", e.dir == 0 ? "c2s" : e.dir == 1 ? "s2c" : "flow");
  o.str("classifier", e.classifier);
  o.str("label", e.label);
  // The flow's labels after the decision, as the flow logs print them.
  const FlowLabels& l = e.labels;
  o.str_or_null("app", l.app);
  o.u("con_t", l.con_type);
  o.u("p2p_t", l.p2p_type / 100u);
  o.u("p2p_st", l.p2p_type % 100u);
  o.u("http_t", (l.con_type & 1u) ? l.http_type + 1u : 0u);
  o.u("c_type", l.udp_type[0]);
  o.u("s_type", l.udp_type[1]);
  o.close();
}

void histogram_json(std::string& out, const HistogramWindow& w, const HistogramData& h) {
  Obj o(out);
  o.ms("start", w.start_ns);
  o.ms("end", w.end_ns);
  o.u("step", w.step);
  o.boolean("last", w.last);
  o.str("name", h.name);
  o.str("description", h.description);
  o.i("min", h.min);
  o.i("max", h.max);
  o.i("bin", h.bin);
  o.boolean("pseudo", h.pseudo);
  // Tstat's storage: [0] below min, [1..n] in range, [n+1] at or above max,
  // [n+2] in-range samples. Anything shorter is sent as it is.
  const auto& b = h.bins;
  if (b.size() >= 3) {
    o.u("underflow", b[0]);
    o.u("overflow", b[b.size() - 2]);
    o.u("in_range", b[b.size() - 1]);
    o.array("bins", b.begin() + 1, b.end() - 2);
  } else {
    o.null("underflow");
    o.null("overflow");
    o.null("in_range");
    o.array("bins", b.begin(), b.end());
  }
  if (h.pseudo) {  // a bitrate pseudo-histogram: no meaningful statistics
    for (const char* k : {"count", "mean", "stdev", "value_min", "value_max"}) o.null(k);
  } else {
    o.u("count", h.count);
    if (h.count == 0) {
      for (const char* k : {"mean", "stdev", "value_min", "value_max"}) o.null(k);
    } else {
      o.real("mean", h.mean);
      if (h.count < 2)
        o.null("stdev");
      else
        o.real("stdev", std::sqrt(h.m2 / static_cast<double>(h.count - 1)));
      o.real("value_min", h.vmin);
      o.real("value_max", h.vmax);
    }
  }
  o.close();
}

}  // namespace netloom::kafka
