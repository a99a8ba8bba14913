// netloom-synth: same seed -> same bytes; the labels file describes exactly the
// flows found when the pcap is read back with libpcap; exact default counts.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "synth.hpp"

namespace fs = std::filesystem;
using namespace netloom::synth;

namespace {

const fs::path& tmp_dir() {
  // Removed when the test program exits.
  static struct Dir {
    fs::path path = fs::temp_directory_path() / ("netloom_test_synth_" + std::to_string(::getpid()));
    Dir() { fs::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      fs::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

fs::path tmp_file(const std::string& name) { return tmp_dir() / name; }

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

fs::path make(const Options& opt, const std::string& name, fs::path* labels = nullptr) {
  fs::path out = tmp_file(name + ".pcap");
  Trace t = generate(opt);
  write_pcap(t, opt, out.string());
  if (labels != nullptr) {
    *labels = tmp_file(name + ".labels.csv");
    write_labels(t, labels->string());
  }
  return out;
}

struct Tally {
  uint64_t packets = 0, bytes = 0;
};

std::string ip_text(const uint8_t* p, bool v6) {
  Addr a;
  a.v6 = v6;
  std::copy(p, p + (v6 ? 16 : 4), a.b.begin());
  if (!v6) return a.str();
  std::string s = "[";
  s += a.str();
  s += ']';
  return s;
}

std::string flow_key(const std::string& l4, const std::string& a, const std::string& b) {
  return l4 + "|" + std::min(a, b) + "|" + std::max(a, b);
}

struct ReadBack {
  std::map<std::string, Tally> flows;
  uint64_t packets = 0;
  bool monotonic = true;
  double first = 0, last = 0;
};

// A small independent decoder: Ethernet (+802.1Q), Linux SLL, raw IP; IPv4 (+fragments), IPv6.
ReadBack read_back(const fs::path& file) {
  ReadBack r;
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline_with_tstamp_precision(file.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  EXPECT_NE(p, nullptr) << err;
  if (p == nullptr) return r;
  const int dlt = pcap_datalink(p);
  std::map<std::string, std::string> frag_owner;  // src|dst|id -> flow key of the first fragment
  pcap_pkthdr* h;
  const u_char* d;
  double prev = 0;
  while (pcap_next_ex(p, &h, &d) == 1) {
    const double ts = static_cast<double>(h->ts.tv_sec) + static_cast<double>(h->ts.tv_usec) * 1e-9;
    if (r.packets == 0) r.first = ts;
    if (ts < prev) r.monotonic = false;
    prev = r.last = ts;
    ++r.packets;
    size_t off = 0;
    uint16_t ethertype = 0;
    if (dlt == DLT_EN10MB) {
      ethertype = static_cast<uint16_t>(d[12] << 8 | d[13]);
      off = 14;
      if (ethertype == 0x8100) {
        ethertype = static_cast<uint16_t>(d[16] << 8 | d[17]);
        off = 18;
      }
    } else if (dlt == DLT_LINUX_SLL) {
      ethertype = static_cast<uint16_t>(d[14] << 8 | d[15]);
      off = 16;
    } else {
      ethertype = (d[0] >> 4) == 6 ? 0x86dd : 0x0800;
    }
    const uint8_t* ip = d + off;
    const bool v6 = ethertype == 0x86dd;
    uint8_t proto;
    const uint8_t* l4;
    std::string src, dst;
    std::string frag_id;
    bool later_fragment = false;
    if (v6) {
      proto = ip[6];
      l4 = ip + 40;
      src = ip_text(ip + 8, true);
      dst = ip_text(ip + 24, true);
    } else {
      proto = ip[9];
      l4 = ip + (ip[0] & 0x0f) * 4;
      src = ip_text(ip + 12, false);
      dst = ip_text(ip + 16, false);
      const uint16_t frag = static_cast<uint16_t>(ip[6] << 8 | ip[7]);
      if (frag & 0x3fff) frag_id = src + "|" + dst + "|" + std::to_string(ip[4] << 8 | ip[5]);
      later_fragment = (frag & 0x1fff) != 0;
    }
    std::string key;
    if (later_fragment) {
      key = frag_owner.at(frag_id);
    } else {
      const std::string l4name = proto == 6 ? "TCP" : proto == 17 ? "UDP" : "ICMP";
      uint16_t sp = 0, dp = 0;
      if (proto == 6 || proto == 17) {
        sp = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
        dp = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
      }
      key = flow_key(l4name, src + ":" + std::to_string(sp), dst + ":" + std::to_string(dp));
      if (!frag_id.empty()) frag_owner[frag_id] = key;
    }
    r.flows[key].packets += 1;
    r.flows[key].bytes += h->len;
  }
  pcap_close(p);
  return r;
}

struct LabelRow {
  std::string l4, client, server, label;
  uint64_t packets, bytes;
};

std::vector<LabelRow> read_labels(const fs::path& file) {
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "l4,client,server,label,packets,bytes");
  std::vector<LabelRow> rows;
  while (std::getline(in, line)) {
    std::istringstream s(line);
    LabelRow r;
    std::string pk, by;
    std::getline(s, r.l4, ',');
    std::getline(s, r.client, ',');
    std::getline(s, r.server, ',');
    std::getline(s, r.label, ',');
    std::getline(s, pk, ',');
    std::getline(s, by, ',');
    r.packets = std::stoull(pk);
    r.bytes = std::stoull(by);
    rows.push_back(r);
  }
  return rows;
}

void check_labels_match(const Options& opt, const std::string& name) {
  fs::path labels;
  fs::path pcap = make(opt, name, &labels);
  ReadBack rb = read_back(pcap);
  std::vector<LabelRow> rows = read_labels(labels);
  ASSERT_EQ(static_cast<int>(rows.size()), opt.flows);
  EXPECT_EQ(rb.flows.size(), rows.size());
  uint64_t packets = 0;
  for (const auto& row : rows) {
    const std::string key = flow_key(row.l4, row.client, row.server);
    auto it = rb.flows.find(key);
    ASSERT_NE(it, rb.flows.end()) << "labels row without packets: " << key;
    EXPECT_EQ(it->second.packets, row.packets) << key;
    EXPECT_EQ(it->second.bytes, row.bytes) << key;
    packets += row.packets;
  }
  EXPECT_EQ(packets, rb.packets);
  EXPECT_TRUE(rb.monotonic);
  EXPECT_GE(rb.first, static_cast<double>(opt.start));
  EXPECT_LE(rb.last, static_cast<double>(opt.start) + opt.duration);
}

}  // namespace

TEST(Synth, SameSeedSameBytes) {
  Options opt;
  EXPECT_EQ(slurp(make(opt, "a")), slurp(make(opt, "b")));
  opt.seed = 2;
  EXPECT_NE(slurp(make(Options{}, "c")), slurp(make(opt, "d")));
}

TEST(Synth, LabelsMatchPcapEthernet) { check_labels_match(Options{}, "eth"); }

TEST(Synth, LabelsMatchPcapOtherLinkTypesAndSeeds) {
  Options opt;
  opt.link = LinkType::sll;
  opt.seed = 7;
  opt.nanosecond = true;
  check_labels_match(opt, "sll");
  opt.link = LinkType::raw;
  opt.seed = 11;
  opt.flows = 97;
  check_labels_match(opt, "raw");
}

TEST(Synth, LabelsCoverEveryClass) {
  Trace t = generate(Options{});
  std::map<std::string, int> by_label;
  for (const auto& f : t.flows) by_label[f.label]++;
  for (const char* l : {"HTTP", "TLS", "SSH", "SMTP", "DNS", "QUIC", "NTP", "ICMP", "Unknown"})
    EXPECT_GT(by_label[l], 0) << l;
}

// The default run, as capinfos/tshark counted it when data/demo.pcap was generated.
// Changing the generator changes these: regenerate data/demo.pcap and update them together.
TEST(Synth, DefaultRunExactCounts) {
  Trace t = generate(Options{});
  uint64_t bytes = 0;
  for (const auto& p : t.packets) bytes += p.frame.size();
  EXPECT_EQ(t.flows.size(), 60u);
  EXPECT_EQ(t.packets.size(), 685u);
  EXPECT_EQ(bytes, 292258u);
  int tcp = 0, udp = 0, icmp = 0;
  for (const auto& f : t.flows) (f.l4 == "TCP" ? tcp : f.l4 == "UDP" ? udp : icmp)++;
  EXPECT_EQ(tcp, 34);
  EXPECT_EQ(udp, 25);
  EXPECT_EQ(icmp, 1);
}

TEST(Synth, CommittedDemoMatchesGenerator) {
  const fs::path demo = fs::path(NETLOOM_SOURCE_ROOT) / "data" / "demo.pcap";
  if (!fs::exists(demo)) GTEST_SKIP() << demo << " not present";
  EXPECT_EQ(slurp(demo), slurp(make(Options{}, "demo")));
}
