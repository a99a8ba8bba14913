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

}  // namespace netloom::flow
