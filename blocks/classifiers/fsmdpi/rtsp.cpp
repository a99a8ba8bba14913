// RTSP (Tstat RTSP_COMMAND): a client request line "METHOD uri RTSP/1.x"
// decides RTSP (Tstat opened on DESCRIBE only and waited for the server's
// "RTSP" answer; the request line alone is already unambiguous). The
// server's first status line is kept as its banner.
#include <array>

#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::array<std::string_view, 11> kMethods = {
    "describe ", "setup ",  "play ",          "pause ",         "teardown ", "options ",
    "announce ", "record ", "get_parameter ", "set_parameter ", "redirect "};

bool opens(const Segment& s) {
  if (!s.c2s() || s.len < 16 || !is_upper(s.data[0])) return false;
  bool method = false;
  for (std::string_view m : kMethods)
    if (starts_ci(s, m)) method = true;
  if (!method) return false;
  const std::string_view t = s.text().substr(0, 1024);
  const std::size_t eol = t.find("\r\n");
  if (eol == std::string_view::npos) return false;
  const std::string_view line = t.substr(0, eol);
  const std::size_t v = line.rfind(" RTSP/1.");
  return v != std::string_view::npos && v + 9 == line.size() &&
         is_digit(static_cast<std::uint8_t>(line[v + 8]));
}

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  if (st.stage == 0) {
    st.stage = 1;
    out = {l7::con::RTSP, "RTSP", -1};
  }
  if (s.s2c() && s.starts("RTSP/1.")) {
    rec.l7.banner[1] = first_line(s);
    return Step::done;
  }
  return s.flow_pkts > 20 ? Step::done : Step::more;
}

}  // namespace

extern const TcpMachine kRtspMachine{kRtsp, "rtsp", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
