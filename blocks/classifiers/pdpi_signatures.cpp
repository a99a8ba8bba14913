#include "pdpi_signatures.hpp"

#include <hs.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

namespace netloom::pdpi {
namespace {

[[noreturn]] void fail(const std::string& file, unsigned line, const std::string& what) {
  throw ConfigError(file + ":" + std::to_string(line) + ": " + what);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

template <class T>
bool to_num(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

struct LineParser {
  const std::string& file;
  unsigned line;

  template <class T>
  T number(std::string_view text, std::string_view what, T lo, T hi) {
    T v{};
    if (!to_num(text, v) || v < lo || v > hi)
      fail(file, line,
           "bad " + std::string(what) + " '" + std::string(text) + "' (expected " + std::to_string(lo) +
               ".." + std::to_string(hi) + ")");
    return v;
  }

  void codes(std::string_view text, Signature& s) {
    if (text == "-") return;
    for (auto item : split(text, ',')) {
      auto eq = item.find('=');
      std::string_view key = item.substr(0, eq),
                       val = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      if (key == "udp" && eq != std::string_view::npos)
        s.udp_type = number<std::uint16_t>(val, "udp type", 1, 31);
      else if (key == "con" && eq != std::string_view::npos)
        s.con_type = number<std::uint32_t>(val, "con_t bits", 1, 0x7FFFFFFF);
      else if (key == "p2p" && eq != std::string_view::npos)
        s.p2p_type = number<std::uint16_t>(val, "p2p type", 100, 9999);
      else
        fail(file, line, "unknown code '" + std::string(item) + "' (expected udp=N, con=N, p2p=N or -)");
    }
  }

  void option(std::string_view item, Signature& s) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos) fail(file, line, "unknown option '" + std::string(item) + "'");
    std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "minlen") {
      s.min_len = number<std::uint32_t>(val, "minlen", 0, 65535);
    } else if (key == "maxlen") {
      s.max_len = number<std::uint32_t>(val, "maxlen", 0, 65535);
    } else if (key == "len") {
      for (auto v : split(val, '|')) s.lens.push_back(number<std::uint32_t>(v, "len", 0, 65535));
    } else if (key == "port") {
      for (auto v : split(val, '|')) s.ports.push_back(number<std::uint16_t>(v, "port", 0, 65535));
    } else if (key == "lenmod") {
      auto parts = split(val, ':');
      if (parts.size() != 2) fail(file, line, "lenmod must be BASE:STEP, not '" + std::string(val) + "'");
      s.lenmod_base = number<std::uint32_t>(parts[0], "lenmod base", 0, 65535);
      s.lenmod_step = number<std::uint32_t>(parts[1], "lenmod step", 1, 65535);
    } else if (key == "noport") {
      for (auto v : split(val, '|')) s.noports.push_back(number<std::uint16_t>(v, "port", 0, 65535));
    } else if (key == "lenfield") {
      // OFFSET:be|le:DELTA[|DELTA...]
      auto parts = split(val, ':');
      if (parts.size() != 3 || (parts[1] != "be" && parts[1] != "le"))
        fail(file, line, "lenfield must be OFFSET:be|le:DELTA[|DELTA...], not '" + std::string(val) + "'");
      LenField f;
      f.offset = number<std::uint16_t>(parts[0], "lenfield offset", 0, 65533);
      f.little = parts[1] == "le";
      for (auto d : split(parts[2], '|')) f.deltas.push_back(number<int>(d, "lenfield delta", -65535, 65535));
      s.lenfields.push_back(std::move(f));
    } else {
      fail(file, line, "unknown option '" + std::string(item) + "'");
    }
  }
};

}  // namespace

Dictionary parse(std::string_view text, const std::string& file) {
  Dictionary d;
  d.file = file;
  std::map<std::string, unsigned, std::less<>> names;
  unsigned lineno = 0;
  bool header = false;
  while (!text.empty() || !header) {
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    std::string_view line = trim(raw);
    if (!header) {
      // The first line names the format and its version.
      std::istringstream hs{std::string(line)};
      std::string magic, version, extra;
      hs >> magic >> version >> extra;
      int v = 0;
      if (magic != "netloom-signatures" || !to_num(std::string_view(version), v) || !extra.empty())
        fail(file, lineno, "expected header 'netloom-signatures " + std::to_string(kFormatVersion) + "'");
      if (v != kFormatVersion)
        fail(file, lineno,
             "unsupported signature format version " + version + " (this netloom reads " +
                 std::to_string(kFormatVersion) + ")");
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;

    // Fields before the pattern, separated by blanks; the pattern is the rest of the line.
    std::vector<std::string_view> fields;
    std::string_view rest = line, pattern;
    while (!rest.empty()) {
      if (rest.front() == '/') {
        pattern = rest;
        break;
      }
      std::size_t end = 0;
      while (end < rest.size() && !is_space(rest[end])) ++end;
      fields.push_back(rest.substr(0, end));
      rest = trim(rest.substr(end));
    }
    LineParser lp{file, lineno};
    if (fields.size() < 5) fail(file, lineno, "expected NAME APP L4 DIR CODES [OPTIONS] /REGEX/FLAGS");
    Signature s;
    s.line = lineno;
    s.name = fields[0];
    s.app = fields[1];
    if (auto it = names.find(s.name); it != names.end())
      fail(file, lineno,
           "duplicate signature name '" + s.name + "' (first on line " + std::to_string(it->second) + ")");
    if (fields[2] == "tcp")
      s.l4 = L4::tcp;
    else if (fields[2] == "udp")
      s.l4 = L4::udp;
    else if (fields[2] == "any")
      s.l4 = L4::any;
    else
      fail(file, lineno, "l4 must be tcp, udp or any, not '" + std::string(fields[2]) + "'");
    if (fields[3] == "any")
      s.dir = Dir::any;
    else if (fields[3] == "c2s")
      s.dir = Dir::c2s;
    else if (fields[3] == "s2c")
      s.dir = Dir::s2c;
    else
      fail(file, lineno, "direction must be any, c2s or s2c, not '" + std::string(fields[3]) + "'");
    lp.codes(fields[4], s);
    for (std::size_t i = 5; i < fields.size(); ++i) lp.option(fields[i], s);
    if (pattern.empty()) fail(file, lineno, "missing /REGEX/FLAGS");
    auto close = pattern.rfind('/');
    if (close == 0) fail(file, lineno, "pattern must end with /FLAGS");
    s.pattern = pattern.substr(1, close - 1);
    s.flags_text = pattern.substr(close + 1);
    if (s.pattern.empty()) fail(file, lineno, "empty pattern");
    s.hs_flags = HS_FLAG_SINGLEMATCH;
    for (char c : s.flags_text) {
      if (c == 'i')
        s.hs_flags |= HS_FLAG_CASELESS;
      else if (c == 's')
        s.hs_flags |= HS_FLAG_DOTALL;
      else if (c == 'm')
        s.hs_flags |= HS_FLAG_MULTILINE;
      else
        fail(file, lineno, std::string("unknown regex flag '") + c + "' (allowed: i, s, m)");
    }
    names.emplace(s.name, lineno);
    d.sigs.push_back(std::move(s));
  }
  if (d.sigs.empty()) fail(file, lineno, "no signatures");
  return d;
}

Dictionary load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open signature file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

Database::Database(Dictionary dict) : dict_(std::move(dict)) {
  const std::size_t n = dict_.sigs.size();
  std::vector<const char*> exprs(n);
  std::vector<unsigned> flags(n), ids(n);
  for (std::size_t i = 0; i < n; ++i) {
    exprs[i] = dict_.sigs[i].pattern.c_str();
    flags[i] = dict_.sigs[i].hs_flags;
    ids[i] = static_cast<unsigned>(i);
  }
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(n), HS_MODE_BLOCK,
                       nullptr, &db_, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "compile failed";
    int at = err ? err->expression : -1;
    if (err) hs_free_compile_error(err);
    if (at >= 0 && static_cast<std::size_t>(at) < n)
      fail(dict_.file, dict_.sigs[at].line, "signature '" + dict_.sigs[at].name + "': " + msg);
    throw ConfigError(dict_.file + ": " + msg);
  }
}

Database::~Database() {
  if (db_) hs_free_database(db_);
}

bool Database::constraints_hold(std::size_t i, const PacketView& p) const {
  const Signature& s = dict_.sigs[i];
  if (s.l4 == L4::tcp && p.udp) return false;
  if (s.l4 == L4::udp && !p.udp) return false;
  if (s.dir == Dir::c2s && p.dir != 0) return false;
  if (s.dir == Dir::s2c && p.dir != 1) return false;
  if (p.len < s.min_len || p.len > s.max_len) return false;
  if (!s.lens.empty() && std::find(s.lens.begin(), s.lens.end(), p.len) == s.lens.end()) return false;
  if (!s.ports.empty() && std::find(s.ports.begin(), s.ports.end(), p.sport) == s.ports.end() &&
      std::find(s.ports.begin(), s.ports.end(), p.dport) == s.ports.end())
    return false;
  if (s.lenmod_step && (p.len < s.lenmod_base || (p.len - s.lenmod_base) % s.lenmod_step != 0)) return false;
  for (auto port : s.noports)
    if (p.sport == port || p.dport == port) return false;
  for (const LenField& f : s.lenfields) {
    if (static_cast<std::uint32_t>(f.offset) + 2 > p.len) return false;
    const std::uint8_t* b = p.payload + f.offset;
    const int v = f.little ? (b[0] | b[1] << 8) : (b[0] << 8 | b[1]);
    bool ok = false;
    for (int d : f.deltas) ok = ok || v == static_cast<int>(p.len) + d;
    if (!ok) return false;
  }
  return true;
}

Scanner::Scanner(std::shared_ptr<const Database> db) : db_(std::move(db)) {
  if (hs_alloc_scratch(db_->raw(), &scratch_) != HS_SUCCESS)
    throw ConfigError("hyperscan: cannot allocate scratch");
}

Scanner::~Scanner() {
  if (scratch_) hs_free_scratch(scratch_);
}

int Scanner::match(const PacketView& p) {
  if (p.len == 0) return -1;
  hits_.clear();
  auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) -> int {
    static_cast<std::vector<unsigned>*>(ctx)->push_back(id);
    return 0;
  };
  hs_scan(db_->raw(), reinterpret_cast<const char*>(p.payload), p.len, 0, scratch_, on_match, &hits_);
  int best = -1;
  for (unsigned id : hits_)
    if ((best < 0 || static_cast<int>(id) < best) && db_->constraints_hold(id, p))
      best = static_cast<int>(id);
  return best;
}

}  // namespace netloom::pdpi
