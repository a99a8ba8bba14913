// PDPI: Tstat's single-packet payload classifier. Every signature of a
// versioned dictionary (built in, or a file) is compiled into one Hyperscan
// block-mode database; the first payload packets of each flow are scanned
// and a match sets the flow's labels in Tstat's codes. See docs/pdpi.md.
#include <memory>
#include <string>

#include "netloom/netloom.hpp"
#include "netloom/recycled.hpp"
#include "pdpi_signatures.hpp"

namespace netloom::pdpi {

extern const char kBuiltinSignatures[];  // generated from signatures/tstat.sig
extern const char kBuiltinName[];

namespace {

constexpr std::uint32_t kConObf = 16384, kConMse = 131072;

struct PdpiState final : FlowState, Recycled<PdpiState> {
  std::uint32_t pkts[2] = {0, 0};    // packets of each direction seen
  bool decided[2] = {false, false};  // UDP: per direction; TCP: [0] for the flow
  bool counted_classified = false;
  bool inspected = false;  // a payload packet was scanned
};

class Pdpi final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "PDPI";
    i.summary = "classifies flows by single-packet payload signatures (Tstat's IPP2P/PDPI) with Hyperscan";
    i.description =
        "Scans the payload of the first packets of every TCP and UDP flow against a signature dictionary "
        "compiled into one Hyperscan database and, on a match, sets the flow's labels in Tstat's codes: "
        "UDP c_type/s_type (each direction on its own), TCP con_t bits and p2p_type (ipp2p "
        "code*100+subtype), "
        "and labels.app. UDP directions are scanned while unclassified and within `max_packets` packets of "
        "that direction; TCP flows until the first match or `max_tcp_packets` packets of the flow. Packets "
        "are forwarded unchanged; the optional `records` output carries the record of every flow closed in "
        "a batch, labelled, for log sinks placed after the classifiers. Dictionary format: docs/pdpi.md.";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow set (FlowTracker.out)")};
    i.outputs = {
        out<PacketBatch>("out", "the same packets and flow events"),
        out<FlowBatch>("records", "records of flows closed in each batch, with labels"),
        out<ClassificationBatch>("events", "one event per signature match (flow, label, packets seen)")};
    i.params = {
        param<std::string>(
            "signatures", "",
            "signature dictionary file; empty: the built-in dictionary (signatures/tstat.sig)"),
        param<std::int64_t>("max_packets", 40,
                            "UDP: packets of a direction scanned while it is unclassified (Tstat: 40)")
            .range(1, 1000000),
        param<std::int64_t>("max_tcp_packets", 50,
                            "TCP: packets of a flow scanned before giving up (Tstat: 50)")
            .range(1, 1000000),
        param<std::string>("cache_dir", "",
                           "directory caching the compiled signature database; empty: $NETLOOM_CACHE_DIR, "
                           "else $XDG_CACHE_HOME/netloom, else $HOME/.cache/netloom; none: no cache"),
    };
    i.counters = {{"flows_inspected", "flows with at least one payload packet scanned"},
                  {"flows_classified", "flows given a label by a signature"},
                  {"packets_scanned", "payload packets scanned"},
                  {"bytes_scanned", "payload bytes scanned"},
                  {"events_emitted", "classification events sent on `events`"}};
    i.threading = Threading::replicable;
    return i;
  }

  void configure(const Params& params, Context& ctx) override {
    const std::string& file = params.get_string("signatures");
    Dictionary dict = file.empty() ? parse(kBuiltinSignatures, kBuiltinName) : load(file);
    db_ =
        std::make_shared<const Database>(std::move(dict), resolve_cache_dir(params.get_string("cache_dir")));
    // A cache that could not be used is said once; a working one is silent.
    if (db_->cache_result() == CacheResult::unusable)
      ctx.log(LogLevel::warning, db_->cache_note() + " (signatures compiled, not cached)");
    else if (db_->cache_result() == CacheResult::replaced_invalid)
      ctx.log(LogLevel::info, db_->cache_note());
    scanner_ = std::make_unique<Scanner>(db_);
    max_udp_ = static_cast<std::uint32_t>(params.get_int("max_packets"));
    max_tcp_ = static_cast<std::uint32_t>(params.get_int("max_tcp_packets"));
    slot_ = ctx.flow_slot();
    ctx_ = &ctx;
    inspected_ = &ctx.counter("flows_inspected");
    classified_ = &ctx.counter("flows_classified");
    pkts_ = &ctx.counter("packets_scanned");
    bytes_ = &ctx.counter("bytes_scanned");
    events_emitted_ = &ctx.counter("events_emitted");
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    const auto& b = msg->as<PacketBatch>();
    std::shared_ptr<FlowBatch> records;
    std::shared_ptr<ClassificationBatch> events;
    // Outputs nobody receives are not built (a FlowRecord is ~1.2 KB).
    want_records_ = ctx_->output_connected(1);
    want_events_ = ctx_->output_connected(2);
    for_each_in_stream_order(
        b, [&](const Packet& p) { inspect(p, events); },
        [&](const FlowEvent& e) {
          // A closed flow is final here: every packet of it has been seen.
          if (e.kind != FlowEvent::Kind::closed || !e.flow) return;
          e.flow->state[slot_].reset();
          if (!want_records_) return;
          if (!records) records = std::make_shared<FlowBatch>();
          records->records.push_back(e.flow->record);
        });
    emit(0, msg);
    if (records) {
      records->clock_ns = b.clock_ns;
      emit(1, records);
    }
    if (events) {
      events->clock_ns = b.clock_ns;
      events_emitted_->add(events->events.size());
      emit(2, events);
    }
  }

  std::string summary() const override {
    return std::to_string(classified_->value()) + " of " + std::to_string(inspected_->value()) +
           " inspected flows classified";
  }

 private:
  void inspect(const Packet& p, std::shared_ptr<ClassificationBatch>& events) {
    FlowContext* f = p.flow;
    if (!f || (f->done & done_bit())) return;
    const bool udp = p.l4_proto == 17;
    if (!udp && p.l4_proto != 6) return;
    auto& slot = f->state[slot_];
    if (!slot) slot = std::make_unique<PdpiState>();
    auto& st = static_cast<PdpiState&>(*slot);
    const unsigned d = p.flow_dir & 1u;
    ++st.pkts[d];
    if (udp) {
      if (st.decided[d] || st.pkts[d] > max_udp_) return;
    } else {
      if (st.decided[0] || st.pkts[0] + st.pkts[1] > max_tcp_) return;
    }
    // Nothing of this flow will be scanned after this packet: skip the rest
    // without reading the state (which stays for the flow's close).
    if (nothing_left(st, udp)) f->done |= done_bit();
    if (p.payload_off == kNoOffset || p.payload_len == 0) return;
    if (!seen(st)) inspected_->add();
    pkts_->add();
    bytes_->add(p.payload_len);
    PacketView v{p.payload(), p.payload_len, udp, static_cast<std::uint8_t>(d), p.sport, p.dport};
    const int hit = scanner_->match(v);
    if (hit < 0) return;
    const Signature& s = db_->dictionary().sigs[static_cast<std::size_t>(hit)];
    FlowLabels& l = f->record.labels;
    if (udp) {
      st.decided[d] = true;
      if (s.udp_type && l.udp_type[d] == 0) l.udp_type[d] = s.udp_type;
    } else {
      st.decided[0] = true;
      if (s.con_type) {
        // A "strong" protocol clears the behavioural OBF/MSE guesses (Tstat, con_t).
        l.con_type = (l.con_type & ~(kConObf | kConMse)) | s.con_type;
      }
      if (s.p2p_type) l.p2p_type = s.p2p_type;
    }
    if (nothing_left(st, udp)) f->done |= done_bit();
    if (l.app.empty()) l.app = s.app;
    if (want_events_) {
      if (!events) events = std::make_shared<ClassificationBatch>();
      events->events.push_back(
          make_event(*f, p.ts_ns, st.pkts[0] + st.pkts[1], udp ? static_cast<int>(d) : -1, "PDPI", s.app));
    }
    if (!st.counted_classified) {
      st.counted_classified = true;
      classified_->add();
    }
  }
  std::uint16_t done_bit() const { return static_cast<std::uint16_t>(1u << slot_); }
  // No later packet of the flow would be scanned: every direction (UDP) or
  // the flow (TCP) is classified or past its packet budget.
  bool nothing_left(const PdpiState& st, bool udp) const {
    if (!udp) return st.decided[0] || st.pkts[0] + st.pkts[1] >= max_tcp_;
    return (st.decided[0] || st.pkts[0] >= max_udp_) && (st.decided[1] || st.pkts[1] >= max_udp_);
  }
  // Whether this flow already had a payload packet scanned (for flows_inspected).
  static bool seen(PdpiState& st) {
    bool was = st.inspected;
    st.inspected = true;
    return was;
  }

  std::shared_ptr<const Database> db_;
  std::unique_ptr<Scanner> scanner_;
  std::uint32_t max_udp_ = 40, max_tcp_ = 50;
  unsigned slot_ = 0;
  Context* ctx_ = nullptr;
  bool want_records_ = true, want_events_ = true;
  Counter *inspected_ = nullptr, *classified_ = nullptr, *pkts_ = nullptr, *bytes_ = nullptr,
          *events_emitted_ = nullptr;
};

}  // namespace
}  // namespace netloom::pdpi

NETLOOM_BLOCK(netloom::pdpi::Pdpi)
