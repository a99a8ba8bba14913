// BayesClassifier: Tstat's behavioural (naive Bayes + chi-square) Skype
// detector as a block. Reads the FlowTracker's packet stream, keeps per-flow
// state in a FlowContext slot, labels flows when they close. See docs/bayes.md.
#include <dlfcn.h>

#include <algorithm>
#include <filesystem>
#include <initializer_list>
#include <memory>

#include "bayes_skype.hpp"
#include "netloom/netloom.hpp"
#include "netloom/recycled.hpp"

using namespace netloom;
namespace sk = netloom::bayes::skype;

namespace {

constexpr std::uint8_t kTcp = 6, kUdp = 17;

struct SkypeFlow final : FlowState, Recycled<SkypeFlow> {
  SkypeFlow(const sk::Configs& c, const sk::Params& p) : dir{sk::Direction(c, p), sk::Direction(c, p)} {}
  sk::Direction dir[2];
};

// <directory of this plugin>/bayes/skype: CMake copies the shipped files there.
std::string default_config_dir() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&default_config_dir), &info) && info.dli_fname)
    return (std::filesystem::path(info.dli_fname).parent_path() / "bayes" / "skype").string();
  return "bayes/skype";
}

class BayesClassifier final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "BayesClassifier";
    i.summary =
        "Tstat's behavioural Skype classifier (naive Bayes on packet size and gaps, chi-square on headers)";
    i.description =
        "Each TCP/UDP flow direction feeds two naive Bayes classifiers configured in Tstat's format "
        "(config_dir/pktsize.conf: payload sizes; config_dir/avgipg.conf: mean inter-packet gap of "
        "30-packet windows) and a chi-square test of the randomness of the first 16 payload nibbles. "
        "When a flow closes: a UDP direction whose two features pass, whose chi-square says E2E or "
        "E2O and whose deterministic header typing says SKYPE_E2E/SKYPE_OUT is Skype; a TCP direction "
        "whose two features pass and whose 16 nibbles look random (>= tcp_min_samples segments) is "
        "Skype. Labels: udp_type[dir] (5 SKYPE_E2E, 6 SKYPE_OUT, 7 SKYPE_SIG), con_type |= 512, "
        "app = \"Skype\". Packets are forwarded unchanged on `out`; `records` carries the records of "
        "closed (and interim) flows after labelling, for log sinks. See docs/bayes.md.";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow and flow events (FlowTracker.out)")};
    i.outputs = {out<PacketBatch>("out", "the same batches, forwarded"),
                 out<FlowBatch>("records", "records of closed flows after classification, in close order"),
                 out<ClassificationBatch>("events", "one event per flow called Skype, when it closes")};
    i.params = {
        param<std::string>(
            "config_dir", "",
            "directory holding pktsize.conf and avgipg.conf (empty: bayes/skype beside the plugin "
            "file, where the build puts netloom's shipped configuration)"),
        param<double>("chi_threshold", 150.0, "chi-square value from which a nibble is 'not random'")
            .range(0, 1e9),
        param<double>("chi_func_threshold", 100.0,
                      "E2E: chi-square of the function byte's high nibble at least this")
            .range(0, 1e9),
        param<std::int64_t>("tcp_min_samples", 50, "TCP: segments of >= 8 payload bytes needed")
            .range(1, 1e9),
        param<std::int64_t>("min_dir_packets", 10, "UDP deterministic typing: packets a direction needs")
            .range(1, 1e9),
        param<bool>("log_external", false,
                    "records: also emit flows whose both ends are outside the internal networks"),
    };
    i.counters = {{"flows_seen", "TCP/UDP flows followed"},
                  {"flows_classified", "flows labelled Skype"},
                  {"skype_e2e", "UDP directions classified Skype end-to-end"},
                  {"skype_e2o", "UDP directions classified SkypeOut (end-to-origin)"},
                  {"skype_tcp", "TCP directions classified Skype"},
                  {"no_state", "packets of flows opened before this block saw them (state created late)"},
                  {"events_emitted", "classification events sent on `events`"}};
    i.threading = Threading::replicable;
    return i;
  }

  void configure(const Params& p, Context& ctx) override {
    std::string dir = p.get_string("config_dir");
    if (dir.empty()) dir = default_config_dir();
    cfg_ = std::make_unique<sk::Configs>(sk::load_configs(dir));
    prm_.chi_threshold = p.get_real("chi_threshold");
    prm_.chi_func_threshold = p.get_real("chi_func_threshold");
    prm_.tcp_min_samples = static_cast<std::uint64_t>(p.get_int("tcp_min_samples"));
    prm_.min_dir_packets = static_cast<std::uint64_t>(p.get_int("min_dir_packets"));
    log_external_ = p.get_bool("log_external");
    slot_ = ctx.flow_slot();
    ctx_ = &ctx;
    seen_ = &ctx.counter("flows_seen");
    classified_ = &ctx.counter("flows_classified");
    e2e_ = &ctx.counter("skype_e2e");
    e2o_ = &ctx.counter("skype_e2o");
    tcp_ = &ctx.counter("skype_tcp");
    late_ = &ctx.counter("no_state");
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
        b, [&](const Packet& p) { on_packet(p); }, [&](const FlowEvent& e) { on_event(e, records, events); });
    emit(0, msg);
    if (records) {
      records->clock_ns = b.clock_ns;
      emit(1, std::move(records));
    }
    if (events) {
      events->clock_ns = b.clock_ns;
      events_emitted_->add(events->events.size());
      emit(2, std::move(events));
    }
  }

  std::string summary() const override {
    return std::to_string(classified_->value()) + " of " + std::to_string(seen_->value()) +
           " flows Skype (e2e " + std::to_string(e2e_->value()) + ", e2o " + std::to_string(e2o_->value()) +
           ", tcp " + std::to_string(tcp_->value()) + ")";
  }

 private:
  SkypeFlow* state(FlowContext& f, bool create) {
    auto& s = f.state[slot_];
    if (!s && create) {
      s = std::make_unique<SkypeFlow>(*cfg_, prm_);
      seen_->add();
    }
    return static_cast<SkypeFlow*>(s.get());
  }

  void on_packet(const Packet& p) {
    if (!p.flow || (p.l4_proto != kTcp && p.l4_proto != kUdp)) return;
    if (p.flow->record.key.l4_proto != p.l4_proto) return;
    SkypeFlow* s = state(*p.flow, false);
    if (!s) {
      late_->add();
      s = state(*p.flow, true);
    }
    const std::uint32_t len = p.payload_off == kNoOffset ? 0 : p.payload_len;
    const std::uint8_t* pl = len ? p.payload() : nullptr;
    sk::Direction& d = s->dir[p.flow_dir & 1];
    if (p.l4_proto == kUdp) {
      d.add_udp(pl, len, p.ts_ns);
      d.maybe_freeze(p.flow->record.labels.udp_type[p.flow_dir & 1]);
    } else {
      d.add_tcp(pl, len, p.ts_ns);
    }
  }

  void on_event(const FlowEvent& e, std::shared_ptr<FlowBatch>& records,
                std::shared_ptr<ClassificationBatch>& events) {
    if (!e.flow) return;
    FlowContext& f = *e.flow;
    const auto proto = f.record.key.l4_proto;
    if (proto != kTcp && proto != kUdp) return;
    if (e.kind == FlowEvent::Kind::opened) {
      state(f, true);
      return;
    }
    if (e.kind == FlowEvent::Kind::closed && decide(f) && want_events_) {
      if (!events) events = std::make_shared<ClassificationBatch>();
      const auto pk = f.record.key.l4_proto == kTcp ? f.record.tcp[0].pkts_all + f.record.tcp[1].pkts_all
                                                    : f.record.udp[0].pkts_all + f.record.udp[1].pkts_all;
      events->events.push_back(
          make_event(f, f.record.last_ns, static_cast<std::uint32_t>(pk), -1, "BayesClassifier", "Skype"));
    }
    if (!want_records_ || (!log_external_ && !f.record.internal[0] && !f.record.internal[1])) return;
    if (!records) records = std::make_shared<FlowBatch>();
    records->records.push_back(f.record);
    if (e.kind == FlowEvent::Kind::interim) records->records.back().end = FlowEnd::interim;
  }

  // Labels the flow; true when it is Skype.
  bool decide(FlowContext& f) {
    SkypeFlow* s = state(f, false);
    if (!s) return false;
    FlowLabels& l = f.record.labels;
    bool skype = false;
    for (unsigned d = 0; d < 2; ++d) {
      if (f.record.key.l4_proto == kUdp) {
        const sk::Verdict v = sk::decide_udp(s->dir[d], l.udp_type[d], prm_);
        l.udp_type[d] = v.udp_type;
        if (v.skype) {
          skype = true;
          (v.l7 == sk::kL7SkypeE2E ? e2e_ : e2o_)->add();
        }
      } else {
        const sk::Verdict v = sk::decide_tcp(s->dir[d], prm_);
        if (v.skype) {
          skype = true;
          tcp_->add();
        }
      }
    }
    if (skype) {
      if (f.record.key.l4_proto == kTcp) l.con_type |= sk::kConTypeSkype;
      l.app = "Skype";
      classified_->add();
      f.record.skype = facts(*s, f.record);
    }
    f.state[slot_].reset();  // the verdict is on the record; free the state now
    return skype;
  }

  // log_skype_complete's figures (spec §7.5) from the two directions.
  std::shared_ptr<const SkypeFacts> facts(const SkypeFlow& s, const FlowRecord& r) const {
    const bool tcp = r.key.l4_proto == kTcp;
    auto out = std::make_shared<SkypeFacts>();
    out->tcp = tcp;
    for (unsigned d = 0; d < 2; ++d) {
      const sk::Direction& x = s.dir[d];
      SkypeDirFacts& o = out->dir[d];
      o.bytes = tcp ? r.tcp[d].bytes_uniq : x.bytes;
      o.pkts = x.pkts;
      o.e2e = x.e2e;
      o.out = x.out;
      o.sig = x.nak + x.fun2 + x.fun3;
      o.unknown = x.unknown;
      o.audio = x.audio;
      o.video = x.video;
      o.avg_pkt_size = x.pkts ? static_cast<double>(x.bytes) / static_cast<double>(x.pkts) : 0.0;
      o.pktsize_belief = x.pktsize().mean_max_belief();
      o.avgipg_belief = x.avgipg().mean_max_belief();
      o.avg_ipg_ms =
          x.pkts ? static_cast<double>(x.last_ns - x.first_ns) / 1e6 / static_cast<double>(x.pkts) : 0.0;
      const std::array<double, 16> chi = x.chi().all();
      auto mx = [&](std::initializer_list<int> idx) {
        double m = 0;
        for (int i : idx) m = std::max(m, chi[static_cast<std::size_t>(i)]);
        return m;
      };
      o.chi_min_e2o_hdr = *std::min_element(chi.begin(), chi.begin() + 8);
      o.chi_max_e2e_hdr = mx({0, 1, 2, 3, 6, 7});
      o.chi_min_e2e_hdr = std::min(chi[4], chi[5]);
      o.chi_max_hdr = mx({0, 1, 2, 3, 4, 5, 6, 7});
      o.chi_max_payload = mx({8, 9, 10, 11, 12, 13, 14, 15});
      o.udp_type = tcp ? 0 : x.udp_type(r.labels.udp_type[d]);
      o.bayes_flag = x.bayes_flag();
      o.chi_class = static_cast<int>(tcp ? x.chi_tcp_class() : x.chi_udp_class());
      o.video_present =
          x.audio ? static_cast<double>(x.video) > 0.1 * static_cast<double>(x.audio) : x.video > 0;
    }
    return out;
  }

  std::unique_ptr<sk::Configs> cfg_;
  sk::Params prm_;
  bool log_external_ = false;
  unsigned slot_ = 0;
  Context* ctx_ = nullptr;
  bool want_records_ = true, want_events_ = true;
  Counter *seen_ = nullptr, *classified_ = nullptr, *e2e_ = nullptr, *e2o_ = nullptr, *tcp_ = nullptr,
          *late_ = nullptr, *events_emitted_ = nullptr;
};

}  // namespace

NETLOOM_PLUGIN(BayesClassifier)
