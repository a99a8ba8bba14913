// Yahoo! Messenger: every message starts with the 20-byte "YMSG" header
// (version, vendor, length, service, status, session id). Like Tstat, the
// first such header from either side decides YMSG; the per-service chat
// statistics Tstat kept are not reproduced.
#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::uint32_t kHeader = 20;

// A whole header with a protocol version below 256 (versions seen: 9-26).
bool opens(const Segment& s) { return s.starts("YMSG") && s.len >= kHeader && s.data[4] == 0; }

Step feed(Scratch&, const Segment&, FlowRecord&, Decision& out, Tally&) {
  out = {l7::con::YMSG, "YMSG", -1};
  return Step::done;
}

}  // namespace

extern const TcpMachine kYmsgMachine{kYmsg, "ymsg", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
