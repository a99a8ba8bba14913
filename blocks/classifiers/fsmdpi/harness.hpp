// The TCP harness: per-flow state and the per-packet driver shared by the
// FSMDPI block and the tests. It counts the flow's packets, remembers the
// ISNs, opens a machine from the first payload bytes of a direction (spec §6
// "State UNKNOWN, by first 4 bytes"), feeds it, enforces the budgets and
// applies a decision to the flow's labels with Tstat's rules.
#pragma once
#include <bitset>
#include <optional>
#include <string>
#include <vector>

#include "machine.hpp"
#include "netloom/flow.hpp"

namespace netloom::fsmdpi {

using MachineSet = std::bitset<kTcpMachines>;

struct Config {
  std::uint32_t max_packets = 50;      // TCP: flow packets inspected at most (Tstat: 50)
  std::uint32_t max_udp_packets = 40;  // UDP: packets per direction searched for RTP/RTCP (Tstat: 40)
  MachineSet tcp_machines = MachineSet().set();
  bool rtp = true;
};

// Parses the `machines` parameter ("all" or a comma list). Throws
// ConfigError naming the bad entry and listing the valid names.
Config parse_machines(const std::string& list, Config base = {});
// Every valid machine name, comma-separated (for docs and messages).
std::string machine_names();

// One TCP packet, reduced to what the harness needs.
struct TcpPacket {
  const std::uint8_t* payload = nullptr;
  std::uint32_t len = 0;
  std::uint8_t dir = 0;
  std::uint8_t flags = 0;  // TCP flags byte
  std::uint32_t seq = 0;
  std::uint64_t ts_ns = 0;
  std::uint16_t server_port = 0;
};

class TcpFlow {
 public:
  // Feeds one packet of the flow. Returns the decision taken on it, if any
  // (already applied to `rec.labels`).
  std::optional<Decision> on_packet(const Config& cfg, const TcpPacket& p, FlowRecord& rec, Tally& tally);
  // Nothing left to inspect: the block skips the flow's next packets (FlowContext::done).
  bool finished() const noexcept { return phase_ == Phase::finished; }
  bool decided() const noexcept { return con_ != 0; }
  // The con_type bit decided (0: none yet).
  std::uint32_t decided_con() const noexcept { return con_; }
  bool inspected() const noexcept { return payload_seen_ != 0; }
  std::uint32_t packets() const noexcept { return pkts_; }
  // The machine the flow is (or was) in; kTcpMachines when none opened.
  MachineId machine() const noexcept { return machine_; }

 private:
  enum class Phase : std::uint8_t { searching, active, counting, finished };
  void finish(FlowRecord& rec);
  void count_http(const TcpPacket& p, FlowRecord& rec) const;

  std::uint32_t pkts_ = 0;
  std::array<std::uint32_t, 2> isn_{};
  std::uint8_t syn_seen_ = 0;      // bit d: direction d's SYN seen
  std::uint8_t payload_seen_ = 0;  // bit d: direction d sent payload
  Phase phase_ = Phase::searching;
  MachineId machine_ = kTcpMachines;
  std::uint32_t con_ = 0;       // the decision's con_type bit, 0 while undecided
  bool http_counting_ = false;  // counting requests/responses (HTTP flows, whole flow)
  Scratch scratch_;
};

// Applies a decision to a flow's labels with Tstat's rules: the con_type bit
// is added (a strong protocol clears the OBF/MSE guesses), P2P bits and
// p2p_type are left alone, labels.app is set only when empty. TLS on the
// implicit-TLS mail ports is named IMAPS / POP3S / SMTPS.
void apply(const Decision& d, std::uint16_t server_port, FlowLabels& labels);
std::string_view app_name(const Decision& d, std::uint16_t server_port);

// HTTP request methods counted in http_req_cnt (Tstat: GET/POST/HEAD/PUT, and
// PATCH/OPTIONS/DELETE verified in full).
bool is_http_request(const std::uint8_t* p, std::uint32_t len) noexcept;

}  // namespace netloom::fsmdpi
