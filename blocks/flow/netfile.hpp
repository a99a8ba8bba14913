// Tstat's -N "internal networks" file: which addresses are inside the
// monitored network. Parsed once at configure time; queried once per flow.
//
// Format (one entry per line; '#' starts a comment; blank lines ignored):
//   a.b.c.d/len          IPv4 prefix, len 0..32
//   a.b.c.d/m.m.m.m      IPv4 network and dotted netmask
//   ipv6/len             IPv6 prefix, len 0..128
//   a.b.c.d              legacy two-line form: the network on one line,
//   m.m.m.m              its dotted netmask on the next entry line
// The network is ANDed with the mask. If the file has no IPv4 entry every
// IPv4 address is internal (likewise for IPv6), as Tstat does.
#pragma once
#include <cstdint>
#include <netloom/netloom.hpp>
#include <string>
#include <vector>

namespace netloom::flow {

class NetList {
 public:
  // Everything internal (no -N file).
  NetList() = default;

  // Parses `text`; errors name `file` and the 1-based line:
  // ConfigError("FILE:LINE: <what is wrong>").
  static NetList parse(const std::string& text, const std::string& file);
  // Reads and parses a file; ConfigError("FILE: cannot open: <reason>").
  static NetList load(const std::string& path);

  // ip_version 4: the first 4 bytes of `a` are the address.
  bool internal(const IpAddr& a, std::uint8_t ip_version) const noexcept;

  std::size_t v4_entries() const noexcept { return v4_.size(); }
  std::size_t v6_entries() const noexcept { return v6_.size(); }

  struct Net {
    IpAddr net{};  // already ANDed with mask
    IpAddr mask{};
  };
  const std::vector<Net>& v4() const noexcept { return v4_; }
  const std::vector<Net>& v6() const noexcept { return v6_; }

 private:
  std::vector<Net> v4_, v6_;
};

}  // namespace netloom::flow
