// Flows: the per-connection record a flow tracker keeps and emits, and the
// live context classifiers annotate through Packet::flow.
//
// Lifetime: a flow tracker owns each FlowContext while the flow is open.
// When it closes the flow, it announces the close as a FlowEvent in the
// PacketBatch where the close happens and hands the context to that batch's
// `retired` list, so the context lives as long as any block can still see
// the event: downstream blocks may keep raw pointers to a context until they
// have processed its `closed` event, never after.
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "netloom/ip.hpp"
#include "netloom/message.hpp"
#include "netloom/skype.hpp"

namespace netloom {

struct FlowKey {
  IpAddr client{}, server{};
  std::uint16_t client_port = 0, server_port = 0;
  std::uint8_t ip_version = 0, l4_proto = 0;
};

// Why a flow record was emitted.
enum class FlowEnd : std::uint8_t {
  open = 0,          // not closed (a record still being built)
  fin = 1,           // both FINs acknowledged (TCP)
  rst = 2,           // a RST (TCP)
  idle = 3,          // idle timeout
  singleton = 4,     // singleton timeout (SYN-only TCP, one-packet UDP)
  end_of_input = 5,  // still open when the input ended
  evicted = 6,       // the flow table was full
  half_duplex = 7,   // client payload while the server never sent a SYN (TCP)
  interim = 8,       // periodic snapshot of a flow that is still open
};

// One direction of a TCP connection: Tstat's log_tcp_complete fields.
// Times are ns since the epoch, 0 when the event never happened.
struct TcpDirStats {
  // core columns
  std::uint64_t pkts_all = 0, rst_cnt = 0, ack_cnt = 0, ack_cnt_p = 0, bytes_uniq = 0, pkts_data = 0,
                bytes_all = 0, pkts_retx = 0, bytes_retx = 0, pkts_ooo = 0, syn_cnt = 0, fin_cnt = 0;
  std::uint64_t first_payload_ns = 0, last_payload_ns = 0, first_ack_ns = 0;
  // end-to-end: RTT samples in µs, TTL / hop limit
  double rtt_sum_us = 0, rtt_sum2_us = 0, rtt_min_us = 0, rtt_max_us = 0;
  std::uint64_t rtt_cnt = 0;
  std::uint8_t ttl_min = 0, ttl_max = 0;
  // options and anomalies
  bool ws_requested = false, ts_requested = false, sack_requested = false;
  std::uint8_t win_scale = 0;
  std::uint16_t mss = 0;  // declared in the SYN
  std::uint64_t sack_cnt = 0, seg_max = 0, seg_min = 0, win_max = 0, win_min = 0, win_zero = 0, cwin_max = 0,
                cwin_min = 0, cwin_ini = 0;
  std::uint64_t pkts_rto = 0, pkts_fr = 0, pkts_reor = 0, pkts_dup = 0, pkts_unk = 0, pkts_fc = 0,
                pkts_unrto = 0, pkts_unfr = 0, syn_retx = 0;
  std::uint64_t pkts_push = 0;  // PSH-delimited messages
};

// One direction of a UDP flow: Tstat's log_udp_complete fields.
struct UdpDirStats {
  std::uint64_t first_ns = 0, last_ns = 0, bytes_all = 0, pkts_all = 0;
};

// What classifiers decide, in Tstat's numeric codes (names for JSON/CSV are
// the log sink's business).
struct FlowLabels {
  std::uint32_t con_type = 0;  // TCP con_t bitmask
  // Tstat's internal p2p value: ipp2p code * 100 + subtype (logs print
  // p2p_t = p2p_type / 100 and p2p_st = p2p_type % 100).
  std::uint16_t p2p_type = 0;
  // Tstat's http_content enum (logs print http_t = http_type + 1 when
  // con_type has the HTTP bit, else 0).
  std::uint16_t http_type = 0;
  std::array<std::uint16_t, 2> udp_type{0, 0};  // UDP c_type, s_type
  std::string app;                              // application name ("" = unknown)
};

// What the layer-7 state machines (FSMDPI) read out of a flow: Tstat's
// LAYER7 columns of log_tcp_complete. Strings are empty and numbers 0 when
// absent. [0] is the client's direction, [1] the server's.
struct L7Facts {
  std::uint32_t http_req_cnt = 0, http_res_cnt = 0;      // request / response segments
  std::uint16_t http_status = 0;                         // first response status code
  std::string http_host;                                 // first Host: header value
  std::string tls_sni;                                   // ClientHello server_name
  std::string tls_cn;                                    // server certificate common name
  std::array<std::uint8_t, 2> npnalpn{};                 // Tstat's NPN/ALPN bitmap
  std::uint8_t tls_session_stat = 0;                     // Tstat's bits: session id, PSK, early data, ...
  std::array<std::string, 2> tls_version;                // "0303", or supported_versions "0304,0303"
  std::array<std::uint64_t, 2> tls_last_handshake_ns{};  // last packet before the first Application Data
  std::array<std::uint64_t, 2> tls_appdata_ns{};         // first Application Data record
  std::array<std::uint64_t, 2> tls_appdata_offset{};     // its offset from the ISN (bytes)
  std::array<std::string, 2> banner;  // first greeting/banner line (SSH, SMTP, POP3, IMAP, RTSP server)
};

struct FlowRecord {
  FlowKey key;
  std::uint64_t id = 0;  // per tracker instance, in order of creation
  std::uint64_t first_ns = 0, last_ns = 0;
  FlowEnd end = FlowEnd::open;
  bool complete = false;           // TCP: Tstat's complete (log_tcp_complete) vs nocomplete
  bool midstream = false;          // TCP: opened by a segment other than a SYN (never complete)
  std::array<bool, 2> internal{};  // [0] client, [1] server: inside the -N networks
  std::array<bool, 2> crypto{};    // address anonymised in logs
  FlowLabels labels;
  L7Facts l7;
  // The Skype classifier's figures for flows it calls Skype (log_skype_complete);
  // shared so copies stay cheap.
  std::shared_ptr<const SkypeFacts> skype;
  std::array<TcpDirStats, 2> tcp{};  // [0] client->server, [1] server->client
  std::array<UdpDirStats, 2> udp{};
};

// Per-flow state a block keeps in a FlowContext slot; destroyed with the flow.
struct FlowState {
  virtual ~FlowState() = default;
};

// Slots are never reused within a run (a reload gives a rebuilt classifier a
// fresh one), so a run can see at most this many classifier instances.
inline constexpr unsigned kFlowSlots = 16;

struct FlowContext {
  // Scratch for classifiers: slot numbers come from Context::flow_slot().
  // First: every classifier reads its slot at every packet, and a tracker
  // keeps its lookup key just before the context, on the same cache lines.
  std::array<std::unique_ptr<FlowState>, kFlowSlots> state;
  // The symmetric hash of the flow's packets (Packet::flow_hash), set by the
  // tracker: replicated blocks downstream route the flow's events with it.
  std::uint32_t flow_hash = 0;
  // Bit s: the block owning slot s has finished with this flow (decided, or
  // past its packet limit) and skips its packets without touching its
  // state; it still sees the flow's events. Set by that block only.
  std::uint16_t done = 0;
  FlowRecord record;  // statistics so far; final once the flow is closed
};

// A flow event, in order with the packets of the batch carrying it.
struct FlowEvent {
  enum class Kind : std::uint8_t { opened, closed, interim };
  Kind kind = Kind::opened;
  std::uint32_t at = 0;  // after packet `at - 1` and before packet `at`
                         // (packets.size(): after every packet of the batch)
  FlowContext* flow = nullptr;
};

// Flow records as a stream of their own, for blocks that want no packets.
class FlowBatch final : public Message {
 public:
  static constexpr std::string_view kType = "FlowBatch";
  std::vector<FlowRecord> records;

  std::string_view type_name() const noexcept override { return kType; }
  std::size_t items() const noexcept override { return records.size(); }
  MessagePtr clone() const override { return std::make_shared<FlowBatch>(*this); }
};

}  // namespace netloom
