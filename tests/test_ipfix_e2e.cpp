// IPFIX end to end through the netloom command:
//  1. nfcapd round trip: compositions/probe-ipfix.xml exports to nfdump's
//     nfcapd (over UDP, and over TCP through a small TCP-to-UDP relay, since
//     nfcapd 1.7 listens on UDP only); `nfdump -r` must show the same flows,
//     packets and bytes as the probe's own flow log of the same run.
//  2. probe -> collector: the same probe exports to compositions/collector.xml
//     (IPFIXSource -> LogSink) in another process; the collector's flow log
//     equals the probe's, field by field, for every field IPFIX carries.
// Inputs: a capture this test builds (no corpus needed), data/demo.pcap, and
// the dev corpus when it is there (skipped with a message otherwise).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "corpus.hpp"
#include "loopback_port.hpp"
#include "pcap_builder.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using netloom::test::free_port;
using netloom::test::run;

namespace {

const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;
using Clock = std::chrono::steady_clock;

struct TempDir {
  fs::path p;
  TempDir() {
    p = fs::temp_directory_path() / ("netloom-ipfix-" + std::to_string(::getpid()) + "-" +
                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(p);
    fs::create_directories(p);
  }
  // Kept after a failure, or with NETLOOM_TEST_KEEP set, to look at.
  ~TempDir() {
    if (!::testing::Test::HasFailure() && !std::getenv("NETLOOM_TEST_KEEP")) fs::remove_all(p);
  }
  std::string operator/(const std::string& f) const { return (p / f).string(); }
};

std::string find_program(const char* name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(ss, dir, ':');) {
    const fs::path p = fs::path(dir) / name;
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

// Whether something has bound 127.0.0.1:port (TCP: listens on it), from /proc/net.
bool port_bound(std::uint16_t port, bool tcp) {
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", port);
  std::ifstream f(tcp ? "/proc/net/tcp" : "/proc/net/udp");
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, state;
    ls >> sl >> local >> remote >> state;
    if (local.size() > 5 && local.substr(local.size() - 5) == want && (!tcp || state == "0A")) return true;
  }
  return false;
}
// Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port.
std::uint64_t udp_queued(std::uint16_t port) {
  char want[16];
  std::snprintf(want, sizeof want, ":%04X", port);
  std::ifstream f("/proc/net/udp");
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::string sl, local, remote, state, queues;
    ls >> sl >> local >> remote >> state >> queues;  // queues: tx_queue:rx_queue, hex
    if (local.size() > 5 && local.substr(local.size() - 5) == want && queues.size() == 17)
      return std::stoull(queues.substr(9), nullptr, 16);
  }
  return 0;
}
// Until the receiver has read every datagram sent to it (at most `timeout`).
void wait_udp_drained(std::uint16_t port, std::chrono::milliseconds timeout = 30000ms) {
  const auto end = Clock::now() + timeout;
  while (udp_queued(port) > 0 && Clock::now() < end) std::this_thread::sleep_for(10ms);
}

bool wait_bound(std::uint16_t port, bool tcp, std::chrono::milliseconds timeout = 30000ms) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (port_bound(port, tcp)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}
// Whether the child has exited, without reaping it (run() does that).
bool exited(pid_t pid) {
  siginfo_t info{};
  return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == pid;
}

// ---- the capture this test builds ---------------------------------------------

using netloom::testing::Bytes;
namespace tb = netloom::testing;

struct Packet {
  std::uint64_t ns;
  Bytes frame;
};

// Classic pcap with nanosecond timestamps, so flows start at sub-millisecond times.
void write_pcap_ns(const std::string& path, std::vector<Packet> pkts) {
  std::stable_sort(pkts.begin(), pkts.end(), [](const Packet& a, const Packet& b) { return a.ns < b.ns; });
  Bytes h;
  tb::put32le(h, 0xA1B23C4D);
  h.push_back(2), h.push_back(0), h.push_back(4), h.push_back(0);
  tb::put32le(h, 0);
  tb::put32le(h, 0);
  tb::put32le(h, 262144);
  tb::put32le(h, tb::kDltEthernet);
  for (const Packet& p : pkts) {
    tb::put32le(h, static_cast<std::uint32_t>(p.ns / 1'000'000'000));
    tb::put32le(h, static_cast<std::uint32_t>(p.ns % 1'000'000'000));
    tb::put32le(h, static_cast<std::uint32_t>(p.frame.size()));
    tb::put32le(h, static_cast<std::uint32_t>(p.frame.size()));
    tb::append(h, p.frame);
  }
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(h.data()), std::streamsize(h.size()));
}

Bytes text(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes ip_frame(bool v6, const std::string& src, const std::string& dst, std::uint8_t proto, const Bytes& l4) {
  return v6 ? tb::eth(tb::kEtherIpv6, tb::ipv6(src, dst, proto, l4))
            : tb::eth(tb::kEtherIpv4, tb::ipv4(src, dst, proto, l4));
}

struct Expected {
  std::string proto, c_ip, s_ip;
  unsigned c_port, s_port;
  std::uint64_t c_pkts, s_pkts, c_bytes, s_bytes;
};

// A TCP connection: handshake, request/response exchanges, FIN both ways.
void tcp_flow(std::vector<Packet>& out, std::vector<Expected>& exp, std::uint64_t t, bool v6,
              const std::string& c, const std::string& s, std::uint16_t cp, std::uint16_t sp,
              const std::vector<std::pair<Bytes, Bytes>>& talk) {
  std::uint32_t cs = 1000, ss = 50000;
  std::uint64_t cpk = 0, spk = 0, cb = 0, sb = 0;
  const std::uint64_t gap = 1'234'567;  // ns between packets
  auto c2s = [&](std::uint8_t flags, const Bytes& pl) {
    out.push_back({t, ip_frame(v6, c, s, tb::kIpTcp, tb::tcp(cp, sp, flags, pl, 0, cs, ss))});
    t += gap;
    ++cpk;
    cb += pl.size();
    cs += static_cast<std::uint32_t>(pl.size()) + ((flags & (tb::kTcpSyn | tb::kTcpFin)) ? 1 : 0);
  };
  auto s2c = [&](std::uint8_t flags, const Bytes& pl) {
    out.push_back({t, ip_frame(v6, s, c, tb::kIpTcp, tb::tcp(sp, cp, flags, pl, 0, ss, cs))});
    t += gap;
    ++spk;
    sb += pl.size();
    ss += static_cast<std::uint32_t>(pl.size()) + ((flags & (tb::kTcpSyn | tb::kTcpFin)) ? 1 : 0);
  };
  c2s(tb::kTcpSyn, {});
  s2c(tb::kTcpSyn | tb::kTcpAck, {});
  c2s(tb::kTcpAck, {});
  for (const auto& [req, resp] : talk) {
    c2s(tb::kTcpAck | tb::kTcpPsh, req);
    if (!resp.empty()) s2c(tb::kTcpAck | tb::kTcpPsh, resp);
  }
  c2s(tb::kTcpAck | tb::kTcpFin, {});
  s2c(tb::kTcpAck | tb::kTcpFin, {});
  c2s(tb::kTcpAck, {});
  exp.push_back({"tcp", c, s, cp, sp, cpk, spk, cb, sb});
}

Bytes dns_query(std::uint16_t id, bool response) {
  Bytes b;
  tb::put16(b, id);
  tb::put16(b, response ? 0x8180 : 0x0100);
  tb::put16(b, 1);
  tb::put16(b, response ? 1 : 0);
  tb::put16(b, 0);
  tb::put16(b, 0);
  for (const char* label : {"example", "test"}) {
    b.push_back(static_cast<std::uint8_t>(std::strlen(label)));
    for (const char* p = label; *p; ++p) b.push_back(static_cast<std::uint8_t>(*p));
  }
  b.push_back(0);
  tb::put16(b, 1);
  tb::put16(b, 1);
  if (response) {
    tb::put16(b, 0xc00c);
    tb::put16(b, 1);
    tb::put16(b, 1);
    tb::put32(b, 300);
    tb::put16(b, 4);
    tb::put32(b, 0xc0000201);
  }
  return b;
}

void udp_flow(std::vector<Packet>& out, std::vector<Expected>& exp, std::uint64_t t, bool v6,
              const std::string& c, const std::string& s, std::uint16_t cp, std::uint16_t sp, int exchanges,
              bool one_way) {
  std::uint64_t cpk = 0, spk = 0, cb = 0, sb = 0;
  for (int i = 0; i < exchanges; ++i) {
    const bool dns = sp == 53;
    const Bytes q = dns ? dns_query(static_cast<std::uint16_t>(0x100 + i), false) : tb::filler(100 + 17 * i);
    out.push_back({t, ip_frame(v6, c, s, tb::kIpUdp, tb::udp(cp, sp, q))});
    t += 2'345'678;
    ++cpk;
    cb += q.size();
    if (one_way) continue;
    const Bytes a = dns ? dns_query(static_cast<std::uint16_t>(0x100 + i), true) : tb::filler(300 + 5 * i);
    out.push_back({t, ip_frame(v6, s, c, tb::kIpUdp, tb::udp(sp, cp, a))});
    t += 3'456'789;
    ++spk;
    sb += a.size();
  }
  exp.push_back({"udp", c, s, cp, sp, cpk, spk, cb, sb});
}

// 10 TCP and 8 UDP flows over IPv4 and IPv6, start times with sub-ms parts.
std::vector<Expected> build_capture(const std::string& path) {
  std::vector<Packet> pk;
  std::vector<Expected> exp;
  std::uint64_t t = 1700000000'123456789ull;
  auto next = [&] { return t += 371'234'567; };
  const std::string get =
      "GET /index.html HTTP/1.1\r\nHost: example.test\r\nUser-Agent: netloom-test\r\n\r\n";
  const std::string ok = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
  tcp_flow(pk, exp, next(), false, "10.1.0.1", "192.0.2.80", 40001, 80, {{text(get), text(ok)}});
  tcp_flow(pk, exp, next(), false, "10.1.0.2", "192.0.2.80", 40002, 80,
           {{text(get), text(ok)}, {text(get), text(ok)}});
  tcp_flow(pk, exp, next(), true, "2001:db8:1::1", "2001:db8:2::80", 40003, 80, {{text(get), text(ok)}});
  for (int i = 0; i < 4; ++i)
    tcp_flow(pk, exp, next(), i % 2, i % 2 ? "2001:db8:1::2" : "10.1.0.3",
             i % 2 ? "2001:db8:2::99" : "198.51.100.9", static_cast<std::uint16_t>(41000 + i), 9000,
             {{tb::filler(200 + i), tb::filler(1000 + 7 * i)}, {tb::filler(10), {}}});
  for (int i = 0; i < 3; ++i)  // interleaved with each other
    tcp_flow(pk, exp, t + 1000 * static_cast<std::uint64_t>(i), false, "10.1.0.4", "203.0.113.5",
             static_cast<std::uint16_t>(42000 + i), 22, {{tb::filler(40), tb::filler(60)}});
  next();
  udp_flow(pk, exp, next(), false, "10.1.0.5", "192.0.2.53", 53001, 53, 1, false);
  udp_flow(pk, exp, next(), false, "10.1.0.5", "192.0.2.53", 53002, 53, 3, false);
  udp_flow(pk, exp, next(), true, "2001:db8:1::5", "2001:db8:2::53", 53003, 53, 2, false);
  udp_flow(pk, exp, next(), false, "10.1.0.6", "198.51.100.7", 5000, 6000, 5, false);
  udp_flow(pk, exp, next(), true, "2001:db8:1::6", "2001:db8:2::7", 5001, 6001, 4, false);
  udp_flow(pk, exp, next(), false, "10.1.0.7", "198.51.100.8", 5002, 6002, 6, true);  // one way
  udp_flow(pk, exp, next(), true, "2001:db8:1::7", "2001:db8:2::8", 5003, 6003, 1, true);
  udp_flow(pk, exp, next(), false, "10.1.0.8", "198.51.100.9", 5004, 6004, 2, false);
  write_pcap_ns(path, std::move(pk));
  return exp;
}

std::string demo_pcap() { return kSrc + "/data/demo.pcap"; }

std::string dev_captures() {
  const fs::path dev = netloom::test::corpus_root() / "dev";
  if (!fs::is_directory(dev)) return "";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(dev)) {
    const auto ext = e.path().extension();
    if (ext == ".pcap" || ext == ".pcapng") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::string joined;
  for (const auto& f : files) joined += (joined.empty() ? "" : ",") + f;
  return joined;
}

// ---- flow logs -------------------------------------------------------------------

// One JSON line of LogSink: field -> raw JSON text of the value.
using Row = std::map<std::string, std::string>;

Row parse_json_line(const std::string& line) {
  Row row;
  std::size_t i = 1;                        // after '{'
  auto skip_string = [&](std::size_t at) {  // at: the opening quote; returns past the closing one
    std::size_t k = at + 1;
    while (k < line.size() && line[k] != '"') k += line[k] == '\\' ? 2 : 1;
    return k + 1;
  };
  while (i < line.size() && line[i] != '}') {
    const std::size_t key_end = skip_string(i);
    const std::string key = line.substr(i + 1, key_end - i - 2);
    std::size_t v = key_end + 1;  // past ':'
    std::size_t e = line[v] == '"' ? skip_string(v) : line.find_first_of(",}", v);
    row[key] = line.substr(v, e - v);
    i = line[e] == ',' ? e + 1 : e;
  }
  return row;
}

std::vector<Row> read_logs(const fs::path& dir) {
  std::vector<Row> rows;
  for (const char* name : {"log_tcp_complete.jsonl", "log_tcp_nocomplete.jsonl", "log_udp_complete.jsonl"}) {
    std::ifstream f(dir / name);
    for (std::string line; std::getline(f, line);) {
      if (line.empty()) continue;
      Row r = parse_json_line(line);
      r["log"] = name;
      rows.push_back(std::move(r));
    }
  }
  return rows;
}

std::string unquote(const std::string& v) {
  return v.size() >= 2 && v.front() == '"' ? v.substr(1, v.size() - 2) : v;
}
double num(const Row& r, const char* k) { return std::stod(r.at(k)); }

// A flow's start in ms since the epoch: TCP "first", UDP the earlier direction.
double start_ms(const Row& r) {
  if (unquote(r.at("proto")) == "tcp") return num(r, "first");
  double c = num(r, "c_first_abs"), s = num(r, "s_first_abs");
  if (c == 0) return s;
  if (s == 0) return c;
  return std::min(c, s);
}

std::string key5(const Row& r) {
  return unquote(r.at("proto")) + " " + unquote(r.at("c_ip")) + " " + r.at("c_port") + " " +
         unquote(r.at("s_ip")) + " " + r.at("s_port");
}

// ---- nfcapd round trip --------------------------------------------------------

struct NfFlow {
  double start_ms;
  std::uint64_t ipkt, ibyt, opkt, obyt;
  bool used = false;
};

std::map<std::string, std::vector<NfFlow>> read_nfdump(const std::string& nfdump, const std::string& dir,
                                                       std::size_t& count, std::string& raw) {
  auto r = run({nfdump, "-6", "-R", dir, "-q", "-o", "fmt:%tsr|%sa|%da|%sp|%dp|%pr|%ipkt|%ibyt|%opkt|%obyt"});
  raw = r.out + r.err;
  EXPECT_EQ(r.status, 0) << r.err;
  std::map<std::string, std::vector<NfFlow>> flows;
  std::istringstream in(r.out);
  count = 0;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    std::stringstream ls(line);
    for (std::string x; std::getline(ls, x, '|');) {
      x.erase(0, x.find_first_not_of(' '));
      x.erase(x.find_last_not_of(' ') + 1);
      f.push_back(x);
    }
    if (f.size() != 10) continue;
    std::string proto = f[5] == "TCP" ? "tcp" : f[5] == "UDP" ? "udp" : f[5];
    const std::string k = proto + " " + f[1] + " " + f[3] + " " + f[2] + " " + f[4];
    flows[k].push_back({std::stod(f[0]) * 1000.0, std::stoull(f[6]), std::stoull(f[7]), std::stoull(f[8]),
                        std::stoull(f[9])});
    ++count;
  }
  return flows;
}

// Relays an IPFIX stream from one TCP connection to UDP datagrams, one per
// message (nfcapd 1.7 has no TCP listener). Returns the messages relayed.
int relay_tcp_to_udp(int listener, std::uint16_t udp_port) {
  pollfd p{listener, POLLIN, 0};
  if (::poll(&p, 1, 60000) != 1) return -1;
  const int c = ::accept(listener, nullptr, nullptr);
  const int u = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(udp_port);
  std::vector<std::uint8_t> buf;
  std::uint8_t tmp[65536];
  int messages = 0;
  for (;;) {
    const ssize_t n = ::recv(c, tmp, sizeof tmp, 0);
    if (n <= 0) break;
    buf.insert(buf.end(), tmp, tmp + n);
    std::size_t off = 0;
    while (buf.size() - off >= 4) {
      const std::size_t len = static_cast<std::size_t>(buf[off + 2] << 8 | buf[off + 3]);
      if (len < 16 || buf.size() - off < len) break;
      ::sendto(u, buf.data() + off, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
      ++messages;
      off += len;
      if (messages % 64 == 0) std::this_thread::sleep_for(1ms);  // nfcapd reads a datagram at a time
    }
    buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(off));
  }
  ::close(c);
  ::close(u);
  return messages;
}

std::uint64_t counter(const std::string& stats, const std::string& name) {
  const auto at = stats.find(" " + name + "=");
  if (at == std::string::npos) return 0;
  return std::stoull(stats.substr(at + name.size() + 2));
}

// Runs the probe over `input` exporting to nfcapd, reads nfcapd's file back
// and compares it with the probe's own log. Returns the number of flows.
std::size_t nfcapd_round_trip(const TempDir& d, const std::string& tag, const std::string& input, bool tcp,
                              const std::string& nfcapd, const std::string& nfdump) {
  SCOPED_TRACE(tag + (tcp ? " over tcp" : " over udp"));
  const std::string nfdir = d / (tag + "-nf"), logs = d / (tag + "-logs");
  fs::create_directories(nfdir);
  const std::uint16_t port = free_port(SOCK_DGRAM);
  std::uint16_t relay_port = 0;
  int listener = -1;
  if (tcp) {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener, 1);
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
    relay_port = ntohs(a.sin_port);
  }
  netloom::test::Result probe;
  int relayed = 0;
  auto nf =
      run({nfcapd, "-b", "127.0.0.1", "-p", std::to_string(port), "-w", nfdir, "-t", "3600", "-B", "4194304"},
          [&](pid_t pid) {
            if (!wait_bound(port, false)) {
              ::kill(pid, SIGTERM);
              return;
            }
            std::thread relay;
            if (tcp) relay = std::thread([&] { relayed = relay_tcp_to_udp(listener, port); });
            probe = run({kBin, "run", kSrc + "/compositions/probe-ipfix.xml", "-D", "input=" + input, "-D",
                         "collector=127.0.0.1:" + std::to_string(tcp ? relay_port : port), "-D",
                         std::string("transport=") + (tcp ? "tcp" : "udp"), "-D", "out=" + logs, "-D",
                         "layout=flat", "-D", "format=json", "-D", "domain=7"});
            if (relay.joinable()) relay.join();
            wait_udp_drained(port);  // nfcapd has read every datagram
            std::this_thread::sleep_for(300ms);
            ::kill(pid, SIGTERM);  // it writes out its file and exits
          });
  if (listener >= 0) ::close(listener);
  EXPECT_EQ(nf.status, 0) << nf.err;
  EXPECT_EQ(probe.status, 0) << probe.err;
  const std::uint64_t exported = counter(probe.err, "records_exported");
  EXPECT_GT(exported, 0u) << probe.err;
  EXPECT_EQ(counter(probe.err, "dropped"), 0u) << probe.err;
  if (tcp) {
    EXPECT_EQ(counter(probe.err, "connections"), 1u) << probe.err;
    EXPECT_GT(relayed, 1);
  }

  std::size_t nf_count = 0;
  std::string raw;
  auto nf_flows = read_nfdump(nfdump, nfdir, nf_count, raw);
  const auto rows = read_logs(logs);
  EXPECT_EQ(rows.size(), exported);
  EXPECT_EQ(nf_count, rows.size()) << "nfdump flows vs the probe's log lines\n" << nf.err;
  std::size_t matched = 0, shown = 0;
  for (const Row& r : rows) {
    auto it = nf_flows.find(key5(r));
    const double start = start_ms(r);
    NfFlow* m = nullptr;
    if (it != nf_flows.end())
      for (NfFlow& f : it->second)
        if (!f.used && start >= f.start_ms - 1e-3 && start < f.start_ms + 1.0) {  // nfdump keeps ms
          m = &f;
          break;
        }
    if (!m) {
      if (shown++ < 5) ADD_FAILURE() << "flow not in nfdump's output: " << key5(r) << " start " << start;
      continue;
    }
    m->used = true;
    const bool ok = m->ipkt == std::stoull(r.at("c_pkts_all")) &&
                    m->ibyt == std::stoull(r.at("c_bytes_all")) &&
                    m->opkt == std::stoull(r.at("s_pkts_all")) && m->obyt == std::stoull(r.at("s_bytes_all"));
    if (!ok && shown++ < 5)
      ADD_FAILURE() << key5(r) << ": nfdump " << m->ipkt << "/" << m->ibyt << " " << m->opkt << "/" << m->obyt
                    << ", log " << r.at("c_pkts_all") << "/" << r.at("c_bytes_all") << " "
                    << r.at("s_pkts_all") << "/" << r.at("s_bytes_all");
    matched += ok;
  }
  EXPECT_EQ(matched, rows.size());
  return rows.size();
}

struct NfTools {
  std::string nfcapd = find_program("nfcapd"), nfdump = find_program("nfdump");
  bool ok() const { return !nfcapd.empty() && !nfdump.empty(); }
};
const char* kNoNfdump =
    "nfcapd/nfdump not installed (Debian package nfdump, 1.7): the nfcapd round trip needs them";

}  // namespace

TEST(IpfixE2e, NfcapdReadsTheBuiltCapture) {
  NfTools nf;
  if (!nf.ok()) GTEST_SKIP() << kNoNfdump;
  TempDir d;
  const auto expected = build_capture(d / "built.pcap");
  for (bool tcp : {false, true}) {
    const std::string tag = tcp ? "built-tcp" : "built-udp";
    EXPECT_EQ(nfcapd_round_trip(d, tag, d / "built.pcap", tcp, nf.nfcapd, nf.nfdump), expected.size());
    // And the log itself says what the capture holds.
    const auto rows = read_logs(d / (tag + "-logs"));
    ASSERT_EQ(rows.size(), expected.size());
    for (const Expected& e : expected) {
      const std::string k = e.proto + " " + e.c_ip + " " + std::to_string(e.c_port) + " " + e.s_ip + " " +
                            std::to_string(e.s_port);
      auto it = std::find_if(rows.begin(), rows.end(), [&](const Row& r) { return key5(r) == k; });
      ASSERT_NE(it, rows.end()) << k;
      EXPECT_EQ(std::stoull(it->at("c_pkts_all")), e.c_pkts) << k;
      EXPECT_EQ(std::stoull(it->at("s_pkts_all")), e.s_pkts) << k;
      EXPECT_EQ(std::stoull(it->at("c_bytes_all")), e.c_bytes) << k;
      EXPECT_EQ(std::stoull(it->at("s_bytes_all")), e.s_bytes) << k;
    }
  }
}

TEST(IpfixE2e, NfcapdReadsTheDevCorpus) {
  NfTools nf;
  if (!nf.ok()) GTEST_SKIP() << kNoNfdump;
  const std::string dev = dev_captures();
  if (dev.empty())
    GTEST_SKIP() << "dev corpus not found at " << netloom::test::corpus_root() / "dev"
                 << " (set NETLOOM_CORPUS); the built capture's round trip runs without it";
  TempDir d;
  for (bool tcp : {false, true})
    EXPECT_GT(nfcapd_round_trip(d, tcp ? "dev-tcp" : "dev-udp", dev, tcp, nf.nfcapd, nf.nfdump), 500u);
}

// ---- probe -> collector ---------------------------------------------------------

namespace {

// The LogSink columns IPFIX carries (docs/ipfix.md); the rest are counters
// and Tstat details netloom does not export.
const std::vector<std::string> kTcpFields = {
    "proto",   "complete",   "app",        "c_ip",        "c_port",      "c_pkts_all",  "c_bytes_all",
    "s_ip",    "s_port",     "s_pkts_all", "s_bytes_all", "first",       "last",        "durat",
    "c_first", "s_first",    "c_last",     "s_last",      "c_first_ack", "s_first_ack", "c_isint",
    "s_isint", "c_iscrypto", "s_iscrypto", "con_t",       "p2p_t",       "http_t"};
const std::vector<std::string> kTcpCompleteFields = {"c_rtt_min", "c_rtt_max", "c_rtt_cnt",
                                                     "s_rtt_min", "s_rtt_max", "s_rtt_cnt",
                                                     "p2p_st",    "c_tls_SNI", "http_hostname"};
const std::vector<std::string> kRttAvg = {"c_rtt_avg",
                                          "s_rtt_avg"};  // rebuilt as avg * samples: compared to 1e-6
const std::vector<std::string> kUdpFields = {
    "proto",       "complete",   "app",         "c_ip",       "c_port",  "c_first_abs", "c_durat",
    "c_bytes_all", "c_pkts_all", "c_isint",     "c_iscrypto", "c_type",  "s_ip",        "s_port",
    "s_first_abs", "s_durat",    "s_bytes_all", "s_pkts_all", "s_isint", "s_iscrypto",  "s_type"};

struct Compared {
  std::size_t flows = 0, labelled = 0, with_l7_text = 0;
};

Compared compare_logs(const fs::path& probe_dir, const fs::path& collector_dir) {
  Compared c;
  const auto probe = read_logs(probe_dir), coll = read_logs(collector_dir);
  EXPECT_EQ(coll.size(), probe.size());
  std::map<std::string, std::vector<const Row*>> by_key;
  for (const Row& r : probe)
    by_key[r.at("log") + " " + key5(r) + " " + std::to_string(start_ms(r))].push_back(&r);
  std::size_t shown = 0;
  for (const Row& r : coll) {
    auto it = by_key.find(r.at("log") + " " + key5(r) + " " + std::to_string(start_ms(r)));
    if (it == by_key.end() || it->second.empty()) {
      if (shown++ < 5)
        ADD_FAILURE() << "collector flow not in the probe's log: " << r.at("log") << " " << key5(r);
      continue;
    }
    const Row& p = *it->second.back();
    it->second.pop_back();
    std::vector<std::string> fields = unquote(p.at("proto")) == "tcp" ? kTcpFields : kUdpFields;
    if (p.at("log") == "log_tcp_complete.jsonl")
      fields.insert(fields.end(), kTcpCompleteFields.begin(), kTcpCompleteFields.end());
    for (const auto& f : fields) {
      if (p.count(f) == 0 || r.count(f) == 0 || p.at(f) != r.at(f)) {
        if (shown++ < 20)
          ADD_FAILURE() << key5(p) << ": field " << f << ": probe " << (p.count(f) ? p.at(f) : "(none)")
                        << ", collector " << (r.count(f) ? r.at(f) : "(none)");
      }
    }
    if (p.at("log") == "log_tcp_complete.jsonl")
      for (const auto& f : kRttAvg)
        if (std::fabs(num(p, f.c_str()) - num(r, f.c_str())) > 1.5e-6 && shown++ < 20)
          ADD_FAILURE() << key5(p) << ": " << f << " " << p.at(f) << " vs " << r.at(f);
    ++c.flows;
    c.labelled += p.at("app") != "null";
    if (p.count("http_hostname") && p.at("http_hostname") != "null") ++c.with_l7_text;
    if (p.count("c_tls_SNI") && p.at("c_tls_SNI") != "null") ++c.with_l7_text;
  }
  return c;
}

Compared probe_to_collector(const TempDir& d, const std::string& tag, const std::string& input, bool tcp) {
  SCOPED_TRACE(tag + (tcp ? " over tcp" : " over udp"));
  const std::string pdir = d / (tag + "-probe"), cdir = d / (tag + "-collector");
  const std::uint16_t port = free_port(tcp ? SOCK_STREAM : SOCK_DGRAM);
  netloom::test::Result probe;
  Clock::duration stop_took{};
  // UDP: the collector runs until SIGINT; TCP: it ends by itself (idle_exit).
  auto coll = run(
      {kBin, "run", kSrc + "/compositions/collector.xml", "-D", "listen=127.0.0.1:" + std::to_string(port),
       "-D", std::string("transport=") + (tcp ? "tcp" : "udp"), "-D", "out=" + cdir, "-D", "layout=flat",
       "-D", "format=json", "-D", std::string("idle_exit=") + (tcp ? "1s" : "0")},
      [&](pid_t pid) {
        if (!wait_bound(port, tcp)) {
          ::kill(pid, SIGINT);
          return;
        }
        probe = run({kBin, "run", kSrc + "/compositions/probe-ipfix.xml", "-D", "input=" + input, "-D",
                     "collector=127.0.0.1:" + std::to_string(port), "-D",
                     std::string("transport=") + (tcp ? "tcp" : "udp"), "-D", "out=" + pdir, "-D",
                     "layout=flat", "-D", "format=json"});
        if (!tcp) {
          wait_udp_drained(port);              // the collector has read every datagram
          std::this_thread::sleep_for(300ms);  // and passed the records on
        }
        const auto end = Clock::now() + (tcp ? 60s : 0s);
        while (!exited(pid) && Clock::now() < end) std::this_thread::sleep_for(20ms);
        if (!exited(pid)) {
          const auto t = Clock::now();
          ::kill(pid, SIGINT);
          while (!exited(pid) && Clock::now() - t < 30s) std::this_thread::sleep_for(5ms);
          stop_took = Clock::now() - t;
        }
      });
  EXPECT_EQ(probe.status, 0) << probe.err;
  EXPECT_EQ(coll.status, 0) << coll.err;
  if (tcp) {
    EXPECT_EQ(coll.err.find("stopped by signal"), std::string::npos) << "idle_exit did not end it";
  } else {
    EXPECT_NE(coll.err.find("stopped by signal"), std::string::npos) << coll.err;
    EXPECT_LT(stop_took, 5s) << "the collector took long to stop";
  }
  EXPECT_EQ(counter(probe.err, "dropped"), 0u) << probe.err;
  EXPECT_EQ(counter(coll.err, "malformed"), 0u) << coll.err;
  EXPECT_EQ(counter(coll.err, "records"), counter(probe.err, "records_exported")) << coll.err;
  return compare_logs(pdir, cdir);
}

}  // namespace

TEST(IpfixE2e, CollectorLogEqualsProbeLog) {
  TempDir d;
  build_capture(d / "built.pcap");
  for (bool tcp : {false, true}) {
    const Compared built = probe_to_collector(d, tcp ? "built-tcp" : "built-udp", d / "built.pcap", tcp);
    EXPECT_EQ(built.flows, 18u);
    EXPECT_GE(built.labelled, 3u);      // HTTP and DNS through the enterprise label element
    EXPECT_GE(built.with_l7_text, 3u);  // the HTTP Host
    const Compared demo = probe_to_collector(d, tcp ? "demo-tcp" : "demo-udp", demo_pcap(), tcp);
    EXPECT_EQ(demo.flows, 59u);
    EXPECT_GE(demo.labelled, 20u);
  }
}

TEST(IpfixE2e, CollectorLogEqualsProbeLogOnTheDevCorpus) {
  const std::string dev = dev_captures();
  if (dev.empty())
    GTEST_SKIP() << "dev corpus not found at " << netloom::test::corpus_root() / "dev"
                 << " (set NETLOOM_CORPUS)";
  TempDir d;
  for (bool tcp : {false, true}) {
    const Compared c = probe_to_collector(d, tcp ? "dev-tcp" : "dev-udp", dev, tcp);
    EXPECT_GT(c.flows, 500u);
    EXPECT_GT(c.labelled, 100u);
    EXPECT_GT(c.with_l7_text, 10u);  // TLS SNI, HTTP Host
  }
}
