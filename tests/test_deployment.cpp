// The multi-probe recipe of docs/deployment.md: N netloom processes read the
// same traffic, each with a BPF filter keeping the host pairs whose address
// sum is k modulo N (probe 0 also keeps everything that is not hashed). The
// netloom binary runs a PcapSource -> FlowTracker -> LogSink(json) composition
// once unfiltered and once per probe over the same capture; the probes' flow
// records must partition the unfiltered run's exactly.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::run;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;

// One probe: the same blocks as compositions/flows.xml plus the filter.
constexpr const char* kComposition = R"(<composition name="probe" threads="1" batch="256">
  <var name="input" default="data/demo.pcap"/>
  <var name="out" default="out/probe"/>
  <var name="filter" default=""/>
  <block id="cap" type="PcapSource">
    <param name="files" value="${input}"/>
    <param name="filter" value="${filter}"/>
  </block>
  <block id="trk" type="FlowTracker"/>
  <block id="logs" type="LogSink">
    <param name="dir" value="${out}"/>
    <param name="format" value="json"/>
    <param name="layout" value="flat"/>
  </block>
  <connect from="cap.out" to="trk.in"/>
  <connect from="trk.out" to="logs.flows"/>
</composition>
)";

// ------------------------------------------------------------------ filters
// kPair is the recipe; kSourceOnly hashes the source address alone, which
// sends the two directions of a connection to different probes.
enum class Hash { kPair, kSourceOnly };

std::string ip4_sum(Hash h) { return h == Hash::kPair ? "(ip[12:4] + ip[16:4])" : "(ip[12:4])"; }

std::string ip6_sum(Hash h) {
  // Source address: ip6[8..23], destination: ip6[24..39], four words each.
  std::string s = "(";
  const int words = h == Hash::kPair ? 8 : 4;
  for (int i = 0; i < words; ++i) s += (i ? " + " : "") + ("ip6[" + std::to_string(8 + 4 * i) + ":4]");
  return s + ")";
}

// Packets of the IP(v6) host pairs whose sum modulo n compares `op` to k.
std::string hashed(int n, const std::string& op, int k, Hash h) {
  const std::string tail = " % " + std::to_string(n) + " " + op + " " + std::to_string(k);
  return "(ip and " + ip4_sum(h) + tail + ") or (ip6 and " + ip6_sum(h) + tail + ")";
}

// The filter of probe k of n. vlan: also look inside one 802.1Q/802.1ad tag
// (Ethernet link types only: libpcap refuses `vlan` elsewhere). The `vlan`
// keyword shifts the offsets of everything after it, so it appears once, last.
std::string probe_filter(int n, int k, bool vlan, Hash h = Hash::kPair) {
  auto body = [&](const std::string& op, int kk) {
    std::string e = hashed(n, op, kk, h);
    return vlan ? e + " or (vlan and (" + e + "))" : e;
  };
  // Probe 0: whatever no other probe takes (hash 0, non-IP, QinQ, ...).
  return k == 0 ? "not (" + body("!=", 0) + ")" : body("=", k);
}

// --------------------------------------------------------------- JSON logs
// Splits one flat JSON object line into raw field texts (strings unescaped
// only as far as needed to find their end). Returns false on malformed input.
bool parse_object(const std::string& s, std::map<std::string, std::string>& out) {
  std::size_t i = 0;
  auto ws = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r')) ++i;
  };
  auto string_end = [&](std::size_t from) {  // from: index after the opening quote
    for (std::size_t j = from; j < s.size(); ++j) {
      if (s[j] == '\\')
        ++j;
      else if (s[j] == '"')
        return j;
    }
    return std::string::npos;
  };
  ws();
  if (i >= s.size() || s[i++] != '{') return false;
  ws();
  if (i < s.size() && s[i] == '}') return true;
  while (i < s.size()) {
    ws();
    if (s[i] != '"') return false;
    std::size_t e = string_end(i + 1);
    if (e == std::string::npos) return false;
    std::string key = s.substr(i + 1, e - i - 1);
    i = e + 1;
    ws();
    if (i >= s.size() || s[i++] != ':') return false;
    ws();
    std::size_t start = i;
    int depth = 0;
    for (; i < s.size(); ++i) {
      char c = s[i];
      if (c == '"') {
        i = string_end(i + 1);
        if (i == std::string::npos) return false;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (i >= s.size()) return false;
    out[key] = s.substr(start, i - start);
    if (s[i] == '}') return true;
    ++i;  // ','
  }
  return false;
}

struct Probe {
  netloom::test::Result r;
  std::map<std::string, std::string> flows;  // flow key -> its counters
  std::vector<std::string> duplicate_keys;   // keys seen twice in this run
  std::vector<std::string> bad_lines;
  std::uint64_t records = 0, packets = 0, bytes = 0;
};

// A flow's identity: which log, the 5-tuple as logged, its first timestamps.
std::string flow_key(const std::string& log, const std::map<std::string, std::string>& f) {
  std::string k = log;
  for (const char* name :
       {"proto", "c_ip", "c_port", "s_ip", "s_port", "first", "c_first_abs", "s_first_abs"}) {
    auto it = f.find(name);
    if (it != f.end()) k += std::string(" ") + name + "=" + it->second;
  }
  return k;
}

// Every packet and byte counter of the record (c_pkts_all, s_bytes_retx, ...).
std::string flow_counters(const std::map<std::string, std::string>& f) {
  std::string c;
  for (const auto& [name, value] : f)
    if (name.find("pkts") != std::string::npos || name.find("bytes") != std::string::npos)
      c += name + "=" + value + " ";
  return c;
}

std::uint64_t summary_number(const std::string& err, const std::string& what) {
  // "1 file(s), 1 ok, 0 failed; 286 packets, 153828 bytes, 399 filtered, ..."
  std::smatch m;
  if (!std::regex_search(err, m, std::regex("failed; ([0-9]+) packets, ([0-9]+) bytes"))) return ~0ull;
  return std::stoull(what == "packets" ? m[1].str() : m[2].str());
}

Probe run_probe(const std::string& input, const std::string& filter) {
  static int n = 0;
  const fs::path base = fs::temp_directory_path() /
                        ("netloom-deployment-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  fs::remove_all(base);
  fs::create_directories(base);
  const fs::path xml = base / "probe.xml", out = base / "logs";
  std::ofstream(xml) << kComposition;
  Probe p;
  std::vector<std::string> args = {
      kBin, "run", xml.string(), "-t", "1", "-D", "input=" + input, "-D", "out=" + out.string()};
  if (!filter.empty()) args.insert(args.end(), {"-D", "filter=" + filter});
  p.r = run(args);
  p.packets = summary_number(p.r.err, "packets");
  p.bytes = summary_number(p.r.err, "bytes");
  if (fs::is_directory(out)) {
    for (const auto& e : fs::directory_iterator(out)) {
      std::ifstream f(e.path());
      std::string line;
      while (std::getline(f, line)) {
        if (line.empty()) continue;
        std::map<std::string, std::string> fields;
        if (!parse_object(line, fields)) {
          p.bad_lines.push_back(e.path().filename().string() + ": " + line);
          continue;
        }
        ++p.records;
        const std::string key = flow_key(e.path().stem().string(), fields);
        if (!p.flows.emplace(key, flow_counters(fields)).second) p.duplicate_keys.push_back(key);
      }
    }
  }
  fs::remove_all(base);
  return p;
}

std::string describe(const Probe& p) {
  return "exit " + std::to_string(p.r.status) + ", stderr:\n" + p.r.err;
}

// Runs the reference and the n probes; returns every way the probes' records
// fail to partition the reference's (empty: an exact partition).
std::vector<std::string> split_problems(const std::string& input, int n, bool vlan, Hash h = Hash::kPair) {
  std::vector<std::string> problems;
  auto problem = [&](std::string s) { problems.push_back(std::move(s)); };
  const Probe ref = run_probe(input, "");
  if (ref.r.status != 0) problem("unfiltered run failed: " + describe(ref));
  if (ref.records == 0) problem("unfiltered run logged no flow");
  if (!ref.duplicate_keys.empty())
    problem("unfiltered run: two flows share the key " + ref.duplicate_keys[0]);
  std::vector<Probe> probes;
  for (int k = 0; k < n; ++k) {
    const std::string filter = probe_filter(n, k, vlan, h);
    probes.push_back(run_probe(input, filter));
    const Probe& p = probes.back();
    const std::string who = "probe " + std::to_string(k) + "/" + std::to_string(n);
    if (p.r.status != 0 || p.r.err.find("netloom: error") != std::string::npos)
      problem(who + " [" + filter + "] failed: " + describe(p));
    for (const auto& l : p.bad_lines) problem(who + ": unparsable log line " + l);
    for (const auto& d : p.duplicate_keys) problem(who + ": logged twice " + d);
  }
  std::uint64_t records = 0, packets = 0, bytes = 0;
  for (const auto& p : probes) {
    records += p.records;
    packets += p.packets;
    bytes += p.bytes;
  }
  if (records != ref.records)
    problem("flow records: probes " + std::to_string(records) + ", unfiltered " +
            std::to_string(ref.records));
  if (packets != ref.packets)
    problem("packets read: probes " + std::to_string(packets) + ", unfiltered " +
            std::to_string(ref.packets));
  if (bytes != ref.bytes)
    problem("bytes read: probes " + std::to_string(bytes) + ", unfiltered " + std::to_string(ref.bytes));
  for (const auto& [key, counters] : ref.flows) {
    std::vector<int> in;
    for (int k = 0; k < n; ++k) {
      auto it = probes[k].flows.find(key);
      if (it == probes[k].flows.end()) continue;
      in.push_back(k);
      if (it->second != counters)
        problem("probe " + std::to_string(k) + " counts " + key + " as\n  " + it->second +
                "\nunfiltered:\n  " + counters);
    }
    if (in.empty()) problem("in no probe: " + key);
    if (in.size() > 1) problem("in " + std::to_string(in.size()) + " probes: " + key);
  }
  for (int k = 0; k < n; ++k)
    for (const auto& [key, counters] : probes[k].flows)
      if (!ref.flows.count(key))
        problem("probe " + std::to_string(k) + " has a flow the unfiltered run has not: " + key);
  return problems;
}

std::string first_problems(const std::vector<std::string>& problems) {
  std::string s;
  for (std::size_t i = 0; i < problems.size() && i < 10; ++i) s += problems[i] + "\n";
  if (problems.size() > 10) s += "... " + std::to_string(problems.size() - 10) + " more\n";
  return s;
}

void expect_partition(const std::string& input) {
  for (bool vlan : {false, true})
    for (int n : {2, 3}) {
      SCOPED_TRACE(input + (vlan ? ", vlan-aware filter" : ", plain filter") + ", N=" + std::to_string(n));
      auto problems = split_problems(input, n, vlan);
      EXPECT_TRUE(problems.empty()) << first_problems(problems);
    }
}

fs::path corpus_file(const std::string& name) { return netloom::test::corpus_root() / "dev" / name; }
}  // namespace

TEST(Deployment, FilterTexts) {
  EXPECT_EQ(
      probe_filter(2, 1, false),
      "(ip and (ip[12:4] + ip[16:4]) % 2 = 1) or (ip6 and (ip6[8:4] + ip6[12:4] + ip6[16:4] + ip6[20:4] + "
      "ip6[24:4] + ip6[28:4] + ip6[32:4] + ip6[36:4]) % 2 = 1)");
  EXPECT_EQ(probe_filter(3, 0, false).rfind("not ((ip and ", 0), 0u);
  EXPECT_NE(probe_filter(3, 0, false).find("% 3 != 0"), std::string::npos);
  EXPECT_NE(probe_filter(3, 2, true).find(" or (vlan and ((ip and "), std::string::npos);
}

// data/demo.pcap: IPv4, IPv6 and 802.1Q-tagged IPv4 traffic, TCP and UDP.
TEST(Deployment, BpfSplitPartitionsDemoTrace) { expect_partition(kSrc + "/data/demo.pcap"); }

// Real captures: VLAN-tagged IPv6 + untagged IPv4 (smtp-starttls), IPv6-heavy
// pcapng with ICMP (quic_interop_V), ARP/DHCP next to IPv4 (android), VLAN,
// QinQ and GRE (gre).
TEST(Deployment, BpfSplitPartitionsCorpusTraces) {
  if (!fs::is_directory(netloom::test::corpus_root()))
    GTEST_SKIP() << "no corpus at " << netloom::test::corpus_root() << " (set NETLOOM_CORPUS)";
  for (const char* name : {"smtp-starttls.pcap", "quic_interop_V.pcapng", "android.pcap", "gre.pcap"}) {
    const fs::path f = corpus_file(name);
    if (!fs::exists(f)) {
      ADD_FAILURE() << "corpus capture missing: " << f;
      continue;
    }
    expect_partition(f.string());
  }
}

// The limit docs/deployment.md states: without the `vlan` clause the filters
// look at the untagged EtherType only, so every 802.1Q-tagged flow lands on
// probe 0 (still a partition, not a balanced one); with it they spread.
TEST(Deployment, TaggedFlowsNeedTheVlanClause) {
  const std::string input = kSrc + "/data/demo.pcap";
  const Probe tagged = run_probe(input, "vlan");
  ASSERT_EQ(tagged.r.status, 0) << describe(tagged);
  ASSERT_GE(tagged.flows.size(), 3u) << "demo.pcap should hold several tagged flows";
  const int n = 3;
  std::set<int> plain_probes, vlan_probes;
  for (int k = 0; k < n; ++k) {
    const Probe plain = run_probe(input, probe_filter(n, k, false));
    const Probe aware = run_probe(input, probe_filter(n, k, true));
    ASSERT_EQ(plain.r.status, 0) << describe(plain);
    ASSERT_EQ(aware.r.status, 0) << describe(aware);
    for (const auto& [key, counters] : tagged.flows) {
      if (plain.flows.count(key)) plain_probes.insert(k);
      if (aware.flows.count(key)) vlan_probes.insert(k);
    }
  }
  EXPECT_EQ(plain_probes, std::set<int>{0});
  EXPECT_GE(vlan_probes.size(), 2u);
}

// libpcap accepts `vlan` only on Ethernet-like link types: on a PPP capture
// the vlan-aware filter is an error, the plain one partitions.
TEST(Deployment, VlanClauseNeedsEthernet) {
  const fs::path f = corpus_file("dlt_ppp.pcap");
  if (!fs::exists(f)) GTEST_SKIP() << "no " << f << " (set NETLOOM_CORPUS)";
  const Probe aware = run_probe(f.string(), probe_filter(2, 1, true));
  EXPECT_NE(aware.r.status, 0);
  EXPECT_NE(aware.r.err.find("no VLAN support"), std::string::npos) << aware.r.err;
  for (int n : {2, 3}) {
    auto problems = split_problems(f.string(), n, false);
    EXPECT_TRUE(problems.empty()) << "N=" << n << "\n" << first_problems(problems);
  }
}

// The check above would notice a broken hash: on the source address alone
// the two directions of a connection go to different probes.
TEST(Deployment, SourceOnlyHashIsCaught) {
  auto problems = split_problems(kSrc + "/data/demo.pcap", 2, true, Hash::kSourceOnly);
  EXPECT_FALSE(problems.empty());
  bool split_flow = false;
  for (const auto& p : problems)
    if (p.find("counts") != std::string::npos ||
        p.find("has a flow the unfiltered run has not") != std::string::npos)
      split_flow = true;
  EXPECT_TRUE(split_flow) << first_problems(problems);
}
