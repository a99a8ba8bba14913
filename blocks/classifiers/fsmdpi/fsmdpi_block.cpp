// FSMDPI: Tstat's multi-packet layer-7 state machines (spec §6) and the
// RTP/RTCP search over UDP (§5.2). Sits after FlowTracker and PDPI; keeps
// per-flow state in a FlowContext slot, labels flows in Tstat's codes, fills
// FlowRecord::l7, and reports every decision on `events`. See docs/fsmdpi.md.
#include <memory>
#include <string>

#include "harness.hpp"
#include "netloom/netloom.hpp"
#include "netloom/recycled.hpp"
#include "rtp.hpp"

namespace netloom::fsmdpi {
namespace {

struct TcpState final : FlowState, Recycled<TcpState> {
  TcpFlow flow;
};
struct UdpState final : FlowState, Recycled<UdpState> {
  UdpFlow flow;
};

std::uint32_t rd32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

class Fsmdpi final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "FSMDPI";
    i.summary = "classifies flows with Tstat's multi-packet layer-7 state machines and the RTP/RTCP search";
    i.description =
        "Follows the first packets of every TCP flow through small protocol state machines (HTTP, RTSP, "
        "SMTP, POP3, IMAP, TLS, SSH, RTMP, MSN, YMSG, XMPP): the first payload bytes of a direction choose "
        "the machine, which decides on that segment or later ones (a well-formed ClientHello, a complete "
        "request line, a greeting answered by a client command, ...). A decision adds the protocol's con_t "
        "bit (clearing the "
        "OBF/MSE guesses, keeping any P2P label), sets http_t for HTTP and labels.app when empty, and is "
        "sent as one event on `events`. The machines also read the flow's layer-7 facts (FlowRecord::l7: "
        "HTTP Host/status/request and response counts, TLS SNI/certificate CN/ALPN/versions/"
        "handshake timing, greeting banners). Nothing is inspected past `max_packets` packets of a flow "
        "(HTTP flows keep a 4-byte request/response count). UDP directions with both ports above 1024 that "
        "no other classifier typed (DTLS excepted) are searched for RTP/RTCP within `max_udp_packets` "
        "packets: FIRST_RTP/FIRST_RTCP on a candidate, RTP/RTCP once a sender's SSRC repeats in sequence; "
        "a direction never confirmed gets its previous type back at close. Details: docs/fsmdpi.md.";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow set (after FlowTracker and PDPI)")};
    i.outputs = {out<PacketBatch>("out", "the same packets and flow events"),
                 out<ClassificationBatch>("events", "one event per decision (flow, label, packets seen)")};
    i.params = {
        param<std::int64_t>("max_packets", 50, "TCP: packets of a flow inspected at most (Tstat: 50)")
            .range(1, 1000000),
        param<std::int64_t>(
            "max_udp_packets", 40,
            "UDP: packets of a direction searched for RTP/RTCP (Tstat: MAX_UNKNOWN_PACKETS 40)")
            .range(1, 1000000),
        param<std::string>("machines", "all", "machines to run: all, or a comma list of " + machine_names()),
    };
    i.counters = {{"flows_inspected", "flows with at least one packet inspected"},
                  {"flows_classified", "flows given a label (TCP decision, or a UDP direction confirmed)"},
                  {"tls_buffer_overflows", "TLS handshake messages larger than the 16 KiB buffer (not read)"},
                  {"events_emitted", "classification events sent on `events`"}};
    i.threading = Threading::replicable;
    return i;
  }

  void configure(const Params& params, Context& ctx) override {
    const std::int64_t tcp = params.get_int("max_packets"), udp = params.get_int("max_udp_packets");
    if (tcp < 1 || tcp > 1000000) throw ConfigError("parameter 'max_packets' must be within 1..1000000");
    if (udp < 1 || udp > 1000000) throw ConfigError("parameter 'max_udp_packets' must be within 1..1000000");
    cfg_ = parse_machines(params.get_string("machines"));
    cfg_.max_packets = static_cast<std::uint32_t>(tcp);
    cfg_.max_udp_packets = static_cast<std::uint32_t>(udp);
    slot_ = ctx.flow_slot();
    ctx_ = &ctx;
    inspected_ = &ctx.counter("flows_inspected");
    classified_ = &ctx.counter("flows_classified");
    overflows_ = &ctx.counter("tls_buffer_overflows");
    events_emitted_ = &ctx.counter("events_emitted");
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    const auto& b = msg->as<PacketBatch>();
    std::shared_ptr<ClassificationBatch> events;
    want_events_ = ctx_->output_connected(1);  // no events built for nobody
    for_each_in_stream_order(
        b, [&](const Packet& p) { inspect(p, events); },
        [&](const FlowEvent& e) {
          if (e.kind != FlowEvent::Kind::closed || !e.flow) return;
          auto& slot = e.flow->state[slot_];
          if (slot && e.flow->record.key.l4_proto == 17)
            static_cast<UdpState&>(*slot).flow.close(e.flow->record);
          slot.reset();
        });
    emit(0, msg);
    if (events) {
      events->clock_ns = b.clock_ns;
      events_emitted_->add(events->events.size());
      emit(1, events);
    }
  }

  std::string summary() const override {
    return std::to_string(classified_->value()) + " of " + std::to_string(inspected_->value()) +
           " inspected flows classified";
  }

 private:
  void inspect(const Packet& p, std::shared_ptr<ClassificationBatch>& events) {
    FlowContext* f = p.flow;
    // A finished flow's packets are skipped without reading its state (the
    // common case at line rate); its state stays for the close.
    if (!f || (f->done & done_bit())) return;
    if (p.l4_proto == 6)
      tcp(p, *f, events);
    else if (p.l4_proto == 17 && cfg_.rtp)
      udp(p, *f, events);
  }

  void tcp(const Packet& p, FlowContext& f, std::shared_ptr<ClassificationBatch>& events) {
    auto& slot = f.state[slot_];
    if (!slot) slot = std::make_unique<TcpState>();
    TcpFlow& flow = static_cast<TcpState&>(*slot).flow;
    if (flow.finished()) {
      f.done |= done_bit();
      return;
    }
    TcpPacket t;
    t.dir = p.flow_dir & 1u;
    t.flags = p.tcp_flags;
    t.ts_ns = p.ts_ns;
    t.server_port = f.record.key.server_port;
    if (p.l4_off != kNoOffset && std::uint32_t{p.l4_off} + 8 <= p.caplen) t.seq = rd32(p.data + p.l4_off + 4);
    if (p.payload_off != kNoOffset && p.payload_len) {
      t.payload = p.payload();
      t.len = p.payload_len;
    }
    const bool was_inspected = flow.inspected();
    Tally tally;
    const auto decision = flow.on_packet(cfg_, t, f.record, tally);
    if (flow.finished()) f.done |= done_bit();
    if (!was_inspected && flow.inspected()) inspected_->add();
    if (tally.tls_buffer_overflows) overflows_->add(tally.tls_buffer_overflows);
    if (!decision) return;
    classified_->add();
    report(events, f, p.ts_ns, flow.packets(), -1, app_name(*decision, t.server_port));
  }

  void udp(const Packet& p, FlowContext& f, std::shared_ptr<ClassificationBatch>& events) {
    auto& slot = f.state[slot_];
    if (!slot) slot = std::make_unique<UdpState>();
    UdpFlow& flow = static_cast<UdpState&>(*slot).flow;
    if (flow.finished()) {
      f.done |= done_bit();
      return;
    }
    UdpPacket u;
    u.dir = p.flow_dir & 1u;
    u.sport = p.sport;
    u.dport = p.dport;
    if (p.payload_off != kNoOffset) {
      u.payload = p.payload();
      u.len = p.payload_len;
    }
    const bool was_inspected = flow.inspected(), was_classified = flow.confirmed();
    const auto type = flow.on_packet(cfg_, u, f.record);
    if (flow.finished()) f.done |= done_bit();
    if (!was_inspected && flow.inspected()) inspected_->add();
    if (!type) return;
    if (!was_classified) classified_->add();
    report(events, f, p.ts_ns, flow.packets(), u.dir, *type == l7::udp::RTCP ? "RTCP" : "RTP");
  }

  void report(std::shared_ptr<ClassificationBatch>& events, const FlowContext& f, std::uint64_t ts,
              std::uint32_t packets, int dir, std::string_view label) {
    if (!want_events_) return;
    if (!events) events = std::make_shared<ClassificationBatch>();
    events->events.push_back(make_event(f, ts, packets, dir, "FSMDPI", std::string(label)));
  }

  std::uint16_t done_bit() const { return static_cast<std::uint16_t>(1u << slot_); }

  Config cfg_;
  unsigned slot_ = 0;
  Context* ctx_ = nullptr;
  bool want_events_ = true;
  Counter *inspected_ = nullptr, *classified_ = nullptr, *overflows_ = nullptr, *events_emitted_ = nullptr;
};

}  // namespace
}  // namespace netloom::fsmdpi

NETLOOM_BLOCK(netloom::fsmdpi::Fsmdpi)
