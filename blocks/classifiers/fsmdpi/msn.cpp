// MSN Messenger (MSNP): command lines "CMD TrID args\r\n" with a 3-letter
// command. A valid line from either side opens it; a "VER n MSNPx" version
// negotiation, a MSG carrying its MIME header, or valid command lines from
// both sides decide MSN. Tstat
// opened on VER/USR/ANS/IRO and decided at once on the server's side; the
// chat statistics Tstat kept (log_chat_*) are not reproduced.
#include <array>

#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::array<std::string_view, 36> kCommands = {
    "VER", "CVR", "USR", "XFR", "PNG", "QNG", "CHL", "QRY", "CAL", "JOI", "RNG", "ANS",
    "IRO", "MSG", "UUM", "UBM", "BYE", "OUT", "SYN", "GCF", "BLP", "PRP", "ADL", "RML",
    "UUX", "UBX", "NLN", "ILN", "FLN", "CHG", "LST", "ADC", "REM", "GTC", "SBS", "NOT"};

bool command_line(const Segment& s) {
  if (s.len < 5 || !is_upper(s.data[0]) || !is_upper(s.data[1]) || !is_upper(s.data[2])) return false;
  bool known = false;
  for (std::string_view c : kCommands)
    if (std::memcmp(s.data, c.data(), 3) == 0) known = true;
  if (!known) return false;
  if (s.data[3] == '\r') return s.data[4] == '\n';
  return s.data[3] == ' ' && is_print(s.data[4]) && s.data[4] != ' ' && line_complete(s);
}

bool version_line(const Segment& s) {
  return s.starts("VER ") && s.text().substr(0, 128).find(" MSNP") != std::string_view::npos;
}

// "MSG TrID ack length\r\nMIME-Version: 1.0": a message with its MIME header
// (unacknowledged messages get no answer from the server).
bool message(const Segment& s) {
  if (!s.starts("MSG ")) return false;
  const std::string_view t = s.text().substr(0, 512);
  const std::size_t eol = t.find("\r\n");
  return eol != std::string_view::npos && t.substr(eol + 2).starts_with("MIME-Version:");
}

bool opens(const Segment& s) { return command_line(s); }

Step feed(Scratch& st, const Segment& s, FlowRecord&, Decision& out, Tally&) {
  if (command_line(s)) st.seen |= static_cast<std::uint8_t>(1u << s.dir);
  if (st.seen == 3 || version_line(s) || message(s)) {
    out = {l7::con::MSN, "MSN", -1};
    return Step::done;
  }
  return Step::more;
}

}  // namespace

extern const TcpMachine kMsnMachine{kMsn, "msn", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
