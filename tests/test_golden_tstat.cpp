// compositions/flows.xml against Tstat 3.3's own logs on the dev captures
// (../shared/corpus/dev/tstat-3.3/<capture>/log_*): the same connections,
// identical per-direction counters and handshake/termination columns, RTT
// within 1 % or 0.1 ms. Deliberate differences are listed in kKnownDifferences
// with the reason, and explained in docs/differences-from-tstat.md.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "corpus.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;

fs::path corpus() { return netloom::test::corpus_root(); }

// A Tstat-format log: column names from the header, rows keyed by the
// connection's endpoints.
struct Log {
  std::vector<std::string> columns;
  std::map<std::string, std::vector<std::string>> rows;  // "c_ip c_port s_ip s_port @first_ms" -> fields
  std::vector<std::string> duplicate_keys;
  int col(const std::string& name) const {
    for (std::size_t i = 0; i < columns.size(); ++i)
      if (columns[i] == name) return static_cast<int>(i);
    return -1;
  }
};

Log read_log(const fs::path& file) {
  Log log;
  std::ifstream f(file);
  std::string line;
  if (!std::getline(f, line)) return log;
  // "#15#c_ip:1 c_port:2 ..." or "#c_ip:1 ...": names before each ':'
  std::size_t start = line.rfind('#') + 1;
  std::istringstream hs(line.substr(start));
  for (std::string tok; hs >> tok;) log.columns.push_back(tok.substr(0, tok.find(':')));
  const int c_ip = log.col("c_ip"), c_port = log.col("c_port"), s_ip = log.col("s_ip"),
            s_port = log.col("s_port");
  // The same endpoints can appear several times (a client retrying from one
  // port): the start time, to the ms, tells those connections apart.
  int first = log.col("first");
  if (first < 0) first = log.col("c_first_abs");
  while (std::getline(f, line)) {
    std::istringstream ls(line);
    std::vector<std::string> v;
    for (std::string tok; ls >> tok;) v.push_back(tok);
    if (v.size() < log.columns.size()) continue;
    const std::string& t = v[first];
    std::string key =
        v[c_ip] + " " + v[c_port] + " " + v[s_ip] + " " + v[s_port] + " @" + t.substr(0, t.find('.'));
    if (log.rows.count(key)) log.duplicate_keys.push_back(key);
    log.rows[key] = v;
  }
  return log;
}

enum class Cmp { exact, ms, sec, rtt };
struct Column {
  const char* name;
  Cmp how;
};
// Compared columns. "ms": times, equal within 0.001 ms (print rounding).
const Column kTcpColumns[] = {
    {"c_pkts_all", Cmp::exact},   {"c_rst_cnt", Cmp::exact},
    {"c_ack_cnt", Cmp::exact},    {"c_ack_cnt_p", Cmp::exact},
    {"c_bytes_uniq", Cmp::exact}, {"c_pkts_data", Cmp::exact},
    {"c_bytes_all", Cmp::exact},  {"c_pkts_retx", Cmp::exact},
    {"c_bytes_retx", Cmp::exact}, {"c_pkts_ooo", Cmp::exact},
    {"c_syn_cnt", Cmp::exact},    {"c_fin_cnt", Cmp::exact},
    {"s_pkts_all", Cmp::exact},   {"s_rst_cnt", Cmp::exact},
    {"s_ack_cnt", Cmp::exact},    {"s_ack_cnt_p", Cmp::exact},
    {"s_bytes_uniq", Cmp::exact}, {"s_pkts_data", Cmp::exact},
    {"s_bytes_all", Cmp::exact},  {"s_pkts_retx", Cmp::exact},
    {"s_bytes_retx", Cmp::exact}, {"s_pkts_ooo", Cmp::exact},
    {"s_syn_cnt", Cmp::exact},    {"s_fin_cnt", Cmp::exact},
    {"first", Cmp::ms},           {"last", Cmp::ms},
    {"durat", Cmp::ms},           {"c_first", Cmp::ms},
    {"s_first", Cmp::ms},         {"c_last", Cmp::ms},
    {"s_last", Cmp::ms},          {"c_first_ack", Cmp::ms},
    {"s_first_ack", Cmp::ms},     {"c_isint", Cmp::exact},
    {"s_isint", Cmp::exact},      {"c_iscrypto", Cmp::exact},
    {"s_iscrypto", Cmp::exact},   {"c_rtt_avg", Cmp::rtt},
    {"c_rtt_min", Cmp::rtt},      {"c_rtt_max", Cmp::rtt},
    {"c_rtt_cnt", Cmp::exact},    {"c_ttl_min", Cmp::exact},
    {"c_ttl_max", Cmp::exact},    {"s_rtt_avg", Cmp::rtt},
    {"s_rtt_min", Cmp::rtt},      {"s_rtt_max", Cmp::rtt},
    {"s_rtt_cnt", Cmp::exact},    {"s_ttl_min", Cmp::exact},
    {"s_ttl_max", Cmp::exact},
};
const Column kUdpColumns[] = {
    {"c_first_abs", Cmp::ms},   {"c_durat", Cmp::sec},   {"c_bytes_all", Cmp::exact},
    {"c_pkts_all", Cmp::exact}, {"c_isint", Cmp::exact}, {"c_iscrypto", Cmp::exact},
    {"s_first_abs", Cmp::ms},   {"s_durat", Cmp::sec},   {"s_bytes_all", Cmp::exact},
    {"s_pkts_all", Cmp::exact}, {"s_isint", Cmp::exact}, {"s_iscrypto", Cmp::exact},
};

bool same(const std::string& a, const std::string& b, Cmp how) {
  if (how == Cmp::exact) return a == b;
  double x = std::stod(a), y = std::stod(b);
  if (how == Cmp::ms) return std::fabs(x - y) <= 0.0015;
  if (how == Cmp::sec) return std::fabs(x - y) <= 0.0000015;
  return std::fabs(x - y) <= std::max(0.1, 0.01 * std::fabs(y));  // RTT: 1 % or 0.1 ms
}

// capture / log / connection / column -> why netloom differs on purpose.
struct Known {
  const char* capture;
  const char* log;
  const char* key;     // "c_ip c_port s_ip s_port @first_ms", or a prefix ending in '*'
  const char* column;  // "" = the connection's presence
  const char* why;
};
// Tunnels: netloom's decoder decapsulates VXLAN, GRE, GTP-U and CAPWAP (and
// reads double-tagged VLAN frames), so it tracks the inner connections; Tstat
// decapsulates only IP-in-IP, so it logs the outer UDP flows or nothing.
#define NL_TUNNEL "netloom decapsulates the tunnel and logs the inner connection"
// telnet.pcap: five client frames claim an IP length larger than the frame on
// the wire. netloom counts them as malformed and keeps them out of the flow's
// counters; Tstat counts the phantom bytes as payload (and so sees five more
// "retransmissions" and fewer RTT samples).
#define NL_LYING "frames whose IP length exceeds the wire length are malformed, not payload"
const Known kKnownDifferences[] = {
    {"vxlan.pcap", "log_udp_complete", "192.168.22.*", "", NL_TUNNEL},  // the VXLAN carrier flows
    {"vxlan.pcap", "log_udp_complete", "10.10.20.4 *", "", NL_TUNNEL},
    {"vxlan.pcap", "log_tcp_complete", "10.10.20.4 *", "", NL_TUNNEL},
    {"gre.pcap", "log_udp_complete", "192.168.103.40 5060 192.168.10.210 5060 *", "", NL_TUNNEL},
    {"gre.pcap", "log_udp_complete", "212.83.179.0 5097 192.200.144.148 5060 *", "",
     NL_TUNNEL},  // QinQ+PPPoE
    {"gre.pcapng", "log_udp_complete", "192.168.10.210 5060 192.168.103.40 5060 *", "", NL_TUNNEL},
    {"ipv6_in_gtp.pcap", "log_udp_complete", "2607:fc20:4052:39e:490a:ea4d:17fe:e09c 49120 *", "", NL_TUNNEL},
    {"rtmp_B.pcap", "log_tcp_nocomplete", "10.140.80.204 49757 203.205.224.48 1935 *", "",
     NL_TUNNEL},  // GTP-U
    {"capwap_data.pcapng", "log_tcp_nocomplete", "10.1.3.68 47025 74.125.130.188 443 *", "", NL_TUNNEL},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_pkts_all", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_ack_cnt", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_pkts_data", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_bytes_all", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_pkts_retx", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_bytes_retx", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_rtt_avg", NL_LYING},
    {"telnet.pcap", "log_tcp_complete", "192.168.0.2 1550 192.168.0.1 23 *", "c_rtt_cnt", NL_LYING},
};

const Known* known(const std::string& capture, const std::string& log, const std::string& key,
                   const std::string& column) {
  for (const auto& k : kKnownDifferences) {
    const std::string pattern = k.key;  // a trailing '*' matches any rest
    const bool key_ok =
        pattern.back() == '*' ? key.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0 : key == pattern;
    if (capture == k.capture && log == k.log && key_ok && column == k.column) return &k;
  }
  return nullptr;
}

struct Diff {
  std::vector<std::string> lines;
  void add(std::string s) { lines.push_back(std::move(s)); }
};

void compare(const std::string& capture, const std::string& name, const Log& tstat, const Log& ours,
             const Column* cols, std::size_t ncols, Diff& diff) {
  for (const auto& [key, row] : tstat.rows) {
    auto it = ours.rows.find(key);
    if (it == ours.rows.end()) {
      if (!known(capture, name, key, "")) diff.add(capture + " " + name + ": missing connection " + key);
      continue;
    }
    for (std::size_t i = 0; i < ncols; ++i) {
      int a = tstat.col(cols[i].name), b = ours.col(cols[i].name);
      if (a < 0) continue;  // log_tcp_nocomplete has the 44 core columns only
      if (b < 0) {
        diff.add(name + ": no column " + cols[i].name);
        continue;
      }
      if (!same(it->second[b], row[a], cols[i].how) && !known(capture, name, key, cols[i].name))
        diff.add(capture + " " + name + " " + key + " " + cols[i].name + ": tstat " + row[a] + ", netloom " +
                 it->second[b]);
    }
  }
  for (const auto& [key, row] : ours.rows)
    if (!tstat.rows.count(key) && !known(capture, name, key, ""))
      diff.add(capture + " " + name + ": extra connection " + key);
}
}  // namespace

TEST(GoldenTstat, EveryDevCaptureMatchesTstatLogs) {
  const fs::path ref = corpus() / "dev/tstat-3.3";
  if (!fs::is_directory(ref)) GTEST_SKIP() << "no Tstat reference logs at " << ref << " (set NETLOOM_CORPUS)";
  Diff diff;
  int captures = 0;
  for (const auto& e : fs::directory_iterator(ref)) {
    const std::string capture = e.path().filename().string();
    const fs::path out =
        fs::temp_directory_path() / ("netloom-golden-" + std::to_string(::getpid()) + "-" + capture);
    fs::remove_all(out);
    auto r = netloom::test::run({kBin, "run", kSrc + "/compositions/flows.xml", "-q", "-D",
                                 "input=" + (corpus() / "dev" / capture).string(), "-D",
                                 "out=" + out.string(), "-D", "layout=flat", "-D", "gc_trigger=new_flow"});
    EXPECT_EQ(r.status, 0) << capture << "\n" << r.err;
    ++captures;
    for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete"})
      compare(capture, name, read_log(e.path() / name), read_log(out / name), kTcpColumns,
              std::size(kTcpColumns), diff);
    for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"})
      EXPECT_EQ(read_log(out / name).columns, read_log(e.path() / name).columns) << capture << " " << name;
    for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"})
      EXPECT_TRUE(read_log(out / name).duplicate_keys.empty()) << capture << " " << name;
    compare(capture, "log_udp_complete", read_log(e.path() / "log_udp_complete"),
            read_log(out / "log_udp_complete"), kUdpColumns, std::size(kUdpColumns), diff);
    fs::remove_all(out);
  }
  EXPECT_GE(captures, 39);
  std::ostringstream all;
  for (const auto& l : diff.lines) all << l << "\n";
  EXPECT_TRUE(diff.lines.empty()) << diff.lines.size() << " differences from Tstat:\n" << all.str();
}

namespace {
// "ip:port" or "[ipv6]:port" -> "ip port"
std::string endpoint(const std::string& s) {
  auto colon = s.rfind(':');
  std::string ip = s.substr(0, colon);
  if (!ip.empty() && ip.front() == '[') ip = ip.substr(1, ip.size() - 2);
  return ip + " " + s.substr(colon + 1);
}
}  // namespace

// nDPI keeps a connection as long as it sees its packets; Tstat's model
// (netloom's too) tracks a TCP connection from its SYN to its FIN/RST or to
// 300 s of silence, and counts packets outside that span as untracked.
struct ModelDifference {
  const char* capture;
  const char* key;  // "client port server port" as in the labels
  int c2s, s2c;     // netloom's packets per direction; -1: not tracked at all
  const char* why;
};
const ModelDifference kModelDifferences[] = {
    {"jabber_B.pcap", "172.16.0.62 57129 172.16.1.138 5222", -1, -1, "its SYN is not in the capture"},
    {"jabber_B.pcap", "172.16.0.62 57126 172.16.1.138 5222", -1, -1, "its SYN is not in the capture"},
    {"jabber_B.pcap", "192.168.2.100 37614 160.44.201.102 5223", 6, 4,
     "300.2 s of silence after packet 10 closes it (tcp_idle_time 300 s); the 5 later packets are untracked"},
    {"smtp-starttls.pcap", "2003:de:2016:125:fc36:8317:4e86:cb72 7562 2003:de:2016:120::a08:53 25", 16, 16,
     "the client's RST closes it; the server's FIN after the RST is untracked"},
};

// Tstat 3.3 hangs on these captures, so there is no Tstat reference: netloom
// processes them, and its connections carry nDPI's per-direction packet
// counts (X.labels.csv: client,server,...,c2s_pkts,c2s_bytes,s2c_pkts,...).
TEST(GoldenTstat, CapturesTstatHangsOnMatchNdpiPacketCounts) {
  const fs::path dev = corpus() / "dev";
  if (!fs::is_directory(dev)) GTEST_SKIP() << "no corpus at " << dev << " (set NETLOOM_CORPUS)";
  int checked = 0;
  for (const char* capture : {"pop3.pcap", "ssh.pcap", "smtp-starttls.pcap", "jabber_B.pcap"}) {
    const fs::path out =
        fs::temp_directory_path() / ("netloom-hang-" + std::to_string(::getpid()) + "-" + capture);
    fs::remove_all(out);
    auto r = netloom::test::run({kBin, "run", kSrc + "/compositions/flows.xml", "-q", "-D",
                                 "input=" + (dev / capture).string(), "-D", "out=" + out.string(), "-D",
                                 "layout=flat"});
    ASSERT_EQ(r.status, 0) << capture << "\n" << r.err;
    // Every TCP connection of the capture, keyed "client port server port".
    std::map<std::string, std::pair<std::string, std::string>> ours;
    for (const char* name : {"log_tcp_complete", "log_tcp_nocomplete"}) {
      Log log = read_log(out / name);
      for (const auto& [key, v] : log.rows) {
        const std::string k = v[log.col("c_ip")] + " " + v[log.col("c_port")] + " " + v[log.col("s_ip")] +
                              " " + v[log.col("s_port")];
        ours[k] = {v[log.col("c_pkts_all")], v[log.col("s_pkts_all")]};
      }
    }
    fs::remove_all(out);

    std::ifstream f(dev / (std::string(capture) + ".labels.csv"));
    std::string line;
    std::getline(f, line);
    std::vector<std::string> head;
    for (std::stringstream hs(line); std::getline(hs, line, ',');) head.push_back(line);
    auto col = [&](const char* n) { return std::find(head.begin(), head.end(), n) - head.begin(); };
    const auto c_client = col("client"), c_server = col("server"), c_c2s = col("c2s_pkts"),
               c_s2c = col("s2c_pkts");
    ASSERT_LT(static_cast<std::size_t>(c_s2c), head.size()) << capture;
    while (std::getline(f, line)) {
      std::vector<std::string> v;
      for (std::stringstream ls(line); std::getline(ls, line, ',');) v.push_back(line);
      const std::string key = endpoint(v[c_client]) + " " + endpoint(v[c_server]);
      SCOPED_TRACE(std::string(capture) + " " + key);
      auto it = ours.find(key);
      ++checked;
      // Where Tstat's flow model (which netloom follows) and nDPI's differ.
      std::string c2s = v[c_c2s], s2c = v[c_s2c];
      bool logged = true;
      for (const auto& m : kModelDifferences) {
        if (capture != std::string(m.capture) || key != m.key) continue;
        logged = m.c2s >= 0;
        c2s = std::to_string(m.c2s);
        s2c = std::to_string(m.s2c);
      }
      if (!logged) {
        EXPECT_EQ(it, ours.end()) << "expected not to be tracked";
        continue;
      }
      if (it == ours.end()) {
        ADD_FAILURE() << "connection not logged";
        continue;
      }
      EXPECT_EQ(it->second.first, c2s);
      EXPECT_EQ(it->second.second, s2c);
    }
  }
  EXPECT_EQ(checked, 6 + 2 + 2 + 6);
}
