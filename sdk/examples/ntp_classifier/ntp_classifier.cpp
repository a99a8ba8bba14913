// NtpClassifier: a third-party netloom block, built out of tree against the
// installed SDK (docs/sdk.md, "Tutorial"). It labels NTP flows, which
// netloom's stock classifiers do not name: a UDP datagram to or from the NTP
// port whose first byte carries an NTP version (1-4) and a mode, with the
// length and stratum that mode requires (RFC 5905 for modes 1-5, RFC 1305
// appendix B for control messages, ntpd's mode 7). No payload signature: the
// header's own consistency is the evidence.
#include <netloom/netloom.hpp>

namespace {

using namespace netloom;

// Whether `len` bytes at `b` look like an NTP message.
bool ntp_header(const std::uint8_t* b, std::uint32_t len) {
  if (len < 8) return false;
  const unsigned version = (b[0] >> 3) & 7u, mode = b[0] & 7u;
  if (version < 1 || version > 4) return false;
  switch (mode) {
    case 1:  // symmetric active
    case 2:  // symmetric passive
    case 3:  // client
    case 4:  // server
    case 5:  // broadcast
      // 48-byte header (extension fields and MACs only add to it); stratum
      // 0 (kiss-o'-death / unspecified) to 16 (unsynchronised).
      return len >= 48 && b[1] <= 16;
    case 6: {  // control: 12-byte header, then `count` bytes of data
      if (len < 12) return false;
      const std::uint32_t count = (std::uint32_t{b[10]} << 8) | b[11];
      return 12 + count <= len;
    }
    case 7:  // private (ntpdc): 8-byte header at least
      return true;
    default:  // mode 0 is reserved
      return false;
  }
}

// What the block remembers about a flow on the NTP port, in its FlowContext slot.
struct NtpState final : FlowState {
  std::uint32_t packets = 0;  // packets of the flow seen so far
  bool checked = false;       // a payload packet was checked (flows_checked)
  bool decided = false;       // called NTP, or given up after max_packets
};

class NtpClassifier final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "NtpClassifier";
    i.summary = "labels NTP flows (UDP port 123, NTP header checks); an out-of-tree example plugin";
    i.description =
        "Checks the first `max_packets` packets of every UDP flow whose client or server port is `port`: "
        "the first one whose payload has an NTP version (1-4), a mode (1-7) and the length and stratum "
        "that mode requires labels the flow: FlowRecord::labels.app = \"NTP\" (unless another classifier "
        "named it first) and one event on `events`. Tstat has no numeric code for NTP, so con_type and "
        "udp_type are left alone. Built out of tree from sdk/examples/ntp_classifier (docs/sdk.md).";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow set (FlowTracker.out)")};
    i.outputs = {out<PacketBatch>("out", "the same packets and flow events, flows labelled"),
                 out<ClassificationBatch>("events", "one event per flow called NTP")};
    i.params = {param<int>("port", 123, "UDP port of NTP servers (either end of the flow)").range(1, 65535),
                param<int>("max_packets", 4, "packets of a flow checked before giving up").range(1, 1000)};
    i.counters = {{"flows_checked", "UDP flows on `port` with at least one payload packet checked"},
                  {"flows_classified", "flows called NTP (one event each)"},
                  {"packets_checked", "payload packets whose header was checked"},
                  {"events_emitted", "classification events sent on `events`"}};
    i.threading = Threading::replicable;  // all state is per flow
    return i;
  }

  void configure(const Params& params, Context& ctx) override {
    port_ = static_cast<std::uint16_t>(params.get_int("port"));
    max_packets_ = static_cast<std::uint32_t>(params.get_int("max_packets"));
    slot_ = ctx.flow_slot();
    flows_checked_ = &ctx.counter("flows_checked");
    flows_classified_ = &ctx.counter("flows_classified");
    packets_checked_ = &ctx.counter("packets_checked");
    events_emitted_ = &ctx.counter("events_emitted");
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    const auto& batch = msg->as<PacketBatch>();
    std::shared_ptr<ClassificationBatch> events;  // created on the first decision
    for_each_in_stream_order(
        batch, [&](const Packet& p) { check(p, events); },
        [&](const FlowEvent& e) {
          // Nothing more will come for a closed flow: free its state now.
          if (e.kind == FlowEvent::Kind::closed && e.flow) e.flow->state[slot_].reset();
        });
    emit(0, msg);  // forwarded unchanged: the labels live in the flow contexts
    if (events) {
      events->clock_ns = batch.clock_ns;
      events_emitted_->add(events->events.size());
      emit(1, events);
    }
  }

  std::string summary() const override {
    return std::to_string(flows_classified_->value()) + " of " + std::to_string(flows_checked_->value()) +
           " checked flows called NTP";
  }

 private:
  void check(const Packet& p, std::shared_ptr<ClassificationBatch>& events) {
    FlowContext* f = p.flow;
    if (!f || p.l4_proto != 17) return;
    const FlowKey& k = f->record.key;
    if (k.client_port != port_ && k.server_port != port_) return;  // no state for other flows
    auto& slot = f->state[slot_];
    if (!slot) slot = std::make_unique<NtpState>();
    auto& st = static_cast<NtpState&>(*slot);
    if (st.decided) return;
    ++st.packets;
    if (p.payload_off != kNoOffset && p.payload_len > 0) {
      if (!st.checked) flows_checked_->add();
      st.checked = true;
      packets_checked_->add();
      if (ntp_header(p.payload(), p.payload_len)) {
        st.decided = true;
        flows_classified_->add();
        if (f->record.labels.app.empty()) f->record.labels.app = "NTP";
        if (!events) events = std::make_shared<ClassificationBatch>();
        events->events.push_back(make_event(*f, p.ts_ns, st.packets, p.flow_dir, "NtpClassifier", "NTP"));
        return;
      }
    }
    if (st.packets >= max_packets_) st.decided = true;  // give up on this flow
  }

  std::uint16_t port_ = 123;
  std::uint32_t max_packets_ = 4;
  unsigned slot_ = 0;
  Counter *flows_checked_ = nullptr, *flows_classified_ = nullptr, *packets_checked_ = nullptr,
          *events_emitted_ = nullptr;
};

}  // namespace

NETLOOM_PLUGIN(NtpClassifier)
