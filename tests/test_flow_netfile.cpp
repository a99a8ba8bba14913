// The Tstat -N net-file parser (blocks/flow/netfile.hpp).
#include <gtest/gtest.h>

#include <string>

#include "netfile.hpp"
#include "pcap_builder.hpp"

using netloom::ConfigError;
using netloom::flow::NetList;
using netloom::testing::addr;

namespace {

std::string error_of(const std::string& text) {
  try {
    NetList::parse(text, "nets.txt");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

bool in4(const NetList& n, const char* a) { return n.internal(addr(a), 4); }
bool in6(const NetList& n, const char* a) { return n.internal(addr(a), 6); }

}  // namespace

TEST(NetFile, EmptyMeansEverythingInternal) {
  NetList none;
  EXPECT_TRUE(in4(none, "8.8.8.8"));
  EXPECT_TRUE(in6(none, "2a00::1"));
  NetList only_comments = NetList::parse("# nothing\n\n   \n# more\n", "x");
  EXPECT_EQ(only_comments.v4_entries(), 0u);
  EXPECT_TRUE(in4(only_comments, "1.2.3.4"));
}

TEST(NetFile, AllForms) {
  NetList n = NetList::load(std::string(NETLOOM_FLOW_DATA) + "/flow_nets.net");
  EXPECT_EQ(n.v4_entries(), 3u);
  EXPECT_EQ(n.v6_entries(), 1u);
  // a.b.c.d/len
  EXPECT_TRUE(in4(n, "10.1.2.3"));
  EXPECT_FALSE(in4(n, "11.0.0.1"));
  // a.b.c.d/m.m.m.m, network ANDed with the mask
  EXPECT_TRUE(in4(n, "192.168.1.1"));
  EXPECT_TRUE(in4(n, "192.168.1.254"));
  EXPECT_FALSE(in4(n, "192.168.2.1"));
  EXPECT_EQ(n.v4()[1].net, addr("192.168.1.0"));
  // legacy two-line form
  EXPECT_TRUE(in4(n, "172.31.255.255"));
  EXPECT_FALSE(in4(n, "172.32.0.0"));
  // ipv6/len
  EXPECT_TRUE(in6(n, "2001:db8:1::5"));
  EXPECT_FALSE(in6(n, "2001:db9::1"));
}

TEST(NetFile, FamilyWithoutEntriesIsAllInternal) {
  NetList n = NetList::load(std::string(NETLOOM_FLOW_DATA) + "/flow_nets_v4only.net");
  EXPECT_TRUE(in4(n, "130.192.5.5"));
  EXPECT_FALSE(in4(n, "8.8.8.8"));
  EXPECT_TRUE(in6(n, "2a00:1450::1"));  // no IPv6 entry: every IPv6 address is internal
  NetList v6 = NetList::parse("fe80::/10\n", "x");
  EXPECT_TRUE(in4(v6, "8.8.8.8"));
  EXPECT_TRUE(in6(v6, "fe80::1"));
  EXPECT_FALSE(in6(v6, "2a00::1"));
}

TEST(NetFile, PrefixEdges) {
  NetList n = NetList::parse("0.0.0.0/0\n::1/128\n1.2.3.4/32\n", "x");
  EXPECT_TRUE(in4(n, "200.1.1.1"));
  EXPECT_TRUE(in6(n, "::1"));
  EXPECT_FALSE(in6(n, "::2"));
  NetList m = NetList::parse("1.2.3.4/32\n10.0.0.0/9\n", "x");
  EXPECT_TRUE(in4(m, "1.2.3.4"));
  EXPECT_FALSE(in4(m, "1.2.3.5"));
  EXPECT_TRUE(in4(m, "10.127.0.1"));
  EXPECT_FALSE(in4(m, "10.128.0.1"));
}

TEST(NetFile, ErrorsNameFileAndLine) {
  EXPECT_EQ(error_of("10.0.0.0/8\nbanana\n"), "nets.txt:2: 'banana' is not an IPv4 or IPv6 network");
  EXPECT_EQ(error_of("\n# c\n10.0.0.0/33\n"), "nets.txt:3: prefix length '33' is not in 0..32");
  EXPECT_EQ(error_of("10.0.0.0/\n"), "nets.txt:1: prefix length '' is not in 0..32");
  EXPECT_EQ(error_of("2001:db8::/129\n"), "nets.txt:1: prefix length '129' is not in 0..128");
  EXPECT_EQ(error_of("10.0.0.0/255.0.0.300\n"), "nets.txt:1: '255.0.0.300' is not a netmask");
  EXPECT_EQ(error_of("10.0.0.300/8\n"), "nets.txt:1: '10.0.0.300' is not an IPv4 or IPv6 address");
  EXPECT_EQ(error_of("2001:db8::\n"), "nets.txt:1: IPv6 network '2001:db8::' needs a /len prefix length");
  EXPECT_EQ(error_of("10.0.0.0\n\n# c\n11.0.0.0/8\n"),
            "nets.txt:4: '11.0.0.0/8' is not a netmask for the network on line 1");
  EXPECT_EQ(error_of("1.1.1.1/32\n10.0.0.0\n"),
            "nets.txt:2: network without a netmask (expected a netmask on the next line)");
  EXPECT_EQ(error_of("10.0.0.0/8 11.0.0.0/8\n"),
            "nets.txt:1: '10.0.0.0/8 11.0.0.0/8': one network per line expected");
  try {
    NetList::load("/nonexistent/nets.txt");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "/nonexistent/nets.txt: cannot open: No such file or directory");
  }
}
