#include "trace.hpp"

namespace netloom::synth {

std::string endpoint_text(const Endpoint& e) {
  std::string a = e.addr.str();
  if (e.addr.v6) a = "[" + a + "]";
  return a + ":" + std::to_string(e.port);
}

FlowEmitter::FlowEmitter(Trace& trace, const FlowSpec& spec, uint32_t id_seed)
    : trace_(trace), spec_(spec), flow_(static_cast<uint32_t>(trace.flows.size())) {
  FlowInfo info;
  info.l4 = spec.proto == ipproto::tcp ? "TCP" : spec.proto == ipproto::udp ? "UDP" : "ICMP";
  Endpoint c = spec.client, s = spec.server;
  if (spec.proto == ipproto::icmp || spec.proto == ipproto::icmpv6) c.port = s.port = 0;
  info.client = endpoint_text(c);
  info.server = endpoint_text(s);
  info.label = spec.label;
  trace_.flows.push_back(info);
  ip_id_[0] = static_cast<uint16_t>(id_seed);
  ip_id_[1] = static_cast<uint16_t>(id_seed >> 16);
  flow_label_[0] = (id_seed * 2654435761u) & 0xfffff;
  flow_label_[1] = (id_seed * 40503u + 12345u) & 0xfffff;
}

IpParams FlowEmitter::ip_params(Dir d) {
  IpParams p;
  const Endpoint& from = d == c2s ? spec_.client : spec_.server;
  const Endpoint& to = d == c2s ? spec_.server : spec_.client;
  p.src = from.addr;
  p.dst = to.addr;
  p.ttl = from.ttl;
  p.id = ip_id_[d]++;
  p.df = spec_.proto == ipproto::tcp || spec_.proto == ipproto::udp;
  p.flow_label = flow_label_[d];
  return p;
}

void FlowEmitter::push(Dir d, uint64_t t, const Bytes& ip) {
  const Mac& src = d == c2s ? spec_.client_mac : spec_.gateway_mac;
  const Mac& dst = d == c2s ? spec_.gateway_mac : spec_.client_mac;
  // The probe sits on the clients' side: client packets are "outgoing" for SLL.
  Bytes frame = link_frame(trace_.link, spec_.vlan, src, dst, d == c2s, spec_.client.addr.v6, ip);
  trace_.packets.push_back(Packet{t, flow_, std::move(frame)});
}

void FlowEmitter::emit(Dir d, uint64_t t, Bytes l4) {
  IpParams p = ip_params(d);
  fill_l4_checksum(p.src, p.dst, spec_.proto, l4);
  push(d, t, ip_packet(p, spec_.proto, l4));
}

void FlowEmitter::emit_fragmented(Dir d, const std::vector<uint64_t>& times, Bytes udp, size_t mtu_payload) {
  IpParams p = ip_params(d);
  p.df = false;
  fill_l4_checksum(p.src, p.dst, spec_.proto, udp);
  const size_t step = mtu_payload / 8 * 8;
  size_t off = 0;
  for (size_t i = 0; off < udp.size(); ++i) {
    size_t n = std::min(step, udp.size() - off);
    Bytes part(udp.begin() + off, udp.begin() + off + n);
    p.frag_offset = static_cast<uint16_t>(off / 8);
    p.more_fragments = off + n < udp.size();
    push(d, times.at(i), ip_packet(p, spec_.proto, part));
    off += n;
  }
}

}  // namespace netloom::synth
