// POP3 (Tstat POP3_OPENING): the server's "+OK" (or "-ERR") greeting opens
// it; the client's first command decides: a POP3 command (RFC 1939, 2449,
// 2595, 5034; any case) is POP3, anything else gives up. Tstat accepted only
// USER/QUIT/APOP within 20 packets; clients open with CAPA or AUTH as often.
#include <array>

#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::array<std::string_view, 14> kCommands = {"user", "pass", "apop", "quit", "capa",
                                                        "auth", "stls", "stat", "list", "uidl",
                                                        "retr", "top",  "noop", "dele"};

bool opens(const Segment& s) {
  return s.s2c() &&
         ((s.starts("+OK") && (s.len == 3 || s.data[3] == ' ' || s.data[3] == '\r')) || s.starts("-ERR"));
}

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  if (s.s2c()) {
    if (st.stage == 0) {
      st.stage = 1;
      st.pending = first_line(s);
    }
    return Step::more;
  }
  if (!command_in(s, kCommands)) return Step::give_up;
  rec.l7.banner[1] = std::move(st.pending);
  out = {l7::con::POP3, "POP3", -1};
  return Step::done;
}

}  // namespace

extern const TcpMachine kPop3Machine{kPop3, "pop3", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
