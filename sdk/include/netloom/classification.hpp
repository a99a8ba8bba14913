// Classification events: what a classifier decided about a flow, when, and
// after how many packets — a stream for downstream blocks (exporters,
// alerting, accuracy studies) that want verdicts as they happen rather than
// flow records at close.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netloom/flow.hpp"
#include "netloom/message.hpp"

namespace netloom {

struct ClassificationEvent {
  std::uint64_t flow_id = 0;  // FlowRecord::id (per tracker instance)
  FlowKey key;
  std::uint64_t ts_ns = 0;    // packet time of the deciding packet (or of the close)
  std::uint32_t packets = 0;  // packets of the flow seen when the decision was taken
  std::int8_t dir = -1;       // 0 client->server, 1 server->client, -1 the whole flow
  std::string classifier;     // block type that decided ("PDPI", "FSMDPI", ...)
  std::string label;          // application / protocol name ("HTTP", "BitTorrent", ...)
  FlowLabels labels;          // the flow's labels right after the decision (Tstat codes)
};

class ClassificationBatch final : public Message {
 public:
  static constexpr std::string_view kType = "ClassificationBatch";
  std::vector<ClassificationEvent> events;

  std::string_view type_name() const noexcept override { return kType; }
  std::size_t items() const noexcept override { return events.size(); }
  MessagePtr clone() const override { return std::make_shared<ClassificationBatch>(*this); }
};

// Fills the flow-side fields of an event from the deciding packet's flow.
inline ClassificationEvent make_event(const FlowContext& f, std::uint64_t ts_ns, std::uint32_t packets,
                                      int dir, std::string classifier, std::string label) {
  ClassificationEvent e;
  e.flow_id = f.record.id;
  e.key = f.record.key;
  e.ts_ns = ts_ns;
  e.packets = packets;
  e.dir = static_cast<std::int8_t>(dir);
  e.classifier = std::move(classifier);
  e.label = std::move(label);
  e.labels = f.record.labels;
  return e;
}

}  // namespace netloom
