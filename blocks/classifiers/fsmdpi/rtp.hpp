// RTP / RTCP over UDP (spec §5.2, last bullet; Tstat rtp.c): each direction
// is searched on its own, within max_udp_packets packets, when both ports are
// above 1024 and no other classifier typed it (DTLS excepted: RTP may be
// multiplexed with it). RFC 7983 demultiplexing by the first byte: 128-191
// is RTP/RTCP, anything else (STUN 0-3, ZRTP, DTLS, TURN channels, ...) is
// skipped and the search goes on.
#pragma once
#include <array>
#include <cstdint>
#include <optional>

#include "harness.hpp"
#include "netloom/flow.hpp"

namespace netloom::fsmdpi {

struct UdpPacket {
  const std::uint8_t* payload = nullptr;
  std::uint32_t len = 0;
  std::uint8_t dir = 0;
  std::uint16_t sport = 0, dport = 0;
};

class UdpFlow {
 public:
  // Feeds one datagram. Returns the direction's confirmed type (l7::udp::RTP
  // or RTCP) on the packet that confirms it; labels are already updated.
  std::optional<std::uint16_t> on_packet(const Config& cfg, const UdpPacket& p, FlowRecord& rec);
  // The flow closed: an unconfirmed direction gets back the type it had
  // before the search (0, or DTLS), never FIRST_RTP / FIRST_RTCP.
  void close(FlowRecord& rec);
  bool finished() const noexcept {
    return dir_[0].state != State::searching && dir_[1].state != State::searching;
  }
  bool inspected() const noexcept { return inspected_; }
  bool confirmed() const noexcept {
    return dir_[0].state == State::confirmed || dir_[1].state == State::confirmed;
  }
  std::uint32_t packets() const noexcept { return pkts_; }

 private:
  enum class State : std::uint8_t { searching, confirmed, gave_up };
  struct Source {
    std::uint32_t ssrc = 0;
    std::uint16_t seq = 0;  // RTP: last sequence number seen
    bool rtcp = false;
  };
  struct Direction {
    State state = State::searching;
    std::uint8_t sources = 0;   // entries of src in use
    std::uint8_t distinct = 0;  // SSRCs seen, all told
    std::uint16_t before = 0;   // the type to restore if never confirmed
    std::uint32_t pkts = 0;
    std::array<Source, 8> src{};
  };
  void give_up(unsigned d, FlowRecord& rec);

  std::uint32_t pkts_ = 0;
  bool inspected_ = false;
  std::array<Direction, 2> dir_{};
};

}  // namespace netloom::fsmdpi
