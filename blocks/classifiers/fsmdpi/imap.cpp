// IMAP (Tstat IMAP_OPENING / IMAP_COMMAND): the server's "* OK" (or
// "* PREAUTH") greeting opens it; the client's first line must be a tagged
// command ("a001 CAPABILITY"); the server's next line, untagged ("* ") or
// carrying that tag, decides IMAP. Tstat looked for the tag's space in
// positions 1-5 only; RFC 3501 tags are longer ("C00000" in the wild).
#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

enum Stage : std::uint8_t { kGreeted = 1, kCommanded = 2 };

bool opens(const Segment& s) { return s.s2c() && (s.starts("* OK") || s.starts("* PREAUTH")); }

bool tag_char(std::uint8_t c) {
  return is_print(c) && c != ' ' && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' &&
         c != '\\' && c != '+';
}

// "tag SP command" with a tag of 1-32 characters and a command of 2+ letters.
std::string tag_of(const Segment& s) {
  std::uint32_t i = 0;
  while (i < s.len && i < 32 && tag_char(s.data[i])) ++i;
  if (i == 0 || i >= s.len || s.data[i] != ' ') return {};
  std::uint32_t c = i + 1, letters = 0;
  while (c < s.len && (is_upper(s.data[c]) || (s.data[c] >= 'a' && s.data[c] <= 'z'))) ++c, ++letters;
  if (letters < 2 || (c < s.len && s.data[c] != ' ' && s.data[c] != '\r' && s.data[c] != '\n')) return {};
  return std::string(s.text().substr(0, i));
}

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  if (st.stage == 0) {  // the opening greeting
    st.stage = kGreeted;
    st.pending = first_line(s);
    return Step::more;
  }
  if (s.c2s()) {
    if (st.stage != kGreeted) return Step::more;  // later client lines: wait for the answer
    st.token = tag_of(s);
    if (st.token.empty()) return Step::give_up;
    st.stage = kCommanded;
    return Step::more;
  }
  if (st.stage != kCommanded) return Step::more;  // more greeting before the client spoke
  const bool tagged = s.len > st.token.size() && s.starts(st.token) && s.data[st.token.size()] == ' ';
  if (!s.starts("* ") && !tagged) return Step::give_up;
  rec.l7.banner[1] = std::move(st.pending);
  out = {l7::con::IMAP, "IMAP", -1};
  return Step::done;
}

}  // namespace

extern const TcpMachine kImapMachine{kImap, "imap", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
