// SSH: an identification string "SSH-protoversion-softwareversion" (RFC 4253
// §4.2) with a complete line decides SSH, from either side; the other side's
// identification is read as its banner when it comes. Tstat opened only on
// the server's "SSH-x.y" and waited for the client's: it missed sessions
// where the client speaks first and servers that answer a client's garbage.
#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

// "SSH-2.0-OpenSSH_8.2p1 Ubuntu\r\n": digits.digits, '-', a software
// version, all printable, ended by LF within 255 bytes.
bool identification(const Segment& s) {
  if (!s.starts("SSH-") || s.len < 9) return false;
  std::uint32_t i = 4;
  if (!is_digit(s.data[i++]) || s.data[i++] != '.' || !is_digit(s.data[i])) return false;
  while (i < s.len && is_digit(s.data[i])) ++i;
  if (i >= s.len || s.data[i] != '-') return false;
  const std::uint32_t soft = ++i;
  for (; i < s.len && i < 255; ++i) {
    const std::uint8_t c = s.data[i];
    if (c == '\r' || c == '\n') return i > soft;
    if (!is_print(c)) return false;
  }
  return false;
}

bool opens(const Segment& s) { return identification(s); }

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  const std::uint8_t bit = static_cast<std::uint8_t>(1u << s.dir);
  if (!(st.seen & bit) && identification(s)) {
    st.seen |= bit;
    rec.l7.banner[s.dir] = first_line(s);
    if (st.stage == 0) {
      st.stage = 1;
      out = {l7::con::SSH, "SSH", -1};
    }
  }
  if (st.seen == 3) return Step::done;
  return s.flow_pkts > 20 ? Step::done : Step::more;
}

}  // namespace

extern const TcpMachine kSshMachine{kSsh, "ssh", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
