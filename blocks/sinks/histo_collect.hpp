// What feeds the histograms (the "fed by" column of docs/histograms.md):
// packets, new flows and closed flows, for the enabled set of one window.
// The block decides windows and direction classes; this decides values.
#pragma once
#include <memory>
#include <netloom/flow.hpp>
#include <netloom/packet.hpp>
#include <optional>
#include <vector>

#include "histo_adx.hpp"
#include "histo_config.hpp"
#include "histo_engine.hpp"

namespace netloom::histo {

// Direction class of a packet from its sender and receiver (spec §2.6).
inline DirClass dir_class(bool src_internal, bool dst_internal) {
  if (src_internal) return dst_internal ? kLoc : kOut;
  return dst_internal ? kIn : kExt;
}

class Collector {
 public:
  explicit Collector(const Selection& sel);

  // One IP packet; `src_internal`/`dst_internal` say where its ends are.
  // Returns false for ext<->ext packets, which no histogram counts.
  bool packet(const Packet& p, bool src_internal, bool dst_internal);
  // A flow's `opened` event.
  void flow_opened(const FlowRecord& r);
  // A flow's `closed` event with its final record.
  enum class Closed { fed, tcp_nocomplete, external, other };
  Closed flow_closed(const FlowRecord& r);

  // End of window: bitrate pseudo-histograms become bit/s over elapsed_ms.
  void finish(double elapsed_ms);
  void reset();
  // What reset() does besides the histograms, after every enabled one went
  // through Histogram::move_into() (which empties it).
  void reset_others();

  // By definitions() index; null when disabled.
  const std::vector<std::unique_ptr<Histogram>>& histograms() const { return h_; }
  // Null unless ADX is on.
  const AddressHits* adx() const { return adx_ ? &*adx_ : nullptr; }

 private:
  // first_[b] + variant: instance() without a call into another file and
  // a static's guard per add (about ten adds per packet).
  void add(Base b, unsigned variant, double v, std::uint64_t n = 1) {
    if (Histogram* h = h_[first_[b] + variant].get()) h->add(v, n);
  }
  // One integer sample (header fields, ports): no float conversions for the index.
  void add_int(Base b, unsigned variant, std::int64_t v) {
    if (Histogram* h = h_[first_[b] + variant].get()) h->add_int(v);
  }
  void add_bytes(Base b, unsigned variant, std::size_t category, std::uint64_t bytes) {
    if (Histogram* h = h_[first_[b] + variant].get()) h->add_bytes(category, bytes);
  }
  void tcp_half(const FlowRecord& r, int d);

  std::vector<std::unique_ptr<Histogram>> h_;
  std::vector<std::size_t> first_;  // per base: instance(b, 0)
  std::optional<AddressHits> adx_;
};

}  // namespace netloom::histo
