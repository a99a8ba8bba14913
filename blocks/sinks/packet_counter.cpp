// PacketCounter: packets and bytes per link type, L3 and L4 protocol, plus
// decode anomalies. The cheapest useful sink, and the pipeline benchmark's
// measure of the runtime's own overhead.
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <netloom/netloom.hpp>
#include <sstream>

namespace netloom::blocks {
namespace {

struct Tally {
  std::uint64_t packets = 0, bytes = 0;
  void add(std::uint64_t b) {
    ++packets;
    bytes += b;
  }
};

class PacketCounter final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "PacketCounter";
    i.summary = "counts packets and bytes per link type, L3 and L4 protocol, and decode anomalies";
    i.description =
        "Writes the totals to `output` at the end of the run (JSON or text). Bytes are captured "
        "bytes; `wire_bytes` counts the original lengths. Packets pass through unchanged on `out`.";
    i.inputs = {in<PacketBatch>("in", "packets to count")};
    i.outputs = {out<PacketBatch>("out", "the same packets, unchanged")};
    i.params = {param<std::string>("output", "", "file the totals are written to at the end (empty: none)"),
                param<std::string>("format", "json", "file format").one_of({"json", "text"})};
    i.counters = {{"packets", "packets seen"},
                  {"bytes", "captured bytes"},
                  {"wire_bytes", "bytes on the wire (original lengths)"},
                  {"ipv4", "IPv4 packets (inner header for tunnels)"},
                  {"ipv6", "IPv6 packets"},
                  {"not_ip", "frames that carry no IP packet"},
                  {"tcp", "TCP packets"},
                  {"udp", "UDP packets"},
                  {"icmp", "ICMP and ICMPv6 packets"},
                  {"other_l4", "IP packets of another protocol, or fragments without an L4 header"},
                  {"malformed", "packets whose headers lie about their lengths"},
                  {"truncated", "packets cut by the snap length"},
                  {"fragments", "IP fragments other than the first"},
                  {"tunneled", "packets decapsulated from a tunnel"}};
    i.threading = Threading::serial;
    return i;
  }

  void configure(const Params& p, Context& ctx) override {
    output_ = p.get_string("output");
    json_ = p.get_string("format") == "json";
    c_.packets = &ctx.counter("packets");
    c_.bytes = &ctx.counter("bytes");
    c_.wire = &ctx.counter("wire_bytes");
    c_.v4 = &ctx.counter("ipv4");
    c_.v6 = &ctx.counter("ipv6");
    c_.not_ip = &ctx.counter("not_ip");
    c_.tcp = &ctx.counter("tcp");
    c_.udp = &ctx.counter("udp");
    c_.icmp = &ctx.counter("icmp");
    c_.other = &ctx.counter("other_l4");
    c_.malformed = &ctx.counter("malformed");
    c_.truncated = &ctx.counter("truncated");
    c_.frag = &ctx.counter("fragments");
    c_.tunneled = &ctx.counter("tunneled");
    if (!output_.empty()) {
      // Fail before the run, not after an hour of it.
      std::ofstream probe(output_, std::ios::app);
      if (!probe) throw ConfigError("parameter 'output': cannot write '" + output_ + "'");
    }
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    const auto& b = msg->as<PacketBatch>();
    std::uint64_t bytes = 0, wire = 0, v4 = 0, v6 = 0, tcp = 0, udp = 0, icmp = 0, malformed = 0, trunc = 0,
                  frag = 0, tun = 0;
    for (const Packet& p : b.packets) {
      bytes += p.caplen;
      wire += p.wirelen;
      if (p.linktype != last_linktype_ || last_tally_ == nullptr) {
        last_linktype_ = p.linktype;
        last_tally_ = &linktypes_[p.linktype];  // std::map: the pointer stays valid
      }
      last_tally_->add(p.caplen);
      v4 += p.ip_version == 4;
      v6 += p.ip_version == 6;
      tcp += p.l4_proto == 6 && !(p.flags & kFragment);
      udp += p.l4_proto == 17 && !(p.flags & kFragment);
      icmp += (p.l4_proto == 1 || p.l4_proto == 58) && !(p.flags & kFragment);
      malformed += (p.flags & kMalformed) != 0;
      trunc += (p.flags & kTruncated) != 0;
      frag += (p.flags & kFragment) != 0;
      tun += (p.flags & kTunneled) != 0;
    }
    const std::uint64_t n = b.packets.size();
    c_.packets->add(n);
    c_.bytes->add(bytes);
    c_.wire->add(wire);
    c_.v4->add(v4);
    c_.v6->add(v6);
    c_.not_ip->add(n - v4 - v6);
    c_.tcp->add(tcp);
    c_.udp->add(udp);
    c_.icmp->add(icmp);
    c_.other->add(v4 + v6 - tcp - udp - icmp);
    c_.malformed->add(malformed);
    c_.truncated->add(trunc);
    c_.frag->add(frag);
    c_.tunneled->add(tun);
    if (!b.packets.empty()) {
      if (first_ns_ == 0) first_ns_ = b.packets.front().ts_ns;
      last_ns_ = b.packets.back().ts_ns;
    }
    emit(0, msg);
  }

  void flush(Emit&) override {
    if (output_.empty()) return;
    std::ofstream f(output_, std::ios::trunc);
    f << (json_ ? to_json() : to_text());
    if (!f) throw InputError("cannot write '" + output_ + "'");
  }

  std::string summary() const override {
    return output_.empty() ? std::string() : "totals written to " + output_;
  }

 private:
  std::vector<std::pair<std::string, std::uint64_t>> totals() const {
    return {{"packets", c_.packets->value()},
            {"bytes", c_.bytes->value()},
            {"wire_bytes", c_.wire->value()},
            {"ipv4", c_.v4->value()},
            {"ipv6", c_.v6->value()},
            {"not_ip", c_.not_ip->value()},
            {"tcp", c_.tcp->value()},
            {"udp", c_.udp->value()},
            {"icmp", c_.icmp->value()},
            {"other_l4", c_.other->value()},
            {"malformed", c_.malformed->value()},
            {"truncated", c_.truncated->value()},
            {"fragments", c_.frag->value()},
            {"tunneled", c_.tunneled->value()},
            {"first_ts_ns", first_ns_},
            {"last_ts_ns", last_ns_}};
  }
  std::string to_json() const {
    std::ostringstream os;
    os << "{";
    for (const auto& [k, v] : totals()) os << "\"" << k << "\": " << v << ", ";
    os << "\"linktypes\": {";
    bool first = true;
    for (const auto& [lt, t] : linktypes_) {
      os << (first ? "" : ", ") << "\"" << lt << "\": {\"packets\": " << t.packets
         << ", \"bytes\": " << t.bytes << "}";
      first = false;
    }
    os << "}}\n";
    return os.str();
  }
  std::string to_text() const {
    std::ostringstream os;
    for (const auto& [k, v] : totals()) os << k << " " << v << "\n";
    for (const auto& [lt, t] : linktypes_)
      os << "linktype." << lt << " " << t.packets << " " << t.bytes << "\n";
    return os.str();
  }

  struct {
    Counter *packets, *bytes, *wire, *v4, *v6, *not_ip, *tcp, *udp, *icmp, *other, *malformed, *truncated,
        *frag, *tunneled;
  } c_{};
  std::map<std::uint16_t, Tally> linktypes_;
  std::uint16_t last_linktype_ = 0;
  Tally* last_tally_ = nullptr;
  std::string output_;
  bool json_ = true;
  std::uint64_t first_ns_ = 0, last_ns_ = 0;
};

}  // namespace
}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::PacketCounter)
