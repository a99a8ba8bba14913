// Adapter between the FlowTracker and the TCP sequence/RTT engine
// (netloom::flow::TcpConnAnalyzer, blocks/flow/tcp_analyzer.hpp). The tracker
// fills a SegmentInfo from the packet headers and calls TcpEngine::on_segment.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <netloom/netloom.hpp>
#include <netloom/recycled.hpp>
#include <vector>

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

class TcpEngine : public Recycled<TcpEngine> {  // per TCP flow: recycled
 public:
  // As new, keeping the segment lists' capacity (a pooled engine, below).
  void reset() { analyzer_.reset(); }

  void on_segment(int dir, const SegmentInfo& s, std::array<TcpDirStats, 2>& st) {
    TcpSegment seg = to_segment(s);
    analyzer_.on_segment(dir, seg, st);
  }

 private:
  static TcpSegment to_segment(const SegmentInfo& s);  // tcp_engine.cpp
  TcpConnAnalyzer analyzer_;
};

// A TCP flow's engine, returned to a per-thread pool when the flow's entry
// goes: the next flow resets it instead of allocating its segment lists
// again (Tstat keeps these attached to recycled TCP records the same way).
// Sanitizer builds allocate plainly, so use-after-free is still caught.
class EnginePool {
 public:
  struct Return {
    void operator()(TcpEngine* e) const noexcept;
  };
  using Ptr = std::unique_ptr<TcpEngine, Return>;
  static Ptr take();

 private:
  static constexpr std::size_t kKeep = 4096;
};

}  // namespace netloom::flow
