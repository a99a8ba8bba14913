// Crypto-PAn against the reference sample of the original distribution,
// prefix preservation on random pairs (IPv4 and IPv6), the XOR mask, and the
// translation cache.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "addr_cache.hpp"
#include "cryptopan.hpp"
#include "xor_mask.hpp"

using namespace netloom;
using namespace netloom::privacy;

namespace {

// The key of the Crypto-PAn distribution's sample program (sample.cpp).
const Key kReferenceKey = {21,  34,  23,  141, 51,  164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
                           216, 152, 143, 131, 121, 121, 101, 39,  98, 87, 76, 45, 42, 132, 34,  2};

std::string v4(const char* in, CryptoPan& c) {
  std::uint8_t a[4];
  EXPECT_EQ(inet_pton(AF_INET, in, a), 1) << in;
  c.anonymize(a, 4);
  char out[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, a, out, sizeof out);
  return out;
}

std::string v6(const char* in, CryptoPan& c) {
  std::uint8_t a[16];
  EXPECT_EQ(inet_pton(AF_INET6, in, a), 1) << in;
  c.anonymize(a, 16);
  char out[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, a, out, sizeof out);
  return out;
}

// Leading bits two addresses share.
int common_prefix(const std::uint8_t* a, const std::uint8_t* b, int bytes) {
  for (int i = 0; i < bytes; ++i)
    if (const int x = a[i] ^ b[i]) return i * 8 + __builtin_clz(static_cast<unsigned>(x)) - 24;
  return bytes * 8;
}

}  // namespace

// Address pairs of sample_trace_raw.txt / sample_trace_sanitized.txt from
// the Crypto-PAn 1.0 distribution (every distinct address of the sample).
TEST(CryptoPan, ReferenceSampleIpv4) {
  const std::vector<std::pair<const char*, const char*>> pairs = {
      {"128.11.68.132", "135.242.180.132"},   {"129.118.74.4", "134.136.186.123"},
      {"130.132.252.244", "133.68.164.234"},  {"141.223.7.43", "141.167.8.160"},
      {"141.233.145.108", "141.129.237.235"}, {"152.163.225.39", "151.140.114.167"},
      {"156.29.3.236", "147.225.12.42"},      {"165.247.96.84", "162.9.99.234"},
      {"166.107.77.190", "160.132.178.185"},  {"192.102.249.13", "252.138.62.131"},
      {"192.215.32.125", "252.43.47.189"},    {"192.233.80.103", "252.25.108.8"},
      {"192.41.57.43", "252.222.221.184"},    {"193.150.244.223", "253.169.52.216"},
      {"195.205.63.100", "255.186.223.5"},    {"198.200.171.101", "249.199.68.213"},
      {"198.26.132.101", "249.36.123.202"},   {"198.36.213.5", "249.7.21.132"},
      {"198.51.77.238", "249.18.186.254"},    {"199.217.79.101", "248.38.184.213"},
      {"202.49.198.20", "245.206.7.234"},     {"203.12.160.252", "244.248.163.4"},
      {"204.184.162.189", "243.192.77.90"},   {"204.202.136.230", "243.178.4.198"},
      {"204.29.20.4", "243.33.20.123"},       {"205.178.38.67", "242.108.198.51"},
      {"205.188.147.153", "242.96.16.101"},   {"205.188.248.25", "242.96.88.27"},
      {"205.245.121.43", "242.21.121.163"},   {"207.105.49.5", "241.118.205.138"},
      {"207.135.65.238", "241.202.129.222"},  {"207.155.9.214", "241.220.250.22"},
      {"207.188.7.45", "241.255.249.220"},    {"207.25.71.27", "241.33.119.156"},
      {"207.33.151.131", "241.1.233.131"},    {"208.147.89.59", "227.237.98.191"},
      {"208.234.120.210", "227.154.67.17"},   {"208.28.185.184", "227.39.94.90"},
      {"208.52.56.122", "227.8.63.165"},      {"209.12.231.7", "226.243.167.8"},
      {"209.238.72.3", "226.6.119.243"},      {"209.246.74.109", "226.22.124.76"},
      {"209.68.60.238", "226.184.220.233"},   {"209.85.249.6", "226.170.70.6"},
      {"212.120.124.31", "228.135.163.231"},  {"212.146.8.236", "228.19.4.234"},
      {"212.186.227.154", "228.59.98.98"},    {"212.204.172.118", "228.71.195.169"},
      {"212.206.130.201", "228.69.242.193"},  {"216.148.237.145", "235.84.194.111"},
      {"216.157.30.252", "235.89.31.26"},     {"216.184.159.48", "235.96.225.78"},
      {"216.227.10.221", "235.28.253.36"},    {"216.254.18.172", "235.7.16.162"},
      {"216.32.132.250", "235.192.139.38"},   {"216.35.217.178", "235.195.157.81"},
      {"24.0.250.221", "100.15.198.226"},     {"24.13.62.231", "100.2.192.247"},
      {"24.14.213.138", "100.1.42.141"},      {"24.5.0.80", "100.9.15.210"},
      {"24.7.198.88", "100.10.6.25"},         {"24.94.26.44", "100.88.228.35"},
      {"38.15.67.68", "64.3.66.187"},         {"4.3.88.225", "124.60.155.63"},
      {"63.14.55.111", "95.9.215.7"},         {"63.195.241.44", "95.179.238.44"},
      {"63.97.7.140", "95.97.9.123"},         {"64.14.118.196", "0.255.183.58"},
      {"64.34.154.117", "0.221.154.117"},     {"64.39.15.238", "0.219.7.41"},
      {"10.185.25.118", "117.161.29.118"},
  };
  ASSERT_EQ(pairs.size(), 71u);
  CryptoPan c(kReferenceKey);
  for (const auto& [in, out] : pairs) EXPECT_EQ(v4(in, c), out) << in;
  // The host-order interface of the reference implementation gives the same.
  EXPECT_EQ(c.anonymize_v4(0x800B4484u), 0x87F2B484u);  // 128.11.68.132 -> 135.242.180.132
}

// The 128-bit extension has no published reference; these are the outputs
// of an independent implementation of the same construction (Yawning
// Angel's Go cryptopan, its test vectors for the same key).
TEST(CryptoPan, Ipv6MatchesAnIndependentImplementation) {
  CryptoPan c(kReferenceKey);
  EXPECT_EQ(v6("::1", c), "78ff:f001:9fc0:20df:8380:b1f1:704:ed");
  EXPECT_EQ(v6("::2", c), "78ff:f001:9fc0:20df:8380:b1f1:704:ef");
  EXPECT_EQ(v6("::ffff", c), "78ff:f001:9fc0:20df:8380:b1f1:704:f838");
  EXPECT_EQ(v6("2001:db8::1", c), "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1e");
  EXPECT_EQ(v6("2001:db8::2", c), "4401:2bc:603f:d91d:27f:ff8e:e6f1:dc1c");
}

TEST(CryptoPan, AnotherKeyGivesOtherAddresses) {
  Key k = kReferenceKey;
  k[0] ^= 1;  // the AES key
  CryptoPan a(k);
  EXPECT_NE(v4("128.11.68.132", a), "135.242.180.132");
  k = kReferenceKey;
  k[31] ^= 1;  // the pad
  CryptoPan b(k);
  EXPECT_NE(v4("128.11.68.132", b), "135.242.180.132");
}

// Pairs sharing exactly k leading bits (k uniform over every length) map to
// pairs sharing exactly k leading bits.
void check_prefix_preservation(int bytes, int pairs) {
  std::mt19937_64 rng(bytes * 7919);
  CryptoPan c(kReferenceKey);
  const int bits = bytes * 8;
  int by_len_seen = 0;
  std::vector<bool> seen(static_cast<std::size_t>(bits), false);
  for (int n = 0; n < pairs; ++n) {
    std::uint8_t a[16], b[16];
    for (int i = 0; i < bytes; ++i) a[i] = static_cast<std::uint8_t>(rng());
    const int k = static_cast<int>(rng() % static_cast<unsigned>(bits));
    // b: a's first k bits, bit k flipped, random after.
    for (int i = 0; i < bytes; ++i) b[i] = static_cast<std::uint8_t>(rng());
    for (int i = 0; i < k; ++i) {
      const std::uint8_t m = static_cast<std::uint8_t>(0x80 >> (i % 8));
      b[i / 8] = static_cast<std::uint8_t>((b[i / 8] & ~m) | (a[i / 8] & m));
    }
    const std::uint8_t m = static_cast<std::uint8_t>(0x80 >> (k % 8));
    b[k / 8] = static_cast<std::uint8_t>((b[k / 8] & ~m) | (~a[k / 8] & m));
    ASSERT_EQ(common_prefix(a, b, bytes), k);
    c.anonymize(a, bytes);
    c.anonymize(b, bytes);
    ASSERT_EQ(common_prefix(a, b, bytes), k) << "pair " << n;
    if (!seen[static_cast<std::size_t>(k)]) ++by_len_seen, seen[static_cast<std::size_t>(k)] = true;
  }
  EXPECT_EQ(by_len_seen, bits);  // every prefix length was exercised
}

TEST(CryptoPan, PreservesPrefixesIpv4) { check_prefix_preservation(4, 4000); }
TEST(CryptoPan, PreservesPrefixesIpv6) { check_prefix_preservation(16, 3000); }

TEST(CryptoPan, IsOneToOneOnASlash16) {
  CryptoPan c(kReferenceKey);
  std::vector<bool> hit(65536, false);
  std::uint8_t prefix[2] = {0, 0};
  for (unsigned x = 0; x < 65536; ++x) {
    std::uint8_t a[4] = {192, 168, static_cast<std::uint8_t>(x >> 8), static_cast<std::uint8_t>(x)};
    c.anonymize(a, 4);
    // The /16 maps onto one /16 (prefix preservation), one to one.
    if (x == 0) prefix[0] = a[0], prefix[1] = a[1];
    ASSERT_EQ(a[0], prefix[0]);
    ASSERT_EQ(a[1], prefix[1]);
    const unsigned y = unsigned{a[2]} << 8 | a[3];
    ASSERT_FALSE(hit[y]) << x;
    hit[y] = true;
  }
}

TEST(XorMask, FlipsTheMaskedBitsOfTheBigEndianAddress) {
  XorMask m(0x000000FF);
  std::uint8_t a[4] = {10, 1, 2, 3};
  m.apply(a);
  EXPECT_EQ(a[0], 10);
  EXPECT_EQ(a[3], 3 ^ 0xFF);
  XorMask m2(0x0A0B0C0D);
  std::uint8_t b[4] = {1, 2, 3, 4};
  m2.apply(b);
  EXPECT_EQ(b[0], 1 ^ 0x0A);
  EXPECT_EQ(b[1], 2 ^ 0x0B);
  EXPECT_EQ(b[2], 3 ^ 0x0C);
  EXPECT_EQ(b[3], 4 ^ 0x0D);
  m2.apply(b);  // its own inverse
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
}

TEST(AddrCache, KeepsTheMostRecentlyUsed) {
  auto ip = [](std::uint8_t last) {
    IpAddr a{};
    a[0] = 10, a[3] = last;
    return a;
  };
  AddrCache c(2);
  c.insert(ip(1), 4, ip(101));
  c.insert(ip(2), 4, ip(102));
  ASSERT_NE(c.find(ip(1), 4), nullptr);  // 1 becomes the most recent
  c.insert(ip(3), 4, ip(103));           // drops 2
  EXPECT_EQ(c.size(), 2u);
  EXPECT_EQ(c.find(ip(2), 4), nullptr);
  ASSERT_NE(c.find(ip(1), 4), nullptr);
  EXPECT_EQ((*c.find(ip(1), 4))[3], 101);
  EXPECT_EQ((*c.find(ip(3), 4))[3], 103);
  // The version is part of the key: the same 16 bytes as IPv6 are another address.
  EXPECT_EQ(c.find(ip(1), 6), nullptr);
  AddrCache none(0);
  none.insert(ip(1), 4, ip(101));
  EXPECT_EQ(none.find(ip(1), 4), nullptr);
  EXPECT_EQ(none.size(), 0u);
}

// Figures for docs/privacy.md (run with --gtest_also_run_disabled_tests).
TEST(CryptoPan, DISABLED_Throughput) {
  CryptoPan c(kReferenceKey);
  auto time_it = [](auto&& body, int n) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) body(i);
    return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / n;
  };
  std::uint32_t sink = 0;
  const double v4ns = time_it(
      [&](int i) {
        std::uint8_t a[4] = {10, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                             static_cast<std::uint8_t>(i)};
        c.anonymize(a, 4);
        sink += a[3];
      },
      200000);
  const double v6ns = time_it(
      [&](int i) {
        std::uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
        a[13] = static_cast<std::uint8_t>(i >> 16), a[14] = static_cast<std::uint8_t>(i >> 8),
        a[15] = static_cast<std::uint8_t>(i);
        c.anonymize(a, 16);
        sink += a[15];
      },
      50000);
  AddrCache cache(130000);
  IpAddr x{};
  for (std::uint8_t i = 0; i < 255; ++i) x[3] = i, cache.insert(x, 4, x);
  const double hitns = time_it(
      [&](int i) {
        x[3] = static_cast<std::uint8_t>(i % 255);
        sink += (*cache.find(x, 4))[3];
      },
      2000000);
  std::printf("Crypto-PAn IPv4 %.0f ns/address (%.2f M/s), IPv6 %.0f ns/address, cache hit %.1f ns (%u)\n",
              v4ns, 1e3 / v4ns, v6ns, hitns, sink & 1);
}
