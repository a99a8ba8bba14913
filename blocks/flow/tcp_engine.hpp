// Adapter between the FlowTracker and the TCP sequence/RTT engine
// (netloom::flow::TcpConnAnalyzer, blocks/flow/tcp_analyzer.hpp). The tracker
// fills a SegmentInfo from the packet headers and calls TcpEngine::on_segment.
#pragma once
#include <array>
#include <cstdint>
#include <netloom/netloom.hpp>
#include <netloom/recycled.hpp>

#include "tcp_analyzer.hpp"

namespace netloom::flow {

// What the tracker reads from the TCP/IP headers (bounds-checked).
struct SegmentInfo {
  std::uint64_t ts_ns = 0;
  std::uint32_t seq = 0, ack = 0;
  std::uint16_t window = 0;
  std::uint16_t ip_id = 0;  // IPv4 identification (0 for IPv6)
  std::uint8_t flags = 0;   // TCP flags byte
  std::uint8_t ttl = 0;
  std::uint32_t payload_len = 0;          // from the IP lengths, not the capture
  const std::uint8_t* options = nullptr;  // TCP options, captured part only
  std::uint16_t options_len = 0;
  const std::uint8_t* payload = nullptr;  // captured payload (may be shorter than payload_len)
  std::uint32_t payload_caplen = 0;
};

class TcpEngine : public Recycled<TcpEngine> {  // per TCP flow, several KB: recycled
 public:
  void on_segment(int dir, const SegmentInfo& s, std::array<TcpDirStats, 2>& st) {
    TcpSegment seg = to_segment(s);
    analyzer_.on_segment(dir, seg, st);
  }

 private:
  static TcpSegment to_segment(const SegmentInfo& s);  // tcp_engine.cpp
  TcpConnAnalyzer analyzer_;
};

}  // namespace netloom::flow
