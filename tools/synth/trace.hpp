// The synthesized capture in memory: flows (ground truth) and their frames,
// plus the per-flow emitter that turns L4 messages into link-layer frames.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frame.hpp"

namespace netloom::synth {

constexpr uint64_t kMs = 1000000;  // nanoseconds
constexpr uint64_t kUs = 1000;
constexpr uint64_t kSec = 1000000000;

struct Packet {
  uint64_t t_ns;  // relative to the start of the trace (or of a scenario, while building)
  uint32_t flow;
  Bytes frame;
};

struct FlowInfo {
  std::string l4;      // TCP, UDP, ICMP
  std::string client;  // ip:port ([ip]:port for IPv6); the sender of the flow's first packet
  std::string server;
  std::string label;  // HTTP, TLS, SSH, SMTP, DNS, QUIC, NTP, ICMP, Unknown
  uint64_t packets = 0;
  uint64_t bytes = 0;  // whole frames
};

struct Trace {
  LinkType link = LinkType::ethernet;
  std::vector<FlowInfo> flows;
  std::vector<Packet> packets;
};

enum Dir { c2s = 0, s2c = 1 };
inline Dir other(Dir d) { return d == c2s ? s2c : c2s; }

// One side of a flow as seen on the wire.
struct Endpoint {
  Addr addr;
  uint16_t port = 0;
  uint8_t ttl = 64;  // as observed at the capture point
};

struct FlowSpec {
  uint8_t proto = ipproto::tcp;
  Endpoint client, server;
  std::string label = "Unknown";
  uint16_t vlan = 0;  // 802.1Q tag of the client's segment (Ethernet captures only)
  Mac client_mac{}, gateway_mac{};
};

// Emits the packets of one flow into a Trace.
class FlowEmitter {
 public:
  FlowEmitter(Trace& trace, const FlowSpec& spec, uint32_t id_seed);
  const FlowSpec& spec() const { return spec_; }
  // Sends a complete L4 message (header + payload, checksum filled here).
  void emit(Dir d, uint64_t t, Bytes l4);
  // Sends a UDP datagram as IPv4 fragments whose payloads are at most `mtu_payload` bytes
  // (rounded down to 8), the i-th fragment at times[i].
  void emit_fragmented(Dir d, const std::vector<uint64_t>& times, Bytes udp, size_t mtu_payload);

 private:
  IpParams ip_params(Dir d);
  void push(Dir d, uint64_t t, const Bytes& ip);

  Trace& trace_;
  FlowSpec spec_;
  uint32_t flow_;
  uint16_t ip_id_[2];
  uint32_t flow_label_[2];
};

std::string endpoint_text(const Endpoint& e);

}  // namespace netloom::synth
