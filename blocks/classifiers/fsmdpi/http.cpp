// HTTP (Tstat HTTP_COMMAND): a client request opens it. A complete request
// line "METHOD target HTTP/1.x" decides HTTP at once, unless the client asks
// for SHOUTcast metadata (Icy-MetaData:), where the server's answer decides:
// "HTTP" is HTTP, "ICY " is ICY. A status line "HTTP/1.x NNN" as the flow's
// first bytes (the capture missed the request) decides HTTP too. Reads the
// first Host: header and the first status code; requests and responses are
// counted by the harness over the whole flow. Tstat decided on the answer
// only: requests never answered were not HTTP.
#include "harness.hpp"
#include "machine.hpp"
#include "netloom/l7.hpp"

namespace netloom::fsmdpi {
namespace {

enum : std::uint8_t { kGet = 0, kPost = 1 };  // Tstat http_content
enum Stage : std::uint8_t { kNone = 0, kRequested = 1, kDecided = 2 };

// The value of header `name` (lower case, with the colon) in the segment, or "".
std::string header_value(const Segment& s, std::string_view name) {
  const std::string_view t = s.text();
  for (std::size_t at = t.find('\n'); at != std::string_view::npos; at = t.find('\n', at + 1)) {
    const std::size_t h = at + 1;
    if (t.size() - h < name.size()) break;
    bool match = true;
    for (std::size_t i = 0; i < name.size() && match; ++i)
      match = lower(static_cast<std::uint8_t>(t[h + i])) == static_cast<std::uint8_t>(name[i]);
    if (!match) continue;
    std::size_t v = h + name.size();
    while (v < t.size() && (t[v] == ' ' || t[v] == '\t')) ++v;
    std::size_t e = v;
    while (e < t.size() && e - v < 255 && is_print(static_cast<std::uint8_t>(t[e]))) ++e;
    if (e == t.size() || (t[e] != '\r' && t[e] != '\n')) return {};  // cut or odd: no value
    return std::string(t.substr(v, e - v));
  }
  return {};
}

// "HTTP/1.1 200 OK": the version, a space, three digits and a space (or the line end).
std::uint16_t status_of(const Segment& s) {
  if (s.len < 12 || !s.starts("HTTP/1.") || !is_digit(s.data[7]) || s.data[8] != ' ') return 0;
  const std::uint8_t* d = s.data + 9;
  if (d[0] < '1' || d[0] > '5' || !is_digit(d[1]) || !is_digit(d[2])) return 0;
  if (s.len > 12 && d[3] != ' ' && d[3] != '\r' && d[3] != '\n') return 0;
  return static_cast<std::uint16_t>((d[0] - '0') * 100 + (d[1] - '0') * 10 + (d[2] - '0'));
}

// The request line ends with " HTTP/1.x" within the segment.
bool request_line_complete(const Segment& s) {
  const std::string_view t = s.text().substr(0, 4096);
  const std::size_t eol = t.find("\r\n");
  if (eol == std::string_view::npos || eol < 9) return false;
  const std::string_view v = t.substr(eol - 9, 9);
  return v.starts_with(" HTTP/1.") && is_digit(static_cast<std::uint8_t>(v[8]));
}

bool opens(const Segment& s) {
  if (s.first_in_flow && status_of(s)) return true;  // an answer whose request the capture missed
  if (!s.c2s() || !is_http_request(s.data, s.len)) return false;
  // The request target follows the method's space: printable, not a space.
  const void* sp = std::memchr(s.data, ' ', s.len);
  const std::uint32_t at = static_cast<std::uint32_t>(static_cast<const std::uint8_t*>(sp) - s.data) + 1;
  return at < s.len && is_print(s.data[at]) && s.data[at] != ' ';
}

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally&) {
  const bool request = s.c2s() && is_http_request(s.data, s.len);
  if (request) {
    if (rec.l7.http_host.empty()) rec.l7.http_host = header_value(s, "host:");
    if (st.stage == kNone) {
      st.stage = kRequested;
      st.a = s.starts("POST") ? kPost : kGet;
      if (request_line_complete(s) && header_value(s, "icy-metadata:").empty()) {
        st.stage = kDecided;
        out = {l7::con::HTTP, "HTTP", static_cast<int>(st.a)};
      }
    }
    return Step::more;
  }
  if (const std::uint16_t status = status_of(s)) {
    if (rec.l7.http_status == 0) rec.l7.http_status = status;
    if (st.stage != kDecided) out = {l7::con::HTTP, "HTTP", static_cast<int>(st.a)};
    return Step::done;
  }
  if (st.stage == kRequested && s.s2c() && s.starts("ICY ")) {
    out = {l7::con::ICY, "ICY", -1};
    return Step::done;
  }
  // Decided on the request: wait for the status code within Tstat's 20 packets.
  return st.stage == kDecided && s.flow_pkts > 20 ? Step::done : Step::more;
}

}  // namespace

extern const TcpMachine kHttpMachine{kHttp, "http", &opens, &feed, 20};

}  // namespace netloom::fsmdpi
