// Target: the FSMDPI state machines (blocks/classifiers/fsmdpi) through their
// harness, on one flow whose segments come from the input.
// Input (fuzz_input.hpp framing): a selector byte, the client and server
// ports (16 bits each), then one record per packet. Selector % 13:
//   0..10  the TCP harness with only that machine enabled (MachineId order:
//          http rtsp smtp pop3 imap tls ssh rtmp msn ymsg xmpp), so the
//          fuzzer can go deep into one machine;
//   11     the TCP harness with every machine (what the block runs);
//   12     the RTP/RTCP search on a UDP flow (UdpFlow), closed at the end.
// TCP record header: bit 0 direction (1 = server to client), bit 1 SYN,
// bit 2 retransmission (the previous segment's sequence number again), bit 3
// a gap of 1460 bytes before it. Sequence numbers otherwise follow the bytes
// sent, from fixed ISNs. Each payload is its own heap copy, freed after the
// packet: a machine that kept a pointer into it would be caught.
#include <bitset>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "fuzz_check.hpp"
#include "fuzz_input.hpp"
#include "harness.hpp"
#include "netloom/l7.hpp"
#include "rtp.hpp"

using namespace netloom;
using namespace netloom::fsmdpi;

namespace {

constexpr int kMaxPackets = 200;

bool one_bit(std::uint32_t v) { return v != 0 && (v & (v - 1)) == 0; }

void run_tcp(const Config& cfg, std::uint16_t server_port, fuzz::Input& in) {
  FlowRecord rec;
  TcpFlow flow;
  Tally tally;
  std::uint32_t next_seq[2] = {1000, 7000000}, last_seq[2] = {1000, 7000000};
  int decisions = 0;
  fuzz::Record r;
  for (int n = 0; n < kMaxPackets && fuzz::next_record(in, r); ++n) {
    const unsigned d = r.header & 1u;
    TcpPacket t;
    t.dir = static_cast<std::uint8_t>(d);
    t.flags = (r.header & 2) ? 0x02 : 0x18;
    if (r.header & 8) next_seq[d] += 1460;
    t.seq = (r.header & 4) ? last_seq[d] : next_seq[d];
    t.ts_ns = 1'000'000'000ull + static_cast<std::uint64_t>(n) * 1'000'000;
    t.server_port = server_port;
    t.payload = r.bytes.empty() ? nullptr : r.bytes.data();
    t.len = static_cast<std::uint32_t>(r.bytes.size());
    last_seq[d] = t.seq;
    next_seq[d] = t.seq + t.len + ((t.flags & 2) ? 1 : 0);
    const bool was_finished = flow.finished();
    const std::optional<Decision> dec = flow.on_packet(cfg, t, rec, tally);
    if (dec) {
      ++decisions;
      FUZZ_CHECK(!was_finished);
      FUZZ_CHECK(one_bit(dec->con));
      FUZZ_CHECK((rec.labels.con_type & dec->con) != 0);
      FUZZ_CHECK(!rec.labels.app.empty());
    }
    FUZZ_CHECK(flow.packets() == static_cast<std::uint32_t>(n + 1));
  }
  FUZZ_CHECK(decisions <= 1);
  FUZZ_CHECK(flow.decided() == (decisions == 1));
}

void run_udp(const Config& cfg, std::uint16_t client_port, std::uint16_t server_port, fuzz::Input& in) {
  FlowRecord rec;
  UdpFlow flow;
  fuzz::Record r;
  for (int n = 0; n < kMaxPackets && fuzz::next_record(in, r); ++n) {
    UdpPacket u;
    u.dir = r.header & 1u;
    u.sport = u.dir ? server_port : client_port;
    u.dport = u.dir ? client_port : server_port;
    u.payload = r.bytes.empty() ? nullptr : r.bytes.data();
    u.len = static_cast<std::uint32_t>(r.bytes.size());
    if (const auto type = flow.on_packet(cfg, u, rec))
      FUZZ_CHECK(*type == l7::udp::RTP || *type == l7::udp::RTCP);
  }
  flow.close(rec);
  for (std::uint16_t t : rec.labels.udp_type) FUZZ_CHECK(t != l7::udp::FIRST_RTP && t != l7::udp::FIRST_RTCP);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::Input in(data, size);
  const unsigned sel = in.u8() % 13u;
  const std::uint16_t client_port = in.u16(), server_port = in.u16();
  Config cfg;
  if (sel == 12) {
    run_udp(cfg, client_port, server_port, in);
    return 0;
  }
  if (sel < kTcpMachines) {
    cfg.tcp_machines.reset();
    cfg.tcp_machines.set(sel);
  }
  run_tcp(cfg, server_port, in);
  return 0;
}
