#include "histo_config.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <netloom/error.hpp>
#include <sstream>

#include "histo_defs.hpp"

namespace netloom::histo {
namespace {

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> w;
  std::istringstream in(line);
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

// "24" or "255.255.255.0"; false if neither.
bool parse_mask(const std::string& s, std::uint32_t& mask) {
  if (!s.empty() && s.size() <= 2 &&
      std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    const int len = std::stoi(s);
    if (len > 32) return false;
    mask = len == 0 ? 0 : 0xFFFFFFFFu << (32 - len);
    return true;
  }
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  mask = ntohl(a.s_addr);
  return true;
}

}  // namespace

std::size_t Selection::count() const {
  return static_cast<std::size_t>(std::count(enabled.begin(), enabled.end(), true));
}

Selection select_all() {
  Selection s;
  s.enabled.assign(definitions().size(), true);
  s.adx = true;
  return s;
}

Selection parse_selection(const std::string& text, const std::string& file) {
  const auto& defs = definitions();
  Selection sel;
  sel.enabled.assign(defs.size(), false);
  std::istringstream in(text);
  std::string raw;
  int lineno = 0;
  auto fail = [&](const std::string& what) {
    throw ConfigError(file + ":" + std::to_string(lineno) + ": " + what);
  };
  while (std::getline(in, raw)) {
    ++lineno;
    if (auto h = raw.find('#'); h != std::string::npos) raw.erase(h);
    const std::vector<std::string> w = words(raw);
    if (w.empty()) continue;
    const std::string& kw = w[0];
    if (kw == "include" || kw == "include_matching" || kw == "adx_mask") {
      if (w.size() != 2) fail("'" + kw + "' takes exactly one argument");
    }
    if (kw == "include") {
      const std::string& name = w[1];
      if (name == "ALL") {
        std::fill(sel.enabled.begin(), sel.enabled.end(), true);
        sel.adx = true;
      } else if (name == "ADX") {
        sel.adx = true;
      } else {
        const std::size_t i = find(name);
        if (i == defs.size()) fail("unknown histogram '" + name + "' (see docs/histograms.md)");
        sel.enabled[i] = true;
      }
    } else if (kw == "include_matching") {
      bool any = false;
      for (const Def& d : defs)
        if (d.name.find(w[1]) != std::string::npos) sel.enabled[d.index] = any = true;
      if (!any) fail("no histogram name contains '" + w[1] + "'");
    } else if (kw == "adx_mask") {
      if (!parse_mask(w[1], sel.adx_mask))
        fail("bad adx_mask '" + w[1] + "' (a prefix length 0..32 or a dotted mask)");
    } else if (kw == "adx2_mask" || kw == "adx2_sample" || kw == "adx3_sample") {
      fail("'" + kw + "' is not supported (per-host rate files are not implemented)");
    } else {
      fail("unknown keyword '" + kw + "' (expected include, include_matching or adx_mask)");
    }
  }
  return sel;
}

Selection load_selection(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  return parse_selection(text.str(), path);
}

}  // namespace netloom::histo
