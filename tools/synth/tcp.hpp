// A scripted TCP connection: handshake, data transfers with ACK clocking,
// delayed ACKs, optional loss/reordering, teardown. Times are capture times in
// ns; the probe sits next to the client, so a client reacts to a packet after
// `lan_rtt` and a server after the path `rtt`.
#pragma once

#include <cstdint>
#include <map>

#include "rng.hpp"
#include "trace.hpp"

namespace netloom::synth {

// The TCP flavour of one host's stack.
struct TcpProfile {
  uint16_t mss = 1460;
  uint8_t wscale = 7;
  bool sack = true;
  bool timestamps = true;
  bool windows_layout = false;  // Windows option order (MSS,NOP,WS,NOP,NOP,SACK_PERM), no timestamps
  uint16_t syn_window = 64240;
  uint16_t window = 502;  // scaled window advertised after the handshake
  uint64_t delack = 40 * kMs;
};

TcpProfile linux_client(bool v6);
TcpProfile windows_client(bool v6);
TcpProfile linux_server(bool v6, uint16_t mss);

struct SendOpts {
  bool lose_last = false;  // last segment is dropped after the probe and retransmitted after an RTO
  int reorder_at = -1;     // segment index k arrives after segment k+1
};

class TcpConn {
 public:
  TcpConn(FlowEmitter& flow, Rng& rng, const TcpProfile& client, const TcpProfile& server, uint64_t rtt,
          uint64_t t0);

  void syn_unanswered(int retransmissions);  // half-open attempt
  void syn_refused();                        // SYN answered by RST/ACK
  void handshake();
  // Side `d` sends `data` `think` ns after it is able to (it has received all it was waiting for).
  void send(Dir d, const Bytes& data, uint64_t think = 0, SendOpts o = {});
  void close(Dir initiator, uint64_t think = 0, bool four_way = false);
  void reset(Dir d, uint64_t think = 0);
  uint64_t last_time() const { return last_; }

 private:
  struct Side {
    TcpProfile prof;
    uint32_t isn = 0, nxt = 0, rcv = 0;
    uint32_t last_ack_sent = 0;
    bool sent_ack = false;
    uint64_t ready = 0;                // earliest capture time of its next packet
    uint64_t pending_ack = 0;          // capture time of a delayed ACK still owed (0: none)
    int unacked = 0;                   // in-order segments received and not yet acknowledged
    std::map<uint32_t, uint32_t> ooo;  // out-of-order segments held: seq -> end
    uint32_t ts_base = 0, ts_recent = 0;
    uint16_t mss_send = 536;
    int cwnd = 10;
  };

  uint64_t turnaround(Dir d) const { return d == c2s ? lan_rtt_ : rtt_; }
  Bytes ts_option(Dir d, uint64_t t);
  Bytes syn_options(Dir d, uint64_t t);
  void syn(Dir d, uint64_t t);
  void segment(Dir d, uint64_t t, uint8_t flags, const Bytes& payload, const Bytes& extra_options = {},
               uint32_t seq_override = 0, bool use_override = false);
  void pure_ack(Dir d, uint64_t t, bool with_sack = false);
  void flush_pending(Dir d, uint64_t before);
  // Receiver side `r` gets the segment [seq, seq+len) at capture time t.
  uint64_t receive(Dir r, uint32_t seq, uint32_t len, uint64_t t);

  FlowEmitter& flow_;
  Rng& rng_;
  Side side_[2];
  bool ts_ok_, sack_ok_, ws_ok_;
  uint64_t rtt_, lan_rtt_, t0_, last_ = 0;
};

}  // namespace netloom::synth
