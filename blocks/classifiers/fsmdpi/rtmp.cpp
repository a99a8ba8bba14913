// RTMP: the handshake's sizes. The client's stream starts with C0 (version
// 03, or 06/08 for RTMPE) followed by the 1536-byte C1 (1537 bytes before the
// server answers); the server's starts with S0 (03/06/08/09/0A) and sends
// S0+S1 (1537) or S0+S1+S2 (3073) before the client speaks again. Tstat set
// its RTMP bit on the first bytes alone and counted a flow as RTMP only with
// these sizes (map_flow_type); netloom needs both for the bit.
#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::uint32_t kC0C1 = 1537, kS0S1S2 = 3073;

bool opens(const Segment& s) {
  const std::uint8_t v = s.data[0];
  return s.c2s() && s.stream_start && s.len <= kC0C1 && (v == 3 || v == 6 || v == 8);
}

Step feed(Scratch& st, const Segment& s, FlowRecord&, Decision& out, Tally&) {
  if (s.c2s()) {
    if (st.stage == 0) {  // C0+C1, possibly in several segments
      st.a += s.len;
      return st.a <= kC0C1 ? Step::more : Step::give_up;
    }
    if (st.b != kC0C1) return Step::give_up;  // the server sent S0+S1 only, the client goes on (C2)
    out = {l7::con::RTMP, "RTMP", -1};
    return Step::done;
  }
  if (st.stage == 0) {
    const std::uint8_t v = s.data[0];
    if (st.a != kC0C1 || !s.stream_start || !(v == 3 || v == 6 || v == 8 || v == 9 || v == 10))
      return Step::give_up;
    st.stage = 1;
  }
  st.b += s.len;
  if (st.b < kS0S1S2) return Step::more;
  if (st.b > kS0S1S2) return Step::give_up;
  out = {l7::con::RTMP, "RTMP", -1};
  return Step::done;
}

}  // namespace

extern const TcpMachine kRtmpMachine{kRtmp, "rtmp", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
