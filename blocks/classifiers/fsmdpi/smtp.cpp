// SMTP (Tstat SMTP_OPENING): the server's "220" greeting opens it; the
// client's first command decides: HELO/EHLO (any case) is SMTP, anything
// else (an FTP server greets with "220" too, then sees USER) gives up.
// Tstat accepted only "220 " and waited 20 packets for HELO/EHLO; netloom
// also takes a multi-line "220-" greeting and decides on the first command.
#include <array>

#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::array<std::string_view, 2> kHello = {"helo", "ehlo"};

bool opens(const Segment& s) { return s.s2c() && (s.starts("220 ") || s.starts("220-")); }

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  if (s.s2c()) {
    if (st.stage == 0) {
      st.stage = 1;
      st.pending = first_line(s);
    }
    return Step::more;
  }
  if (!command_in(s, kHello)) return Step::give_up;
  rec.l7.banner[1] = std::move(st.pending);
  out = {l7::con::SMTP, "SMTP", -1};
  return Step::done;
}

}  // namespace

extern const TcpMachine kSmtpMachine{kSmtp, "smtp", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
