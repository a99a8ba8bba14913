// XMPP (Jabber): a stream opens with an XML declaration and/or
// "<stream:stream" (RFC 6120 §4.2) and carries <iq>, <presence> and
// <message> stanzas. A side whose first bytes start one of these opens the
// machine; "stream:stream" (the stream's header or its closing tag), or a
// Jabber namespace (jabber:..., urn:xmpp:..., jabber.org), decides XMPP.
// Tstat decided on the first bytes "<str"; clients usually send
// "<?xml version='1.0'?>" first, often alone in its segment, and a capture
// that starts mid-connection shows stanzas only.
#include <array>

#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::array<std::string_view, 6> kStarts = {"<?xml", "<stream:stream", "</stream:stream",
                                                     "<iq ",  "<presence",      "<message "};
constexpr std::array<std::string_view, 4> kMarks = {"stream:stream", "jabber:", "urn:xmpp:", "jabber.org/"};

bool opens(const Segment& s) {
  for (std::string_view k : kStarts)
    if (s.starts(k)) return true;
  return false;
}

Step feed(Scratch&, const Segment& s, FlowRecord&, Decision& out, Tally&) {
  const std::string_view t = s.text().substr(0, 1024);
  for (std::string_view m : kMarks)
    if (t.find(m) != std::string_view::npos) {
      out = {l7::con::XMPP, "XMPP", -1};
      return Step::done;
    }
  return Step::more;
}

}  // namespace

extern const TcpMachine kXmppMachine{kXmpp, "xmpp", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
