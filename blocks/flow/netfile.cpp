#include "netfile.hpp"

#include <arpa/inet.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace netloom::flow {
namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n\f\v";
  const auto b = s.find_first_not_of(ws);
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(ws);
  return s.substr(b, e - b + 1);
}

bool parse_v4(const std::string& s, IpAddr& out) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return false;
  out = IpAddr{};
  std::memcpy(out.data(), &a, 4);
  return true;
}

bool parse_v6(const std::string& s, IpAddr& out) {
  in6_addr a{};
  if (inet_pton(AF_INET6, s.c_str(), &a) != 1) return false;
  std::memcpy(out.data(), &a, 16);
  return true;
}

// Decimal 0..max, digits only.
bool parse_len(const std::string& s, int max, int& len) {
  if (s.empty() || s.size() > 3) return false;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  if (v > max) return false;
  len = v;
  return true;
}

IpAddr prefix_mask(int len) {
  IpAddr m{};
  for (int i = 0; i < 16 && len > 0; ++i, len -= 8)
    m[i] = static_cast<std::uint8_t>(len >= 8 ? 0xFF : (0xFF << (8 - len)) & 0xFF);
  return m;
}

NetList::Net make_net(const IpAddr& addr, const IpAddr& mask) {
  NetList::Net n;
  n.mask = mask;
  for (int i = 0; i < 16; ++i) n.net[i] = addr[i] & mask[i];
  return n;
}

}  // namespace

NetList NetList::parse(const std::string& text, const std::string& file) {
  NetList nl;
  std::istringstream in(text);
  std::string raw;
  int lineno = 0;
  int pending_line = 0;  // legacy form: line of a network waiting for its netmask
  IpAddr pending{};
  auto fail = [&](int line, const std::string& what) -> void {
    throw ConfigError(file + ":" + std::to_string(line) + ": " + what);
  };
  while (std::getline(in, raw)) {
    ++lineno;
    std::string line = raw;
    if (auto h = line.find('#'); h != std::string::npos) line.erase(h);
    line = trim(line);
    if (line.empty()) continue;
    if (line.find_first_of(" \t") != std::string::npos)
      fail(lineno, "'" + line + "': one network per line expected");
    if (pending_line) {
      IpAddr mask{};
      if (line.find('/') != std::string::npos || !parse_v4(line, mask))
        fail(lineno,
             "'" + line + "' is not a netmask for the network on line " + std::to_string(pending_line));
      nl.v4_.push_back(make_net(pending, mask));
      pending_line = 0;
      continue;
    }
    const auto slash = line.find('/');
    if (slash == std::string::npos) {
      IpAddr a{};
      if (parse_v4(line, a)) {
        pending = a;
        pending_line = lineno;
        continue;
      }
      if (parse_v6(line, a)) fail(lineno, "IPv6 network '" + line + "' needs a /len prefix length");
      fail(lineno, "'" + line + "' is not an IPv4 or IPv6 network");
    }
    const std::string addr = line.substr(0, slash), suffix = line.substr(slash + 1);
    IpAddr a{};
    if (parse_v4(addr, a)) {
      int len = 0;
      IpAddr mask{};
      if (parse_len(suffix, 32, len)) {
        mask = prefix_mask(len);
      } else if (suffix.find('.') != std::string::npos) {
        if (!parse_v4(suffix, mask)) fail(lineno, "'" + suffix + "' is not a netmask");
      } else {
        fail(lineno, "prefix length '" + suffix + "' is not in 0..32");
      }
      nl.v4_.push_back(make_net(a, mask));
    } else if (parse_v6(addr, a)) {
      int len = 0;
      if (!parse_len(suffix, 128, len)) fail(lineno, "prefix length '" + suffix + "' is not in 0..128");
      nl.v6_.push_back(make_net(a, prefix_mask(len)));
    } else {
      fail(lineno, "'" + addr + "' is not an IPv4 or IPv6 address");
    }
  }
  if (pending_line) fail(pending_line, "network without a netmask (expected a netmask on the next line)");
  return nl;
}

NetList NetList::load(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::ostringstream ss;
  ss << f.rdbuf();
  return parse(ss.str(), path);
}

bool NetList::internal(const IpAddr& a, std::uint8_t ip_version) const noexcept {
  const auto& list = ip_version == 6 ? v6_ : v4_;
  if (list.empty()) return true;
  const int n = ip_version == 6 ? 16 : 4;
  for (const Net& net : list) {
    bool match = true;
    for (int i = 0; i < n && match; ++i) match = (a[i] & net.mask[i]) == net.net[i];
    if (match) return true;
  }
  return false;
}

}  // namespace netloom::flow
