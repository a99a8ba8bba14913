// TcpEngine -> TcpConnAnalyzer glue.
#include "tcp_engine.hpp"

#include <algorithm>

namespace netloom::flow {

TcpSegment TcpEngine::to_segment(const SegmentInfo& s) {
  TcpSegment t;
  t.ts_ns = s.ts_ns;
  t.seq = s.seq;
  t.ack = s.ack;
  t.payload_len = s.payload_len;
  t.flags = s.flags;
  t.window = s.window;
  t.ip_id = s.ip_id;
  t.ttl = s.ttl;
  t.options = s.options_len ? s.options : nullptr;
  t.options_len = static_cast<std::uint8_t>(std::min<std::uint16_t>(s.options_len, 40));
  return t;
}

#ifndef NETLOOM_NO_RECYCLING
namespace {
struct PoolList {
  std::vector<TcpEngine*> items;
  ~PoolList() {
    for (TcpEngine* e : items) delete e;
  }
};
PoolList& pool_list() {
  thread_local PoolList l;
  return l;
}
}  // namespace
#endif

EnginePool::Ptr EnginePool::take() {
#ifndef NETLOOM_NO_RECYCLING
  auto& l = pool_list().items;
  if (!l.empty()) {
    TcpEngine* e = l.back();
    l.pop_back();
    e->reset();  // here, not when returned: the flow about to use it wants it in cache
    return Ptr(e);
  }
#endif
  return Ptr(new TcpEngine);
}

void EnginePool::Return::operator()(TcpEngine* e) const noexcept {
#ifndef NETLOOM_NO_RECYCLING
  auto& l = pool_list().items;
  if (l.size() < kKeep) {
    try {
      l.push_back(e);
      return;
    } catch (...) {  // no memory for the list: free the engine instead
    }
  }
#endif
  delete e;
}

}  // namespace netloom::flow
