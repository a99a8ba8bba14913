// RTP / RTCP over UDP (see rtp.hpp). A candidate packet sets the direction
// to FIRST_RTP / FIRST_RTCP and remembers its SSRC; the direction is
// confirmed RTP when a later packet of a known SSRC continues its sequence
// (1 to kMaxSeqStep ahead; duplicates are ignored), RTCP when a known RTCP
// sender SSRC repeats. Compound RTCP datagrams (several packets, or SRTCP
// with its encrypted tail) are recognised by their first packet.
#include "rtp.hpp"

#include "netloom/l7.hpp"

namespace netloom::fsmdpi {

namespace {

constexpr std::uint16_t kMaxSeqStep = 2;  // one packet lost between two we see, at most
constexpr std::uint8_t kMaxSources = 8;   // SSRCs tried before calling the direction not RTP

std::uint32_t u32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 | static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}

// Static and dynamic payload types (Tstat's list: 0, 3-18, 25, 26, 28, 31-34, 96-127).
bool rtp_payload_type(std::uint8_t pt) {
  return pt == 0 || (pt >= 3 && pt <= 18) || pt == 25 || pt == 26 || pt == 28 || (pt >= 31 && pt <= 34) ||
         pt >= 96;
}

// The first packet of an RTCP datagram: its length must fit in the datagram.
bool rtcp_packet(const std::uint8_t* p, std::uint32_t len) {
  if (len < 8 || p[1] < 191 || p[1] > 213) return false;
  const std::uint32_t bytes = (static_cast<std::uint32_t>(p[2] << 8 | p[3]) + 1) * 4;
  return bytes >= 8 && bytes <= len;
}

bool rtp_packet(const std::uint8_t* p, std::uint32_t len) {
  const std::uint32_t header = 12 + 4u * (p[0] & 0x0F);  // CSRC list
  return len >= header && rtp_payload_type(p[1] & 0x7F);
}

}  // namespace

void UdpFlow::give_up(unsigned d, FlowRecord& rec) {
  Direction& D = dir_[d];
  if (D.state != State::searching) return;
  D.state = State::gave_up;
  std::uint16_t& type = rec.labels.udp_type[d];
  if (type == l7::udp::FIRST_RTP || type == l7::udp::FIRST_RTCP) type = D.before;
}

void UdpFlow::close(FlowRecord& rec) {
  give_up(0, rec);
  give_up(1, rec);
}

std::optional<std::uint16_t> UdpFlow::on_packet(const Config& cfg, const UdpPacket& p, FlowRecord& rec) {
  ++pkts_;
  const unsigned d = p.dir & 1u;
  Direction& D = dir_[d];
  if (D.state != State::searching) return std::nullopt;
  if (p.sport <= 1024 || p.dport <= 1024) {  // RTP uses ephemeral ports on both sides
    give_up(0, rec);
    give_up(1, rec);
    return std::nullopt;
  }
  std::uint16_t& type = rec.labels.udp_type[d];
  if (type != 0 && type != l7::udp::DTLS && type != l7::udp::FIRST_RTP && type != l7::udp::FIRST_RTCP) {
    give_up(d, rec);  // another classifier typed this direction: never overwritten
    return std::nullopt;
  }
  if (++D.pkts > cfg.max_udp_packets) {
    give_up(d, rec);
    return std::nullopt;
  }
  inspected_ = true;
  if (p.len < 8 || p.payload[0] < 128 || p.payload[0] > 191) return std::nullopt;  // not RTP/RTCP: skip

  const bool rtcp = rtcp_packet(p.payload, p.len);
  if (!rtcp && !rtp_packet(p.payload, p.len)) return std::nullopt;
  const std::uint32_t ssrc = u32(p.payload + (rtcp ? 4 : 8));
  const auto seq = static_cast<std::uint16_t>(p.payload[2] << 8 | p.payload[3]);
  for (std::uint8_t i = 0; i < D.sources; ++i) {
    Source& s = D.src[i];
    if (s.ssrc != ssrc || s.rtcp != rtcp) continue;
    const auto step = static_cast<std::uint16_t>(seq - s.seq);
    if (!rtcp && step == 0) return std::nullopt;  // a duplicate
    if (rtcp || step <= kMaxSeqStep) {
      D.state = State::confirmed;
      type = rtcp ? l7::udp::RTCP : l7::udp::RTP;
      if (rec.labels.app.empty()) rec.labels.app = rtcp ? "RTCP" : "RTP";
      return type;
    }
    s.seq = seq;  // a jump: follow the new position
    return std::nullopt;
  }
  if (D.distinct == 0) {
    D.before = type;
    type = rtcp ? l7::udp::FIRST_RTCP : l7::udp::FIRST_RTP;
  }
  if (++D.distinct > kMaxSources) {  // many one-packet "sources": not RTP
    give_up(d, rec);
    return std::nullopt;
  }
  D.src[D.sources++] = {ssrc, seq, rtcp};
  return std::nullopt;
}

}  // namespace netloom::fsmdpi
