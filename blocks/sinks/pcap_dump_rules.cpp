#include "pcap_dump_rules.hpp"

#include <algorithm>
#include <cctype>
#include <netloom/error.hpp>
#include <netloom/l7.hpp>

namespace netloom::pcapdump {

namespace {

constexpr std::uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

// Serial-number arithmetic (RFC 1982): a is after or at b.
inline bool seq_ge(std::uint32_t a, std::uint32_t b) noexcept {
  return static_cast<std::int32_t>(a - b) >= 0;
}
inline bool seq_gt(std::uint32_t a, std::uint32_t b) noexcept { return static_cast<std::int32_t>(a - b) > 0; }

std::string valid_names() {
  std::string s;
  for (std::string_view n : kUdpClasses) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

int udp_class_of(std::uint16_t t) noexcept {
  // Indexed by Tstat's udp_type code (0..31); -1: no file.
  // clang-format off
  static constexpr std::array<std::int8_t, 32> kClassOf = {
      0,  -1, -1, 1,  2,  -1, -1, -1,  // UNKNOWN FIRST_RTP FIRST_RTCP RTP RTCP SKYPE_E2E SKYPE_OUT SKYPE_SIG
      3,  4,  5,  6,  7,  8,  9,  10,  // EDK KAD KADU GNUTELLA BITTORRENT DC KAZAA PPLIVE
      11, 12, 13, 14, 15, 15, 16, 17,  // SOPCAST TVANTS OKAD DNS UTP UTPBT VOD PPSTREAM
      18, 19, 20, 21, -1, 1,  22, 23}; // TEREDO SIP DTLS QUIC FIRST_RTP_PLUS RTP_PLUS MTURN SYE
  // clang-format on
  static_assert(l7::udp::DNS == 19 && l7::udp::UTPBT == 21 && l7::udp::RTP_PLUS == 29 && l7::udp::SYE == 31);
  return t < kClassOf.size() ? kClassOf[t] : -1;
}

std::vector<int> parse_udp_classes(std::string_view list) {
  std::vector<int> out;
  if (trim(list).empty()) return out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    const std::size_t comma = std::min(list.find(',', pos), list.size());
    const std::string_view item = trim(list.substr(pos, comma - pos));
    if (item.empty()) throw ConfigError("parameter 'udp': empty class name in '" + std::string(list) + "'");
    std::string lower(item);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const auto it = std::find(kUdpClasses.begin(), kUdpClasses.end(), lower);
    if (it == kUdpClasses.end())
      throw ConfigError("parameter 'udp': unknown class '" + std::string(item) +
                        "' (valid: " + valid_names() + ")");
    const int idx = static_cast<int>(it - kUdpClasses.begin());
    if (std::find(out.begin(), out.end(), idx) != out.end())
      throw ConfigError("parameter 'udp': class '" + lower + "' is listed twice");
    out.push_back(idx);
    pos = comma + 1;
  }
  return out;
}

bool is_stun_binding_request(const std::uint8_t* p, std::uint32_t len) noexcept {
  if (len < 20 || p == nullptr) return false;
  if (p[0] != 0x00 || p[1] != 0x01) return false;
  const std::uint32_t msg_len = (std::uint32_t{p[2]} << 8) | p[3];
  return msg_len + 20 == len;
}

bool tcp_keep(TcpDir& self, const TcpDir& other, const TcpSegment& s, const Limits& lim) noexcept {
  // Account first: Tstat's dump sees the direction after this segment.
  if ((s.flags & kSyn) && !self.syn) {
    self.syn = true;
    self.isn = s.seq;
    self.max_end = s.seq;
  } else if (!self.seen) {
    self.isn = s.seq - 1;  // no SYN: count offsets from the first byte seen
    self.max_end = s.seq - 1;
  }
  self.seen = true;
  const std::uint32_t end = s.seq + s.data_len;
  if (s.data_len && seq_gt(end, self.max_end)) self.max_end = end;
  if (s.data_len) ++self.data_pkts;
  if (s.flags & kAck) {
    self.ack = s.ack;
    self.ack_seen = true;
  }
  if ((s.flags & kFin) && !self.fin) {
    self.fin = true;
    self.fin_seq = s.seq + s.data_len;
  }

  if (s.flags & (kSyn | kFin | kRst)) return true;
  if (s.data_len) {
    const std::uint32_t start = self.max_end - self.isn - s.data_len;  // 1 for the first segment
    return (lim.max_bytes && start <= lim.max_bytes) ||
           (lim.max_packets && self.data_pkts <= lim.max_packets);
  }
  // No data: kept when it acknowledges everything the other side sent so far
  // and that side is still of interest.
  if (!other.seen) return true;  // nothing to acknowledge yet
  if (!self.ack_seen || !seq_ge(self.ack, other.max_end)) return false;
  const std::uint32_t other_sent = other.max_end - other.isn;
  return (lim.max_bytes && other_sent <= lim.max_bytes) ||
         (lim.max_packets && other.data_pkts <= lim.max_packets) ||
         (other.fin && seq_ge(self.ack, other.fin_seq + 1));
}

bool udp_keep(UdpDir& d, std::uint32_t payload, const Limits& lim) noexcept {
  ++d.packets;
  d.bytes += payload;
  return (lim.max_packets && d.packets <= lim.max_packets) || (lim.max_bytes && d.bytes <= lim.max_bytes);
}

}  // namespace netloom::pcapdump
