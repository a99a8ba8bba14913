#include "rrd_conf.hpp"

#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

#include "netloom/error.hpp"

namespace netloom::rrd {
namespace {

struct Named {
  std::string_view token;
  StatKind kind;
};
constexpr Named kPlain[] = {{"avg", StatKind::avg}, {"min", StatKind::min},     {"max", StatKind::max},
                            {"var", StatKind::var}, {"stdev", StatKind::stdev}, {"hit", StatKind::hit}};

bool parse_int(std::string_view s, std::int64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool parse_real(std::string_view s, double& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, std::chars_format::fixed);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty() && std::isfinite(out);
}

bool valid_histogram_name(std::string_view n) {
  if (n.empty() || n.size() > kMaxHistogramName) return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

std::vector<std::string_view> split(std::string_view s, std::string_view seps) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find_first_of(seps, i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

class LineParser {
 public:
  LineParser(const std::string& source, int line) : where_(source + ":" + std::to_string(line) + ": ") {}

  [[noreturn]] void fail(const std::string& what) const { throw ConfigError(where_ + what); }

  // One statistic token; appends one or more Stats.
  void parse_token(std::string_view tok, std::vector<Stat>& out) const {
    for (const auto& n : kPlain)
      if (tok == n.token) {
        Stat s;
        s.kind = n.kind;
        out.push_back(finish(s));
        return;
      }
    const bool idx = tok.starts_with("idx:"), prc = tok.starts_with("prc:");
    if (!idx && !prc)
      fail("unknown statistic '" + std::string(tok) +
           "' (expected avg, min, max, var, stdev, hit, idx:i1,i2,...[,other] or prc:p1,p2,...)");
    // Only commas separate list items: an empty item ("idx:1,,2") is an error.
    std::string_view list = tok.substr(4);
    if (list.empty()) fail("'" + std::string(tok) + "' has no values");
    std::size_t start = 0;
    while (true) {
      std::size_t comma = list.find(',', start);
      std::string_view item = list.substr(start, comma == std::string_view::npos ? list.npos : comma - start);
      Stat s;
      if (idx && item == "other") {
        s.kind = StatKind::idx_other;
      } else if (idx) {
        s.kind = StatKind::idx;
        if (!parse_int(item, s.index))
          fail("bad index '" + std::string(item) + "' in '" + std::string(tok) +
               "' (expected integers and 'other')");
      } else {
        s.kind = StatKind::prc;
        if (!parse_real(item, s.percent) || s.percent <= 0 || s.percent > 100)
          fail("bad percentile '" + std::string(item) + "' in '" + std::string(tok) +
               "' (expected a number with 0 < P <= 100)");
      }
      out.push_back(finish(s));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }

 private:
  static Stat finish(Stat s) {
    s.name = stat_name(s);
    return s;
  }
  std::string where_;
};

}  // namespace

std::string stat_name(const Stat& s) {
  switch (s.kind) {
    case StatKind::avg:
      return "avg";
    case StatKind::min:
      return "min";
    case StatKind::max:
      return "max";
    case StatKind::var:
      return "var";
    case StatKind::stdev:
      return "stdev";
    case StatKind::hit:
      return "hit";
    case StatKind::idx:
      return "idx" + std::to_string(s.index);
    case StatKind::idx_other:
      return "idxoth";
    case StatKind::prc:
      break;
  }
  // Tstat writes whole percentiles as integers and others with three decimals.
  char buf[64];
  std::to_chars_result r = s.percent == std::floor(s.percent)
                               ? std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(s.percent))
                               : std::to_chars(buf, buf + sizeof buf, s.percent, std::chars_format::fixed, 3);
  return "prc" + std::string(buf, r.ptr);
}

std::optional<Stat> parse_stat_name(std::string_view name) {
  Stat s;
  s.name = std::string(name);
  for (const auto& n : kPlain)
    if (name == n.token) {
      s.kind = n.kind;
      return s;
    }
  if (name == "idxoth") {
    s.kind = StatKind::idx_other;
    return s;
  }
  if (name.starts_with("idx") && parse_int(name.substr(3), s.index)) {
    s.kind = StatKind::idx;
    return s;
  }
  if (name.starts_with("prc") && parse_real(name.substr(3), s.percent) && s.percent > 0 && s.percent <= 100) {
    s.kind = StatKind::prc;
    return s;
  }
  return std::nullopt;
}

Conf parse_conf(std::string_view text, const std::string& source) {
  Conf conf;
  conf.source = source;
  int line_no = 0;
  for (std::string_view rest = text; !rest.empty();) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    ++line_no;
    if (line.find('#') != std::string_view::npos) continue;  // Tstat: '#' anywhere makes a comment
    std::vector<std::string_view> toks = split(line, " \t\r\v\f");
    if (toks.empty()) continue;
    LineParser lp(source, line_no);
    if (!valid_histogram_name(toks[0]))
      lp.fail("bad histogram name '" + std::string(toks[0]) + "' (letters, digits and '_', at most " +
              std::to_string(kMaxHistogramName) + " characters)");
    for (const auto& h : conf.histograms)
      if (h.histogram == toks[0])
        lp.fail("histogram '" + std::string(toks[0]) + "' is already listed at line " +
                std::to_string(h.line));
    HistogramConf h;
    h.histogram = std::string(toks[0]);
    h.line = line_no;
    for (std::size_t i = 1; i < toks.size(); ++i) {
      std::size_t before = h.stats.size();
      lp.parse_token(toks[i], h.stats);
      // Two statistics with one name would write one file twice per window.
      for (std::size_t k = before; k < h.stats.size(); ++k)
        for (std::size_t j = 0; j < k; ++j)
          if (h.stats[j].name == h.stats[k].name)
            lp.fail("'" + h.stats[k].name + "' is listed twice for histogram '" + h.histogram + "' (in '" +
                    std::string(toks[i]) + "')");
    }
    conf.histograms.push_back(std::move(h));
  }
  return conf;
}

Conf load_conf(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError(path + ": cannot read: " + std::generic_category().message(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse_conf(ss.str(), path);
}

}  // namespace netloom::rrd
