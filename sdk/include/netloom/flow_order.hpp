// The order of flow events at one stream position. A flow tracker and the
// runtime's merge of replicated (flow-sharded) chains both use it, so a run
// with N replicas announces closes in exactly the order a 1-replica run does:
// the position (FlowEvent::at) decides first; at one position, closes caused
// by the previous packet (FIN, RST, half duplex) come first, then timeout
// closes sorted by the flow's last packet time and key, then what the packet
// at that position causes (an eviction, an open).
#pragma once
#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#include "netloom/flow.hpp"

namespace netloom {

// 0: caused by packet at-1; 1: a timeout or end-of-input close (any replica
// may find one at any position); 2: caused by packet `at`.
inline int flow_event_phase(const FlowEvent& e) noexcept {
  if (e.kind != FlowEvent::Kind::closed || e.flow == nullptr) return 2;
  switch (e.flow->record.end) {
    case FlowEnd::fin:
    case FlowEnd::rst:
    case FlowEnd::half_duplex:
      return 0;
    case FlowEnd::idle:
    case FlowEnd::singleton:
    case FlowEnd::end_of_input:
      return 1;
    default:
      return 2;
  }
}

// Timeout closes: by last packet time, first packet time, then the key (two
// flows open at once never share a key, so this is a total order).
inline bool timeout_close_before(const FlowRecord& a, const FlowRecord& b) noexcept {
  if (a.last_ns != b.last_ns) return a.last_ns < b.last_ns;
  if (a.first_ns != b.first_ns) return a.first_ns < b.first_ns;
  const FlowKey &x = a.key, &y = b.key;
  if (x.ip_version != y.ip_version) return x.ip_version < y.ip_version;
  if (x.l4_proto != y.l4_proto) return x.l4_proto < y.l4_proto;
  if (int c = std::memcmp(x.client.data(), y.client.data(), x.client.size())) return c < 0;
  if (int c = std::memcmp(x.server.data(), y.server.data(), x.server.size())) return c < 0;
  return std::tie(x.client_port, x.server_port) < std::tie(y.client_port, y.server_port);
}

inline bool flow_event_before(const FlowEvent& a, const FlowEvent& b) noexcept {
  if (a.at != b.at) return a.at < b.at;
  const int pa = flow_event_phase(a), pb = flow_event_phase(b);
  if (pa != pb) return pa < pb;
  return pa == 1 && timeout_close_before(a.flow->record, b.flow->record);
}

// Puts `events` in the canonical order; events the order does not tell
// apart keep their relative order. Cheap when they already are in order.
inline void sort_flow_events(std::vector<FlowEvent>& events) {
  bool sorted = true;
  for (std::size_t i = 1; i < events.size() && sorted; ++i)
    sorted = !flow_event_before(events[i], events[i - 1]);
  if (!sorted) std::stable_sort(events.begin(), events.end(), flow_event_before);
}

}  // namespace netloom
