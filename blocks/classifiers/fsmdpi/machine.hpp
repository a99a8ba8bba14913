// The FSMDPI machine contract: what a layer-7 state machine sees (one TCP
// payload segment at a time, in arrival order), what it may keep per flow,
// and how it reports. The harness (harness.hpp) picks the machine a flow
// starts in from the first payload bytes of each direction and feeds it the
// later segments; the machine answers more / done / give_up and, once, a
// Decision the harness turns into the flow's labels.
#pragma once
#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "netloom/flow.hpp"

namespace netloom::fsmdpi {

// One TCP payload segment as a machine sees it.
struct Segment {
  const std::uint8_t* data = nullptr;
  std::uint32_t len = 0;        // payload bytes captured
  std::uint8_t dir = 0;         // 0 client->server, 1 server->client
  std::uint64_t ts_ns = 0;      // packet time
  std::uint32_t seq = 0;        // TCP sequence number of data[0]
  std::uint32_t isn = 0;        // the direction's ISN (valid when has_isn)
  bool has_isn = false;         // the direction's SYN was seen
  bool first_in_dir = false;    // the direction's first payload segment
  bool first_in_flow = false;   // the flow's first payload segment (either direction)
  bool stream_start = false;    // starts at ISN+1 (no SYN seen: the first payload)
  bool midstream = false;       // no SYN seen in either direction: the capture started mid-connection
  std::uint32_t flow_pkts = 0;  // packets of the flow so far, this one included
  std::uint16_t server_port = 0;

  std::string_view text() const noexcept { return {reinterpret_cast<const char*>(data), len}; }
  bool starts(std::string_view k) const noexcept {
    return len >= k.size() && std::memcmp(data, k.data(), k.size()) == 0;
  }
  bool c2s() const noexcept { return dir == 0; }
  bool s2c() const noexcept { return dir == 1; }
};

enum class Step : std::uint8_t {
  more,     // keep feeding this machine
  done,     // finished (decided, facts read)
  give_up,  // finished without a decision (or facts no longer reachable)
};

// What a machine decided: a Tstat con_type bit and the protocol name for
// labels.app and the classification event. Taken once per flow.
struct Decision {
  std::uint32_t con = 0;  // l7::con bit; 0 = no decision on this segment
  std::string_view app;
  int http_type = -1;  // Tstat http_content (HTTP only), -1 = leave
};

// Machine-specific state that does not fit the small fields below (TLS
// handshake reassembly); each machine subclasses it in its own file.
struct MachineData {
  virtual ~MachineData() = default;
};

// Per-flow scratch a machine owns while it is the flow's machine.
struct Scratch {
  std::uint8_t stage = 0;      // machine-specific sub-state
  std::uint8_t seen = 0;       // machine-specific direction bits
  std::uint32_t a = 0, b = 0;  // machine-specific counters
  std::string pending;         // a banner line kept until the decision
  std::string token;           // a word to match later (IMAP tag)
  std::unique_ptr<MachineData> data;
};

// Whatever a machine wants counted by the block (not per flow).
struct Tally {
  std::uint64_t tls_buffer_overflows = 0;
};

enum MachineId : std::uint8_t {
  kHttp,
  kRtsp,
  kSmtp,
  kPop3,
  kImap,
  kTls,
  kSsh,
  kRtmp,
  kMsn,
  kYmsg,
  kXmpp,
  kTcpMachines
};

struct TcpMachine {
  MachineId id;
  std::string_view name;  // as in the `machines` parameter
  // True when this segment (the first payload of its direction, no machine
  // active yet) opens the machine.
  bool (*opens)(const Segment&);
  // Feeds one segment (the opening one first). Sets `out` when it decides.
  Step (*feed)(Scratch&, const Segment&, FlowRecord&, Decision& out, Tally&);
  // Gives up undecided once the flow has more packets than this (Tstat's §6 limits).
  std::uint32_t budget;
};

// The machines (one per file), in the order their openings are tried.
extern const TcpMachine kHttpMachine, kRtspMachine, kSmtpMachine, kPop3Machine, kImapMachine, kTlsMachine,
    kSshMachine, kRtmpMachine, kMsnMachine, kYmsgMachine, kXmppMachine;

// ---- text helpers shared by the line-based machines

inline bool is_upper(std::uint8_t c) noexcept { return c >= 'A' && c <= 'Z'; }
inline bool is_digit(std::uint8_t c) noexcept { return c >= '0' && c <= '9'; }
inline bool is_alnum(std::uint8_t c) noexcept { return is_digit(c) || is_upper(c) || (c >= 'a' && c <= 'z'); }
inline bool is_print(std::uint8_t c) noexcept { return c >= 0x20 && c < 0x7F; }
inline std::uint8_t lower(std::uint8_t c) noexcept {
  return is_upper(c) ? static_cast<std::uint8_t>(c + 32) : c;
}

// Case-insensitive prefix test (k in lower case).
inline bool starts_ci(const Segment& s, std::string_view k) noexcept {
  if (s.len < k.size()) return false;
  for (std::size_t i = 0; i < k.size(); ++i)
    if (lower(s.data[i]) != static_cast<std::uint8_t>(k[i])) return false;
  return true;
}

// The segment's first line: printable bytes up to CR/LF, at most `max`.
// Stops at the first byte that is not printable ASCII.
inline std::string first_line(const Segment& s, std::size_t max = 128) {
  std::string out;
  for (std::uint32_t i = 0; i < s.len && out.size() < max; ++i) {
    const std::uint8_t c = s.data[i];
    if (!is_print(c)) break;
    out.push_back(static_cast<char>(c));
  }
  return out;
}

// True when the first line ends (CR or LF) within the segment.
inline bool line_complete(const Segment& s) noexcept {
  return std::memchr(s.data, '\n', s.len) != nullptr || std::memchr(s.data, '\r', s.len) != nullptr;
}

// One of the words in `list` (each followed by a space or CR/LF), case-insensitive.
template <std::size_t N>
bool command_in(const Segment& s, const std::array<std::string_view, N>& list) noexcept {
  for (std::string_view w : list) {
    if (!starts_ci(s, w)) continue;
    if (s.len == w.size()) return true;
    const std::uint8_t next = s.data[w.size()];
    if (next == ' ' || next == '\r' || next == '\n') return true;
  }
  return false;
}

}  // namespace netloom::fsmdpi
