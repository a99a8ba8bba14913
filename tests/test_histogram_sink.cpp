// HistogramSink (build/plugins/netloom_histogram.so) behind a real
// FlowTracker, fed like the runtime feeds them (packet-time timers). The
// golden tests compare every histogram file of every window with values this
// file computes itself from the decoded packets and the final flow records,
// with the ranges typed in from spec §8 — never through the sink's code.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "pcap_builder.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::testing;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ull;

// ------------------------------------------------------------ plumbing

test::PluginFile& flow_plugin() {
  static test::PluginFile p("netloom_flow.so");
  return p;
}
test::PluginFile& hist_plugin() {
  static test::PluginFile p("netloom_histogram.so");
  return p;
}

struct Collect : Emit {
  std::vector<std::shared_ptr<PacketBatch>> batches;
  std::vector<std::shared_ptr<HistogramWindow>> windows;
  void operator()(unsigned, MessagePtr msg) override {
    if (msg->type_name() == PacketBatch::kType)
      batches.push_back(std::static_pointer_cast<PacketBatch>(msg));
    else if (msg->type_name() == HistogramWindow::kType)
      windows.push_back(std::static_pointer_cast<HistogramWindow>(msg));
  }
};

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& name)
      : path(fs::temp_directory_path() / ("netloom-histo-" + name + "-" + std::to_string(::getpid()))) {
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  std::string file(const std::string& name, const std::string& text) const {
    std::ofstream(path / name) << text;
    return (path / name).string();
  }
};

// Runtime-like timers: on_timer(id, t) for each multiple t of the period up
// to the first packet of the next batch.
void fire_timers(Block& b, test::FakeContext& ctx, const PacketBatch& batch, Emit& emit) {
  if (batch.packets.empty()) return;
  const std::uint64_t t = batch.packets.front().ts_ns;
  for (auto& tm : ctx.timers) {
    if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
    while (tm.next <= t) {
      b.on_timer(tm.id, tm.next, emit);
      tm.next += tm.period;
    }
  }
}

const char* const kNets = "192.168.0.0/16\n10.0.0.0/8\n";

// The test's view of that net file (no IPv6 entry: every IPv6 address internal).
bool internal(const IpAddr& a, std::uint8_t ver) {
  if (ver == 6) return true;
  return (a[0] == 192 && a[1] == 168) || a[0] == 10;
}

// The test's classifier: labels by server port, set when the flow opens.
void classify(const PacketBatch& b) {
  for (const FlowEvent& e : b.events) {
    if (e.kind != FlowEvent::Kind::opened || !e.flow) continue;
    FlowRecord& r = e.flow->record;
    if (r.key.l4_proto == 6 && r.key.server_port == 443) r.labels.con_type = 8192;  // SSL
    if (r.key.l4_proto == 6 && r.key.server_port == 80) r.labels.con_type = 1;      // HTTP
    if (r.key.l4_proto == 17 && (r.key.server_port == 53 || r.key.client_port == 53))
      r.labels.udp_type = {19, 19};  // DNS
  }
}
// ...and the L7 ids (spec §4.4) those labels must give.
unsigned expected_l7(const FlowKey& k) {
  if (k.l4_proto == 6) return k.server_port == 443 ? 33 : k.server_port == 80 ? 0 : 49;
  return k.server_port == 53 || k.client_port == 53 ? 36 : 49;
}

// FlowTracker -> classify() -> `observe` (the expectation model) -> HistogramSink.
struct Chain {
  test::FakeContext tctx, hctx;
  std::unique_ptr<Block> tracker, sink;
  Collect mid, out;
  std::function<void(const PacketBatch&)> observe;

  Chain(std::map<std::string, ParamValue> tracker_over, std::map<std::string, ParamValue> sink_over) {
    tctx.id = "trk";
    hctx.id = "hist";
    tracker = test::make_block(flow_plugin().factory(), tctx, tracker_over);
    sink = test::make_block(hist_plugin().factory(), hctx, sink_over);
  }
  void feed(const std::shared_ptr<PacketBatch>& b) {
    if (!b->packets.empty()) b->clock_ns = b->packets.back().ts_ns;
    fire_timers(*tracker, tctx, *b, mid);
    tracker->receive(0, b, mid);
    pass();
  }
  void pass() {
    for (auto& b : mid.batches) {
      classify(*b);
      if (observe) observe(*b);
      fire_timers(*sink, hctx, *b, out);
      sink->receive(0, b, out);
    }
    mid.batches.clear();
  }
  void flush() {
    tracker->flush(mid);
    pass();
    sink->flush(out);
  }
};

// ---------------------------------------------------- the expected model

// Spec §8's ranges, typed in here (0: no suffix, 1: _in _out _loc, 2: _c2s _s2c).
struct Spec {
  const char* base;
  int variants;
  long min, max, bin;
  bool pseudo;
};
const Spec kSpec[] = {
    {"ip_protocol", 1, 0, 255, 1, false},
    {"ip_len", 1, 0, 1504, 4, false},
    {"ip_ttl", 1, 0, 255, 1, false},
    {"ip_tos", 1, 0, 255, 1, false},
    {"ip6_plen", 1, 0, 1504, 16, false},
    {"ip6_hop_limit", 1, 0, 70, 1, false},
    {"ip_bitrate", 1, 0, 4, 1, true},
    {"L3_protocol", 1, 0, 6, 1, false},
    {"L3_bitrate", 1, 0, 6, 1, true},
    {"tcp_port_src", 1, 0, 65536, 1, false},
    {"tcp_port_dst", 1, 0, 65536, 1, false},
    {"tcp_port_synsrc", 1, 0, 65536, 1, false},
    {"tcp_port_syndst", 1, 0, 65536, 1, false},
    {"udp_port_dst", 1, 0, 65536, 1, false},
    {"tcp_bitrate", 1, 0, 50, 1, true},
    {"udp_bitrate", 1, 0, 50, 1, true},
    {"L4_flow_number", 0, 0, 2, 1, false},
    {"udp_port_flow_dst", 0, 0, 65536, 1, false},
    {"L7_TCP_num", 1, 0, 50, 1, false},
    {"tcp_opts_SACK", 0, 1, 4, 1, false},
    {"tcp_opts_WS", 0, 1, 4, 1, false},
    {"tcp_opts_TS", 0, 1, 4, 1, false},
    {"tcp_mss_a", 0, 0, 1600, 4, false},
    {"tcp_mss_b", 0, 0, 1600, 4, false},
    {"tcp_mss_used", 0, 0, 1600, 4, false},
    {"tcp_win_max", 1, 0, 65536, 256, false},
    {"tcp_win_min", 1, 0, 65536, 256, false},
    {"tcp_cl_p", 1, 0, 1000, 1, false},
    {"tcp_cl_b_s", 1, 0, 50000, 50, false},
    {"tcp_cl_b_l", 1, 0, 50000000, 50000, false},
    {"tcp_rtt_min", 1, 0, 2000, 1, false},
    {"tcp_rtt_avg", 1, 0, 2000, 1, false},
    {"tcp_rtt_max", 1, 0, 2000, 1, false},
    {"tcp_rtt_stdev", 1, 0, 2000, 1, false},
    {"tcp_rtt_cnt", 1, 0, 200, 1, false},
    {"tcp_anomalies", 1, 0, 64, 1, false},
    {"tcp_rtx_RTO", 1, 0, 100, 1, false},
    {"tcp_rtx_FR", 1, 0, 100, 1, false},
    {"tcp_reordering", 1, 0, 100, 1, false},
    {"tcp_net_dup", 1, 0, 100, 1, false},
    {"tcp_unknown", 1, 0, 100, 1, false},
    {"tcp_flow_ctrl", 1, 0, 100, 1, false},
    {"tcp_unnrtx", 1, 0, 100, 1, false},
    {"tcp_tot_time", 0, 0, 720000, 50, false},
    {"tcp_thru", 2, 0, 1000, 1, false},
    {"tcp_thru_lf", 2, 0, 20000, 10, false},
    {"L7_UDP_num", 1, 0, 50, 1, false},
    {"udp_cl_p", 1, 0, 1000, 1, false},
    {"udp_cl_b_s", 1, 0, 50000, 50, false},
    {"udp_cl_b_l", 1, 0, 50000000, 50000, false},
    {"udp_tot_time", 0, 0, 720000, 50, false},
};

struct Range {
  long min, max, bin;
  bool pseudo;
};
const std::map<std::string, Range>& spec_ranges() {
  static const std::map<std::string, Range> m = [] {
    std::map<std::string, Range> r;
    for (const Spec& s : kSpec) {
      std::vector<std::string> suffixes = s.variants == 1   ? std::vector<std::string>{"_in", "_out", "_loc"}
                                          : s.variants == 2 ? std::vector<std::string>{"_c2s", "_s2c"}
                                                            : std::vector<std::string>{""};
      for (const auto& x : suffixes) r[s.base + x] = {s.min, s.max, s.bin, s.pseudo};
    }
    return r;
  }();
  return m;
}

using Bins = std::map<long, std::uint64_t>;  // printed edge -> count

long edge_of(const Range& r, double v) {
  if (v < r.min) return r.min - r.bin;
  if (v >= r.max) return r.max;
  return r.min + static_cast<long>(std::floor((v - r.min) / r.bin)) * r.bin;
}

struct Stats {
  std::uint64_t count = 0;
  double mean = 0, m2 = 0, vmin = 0, vmax = 0;
};

struct Window {
  std::map<std::string, std::vector<std::pair<double, std::uint64_t>>> values;
  std::map<std::string, std::map<unsigned, std::uint64_t>> bytes;  // pseudo: category -> bytes
  std::map<std::uint32_t, std::array<std::uint64_t, 4>> adx;       // /24 -> src, dst hits, bytes
};

struct Model {
  std::uint64_t step;
  bool started = false;
  std::uint64_t first = 0, last_ts = 0;
  long cur = 0;
  std::map<long, Window> windows;
  std::uint64_t counted_packets = 0;  // IP packets with a direction class

  explicit Model(std::uint64_t step_ns) : step(step_ns) {}

  void batch(const PacketBatch& b) {
    std::size_t ev = 0;
    for (std::size_t i = 0; i < b.packets.size(); ++i) {
      const Packet& p = b.packets[i];
      if (p.ts_ns) {
        if (!started) started = true, first = p.ts_ns;
        cur = std::max(cur, static_cast<long>(p.ts_ns / step - first / step));
        last_ts = std::max(last_ts, p.ts_ns);
      }
      for (; ev < b.events.size() && b.events[ev].at <= i; ++ev) event(b.events[ev]);
      packet(p);
    }
    for (; ev < b.events.size(); ++ev) event(b.events[ev]);
  }

  Window& w() { return windows[cur]; }
  void add(const std::string& n, double v, std::uint64_t k = 1) {
    if (k) w().values[n].push_back({v, k});
  }
  static std::string dir(bool src_int, bool dst_int) {
    if (src_int) return dst_int ? "_loc" : "_out";
    return dst_int ? "_in" : "";
  }

  void packet(const Packet& p) {
    w();  // the window saw something
    if (!p.is_ip() || p.l3_off == kNoOffset) return;
    const std::string d = dir(internal(p.src, p.ip_version), internal(p.dst, p.ip_version));
    if (d.empty()) return;
    ++counted_packets;
    const double len = p.ip_len;
    unsigned l3;
    if (p.ip_version == 4) {
      add("ip_protocol" + d, p.l4_proto);
      add("ip_len" + d, len);
      add("ip_ttl" + d, p.ttl);
      add("ip_tos" + d, p.data[p.l3_off + 1]);
      auto& br = w().bytes["ip_bitrate" + d];
      if (p.l4_proto == 6) br[0] += p.ip_len;
      if (p.l4_proto == 17) br[1] += p.ip_len;
      if (p.l4_proto == 1) br[2] += p.ip_len;
      br[3] += p.ip_len;
      l3 = p.l4_proto == 6 ? 0 : p.l4_proto == 17 ? 1 : 2;
      if (d != "_loc") {
        const IpAddr& ext = d == "_out" ? p.dst : p.src;
        const std::uint32_t net = static_cast<std::uint32_t>(ext[0]) << 24 | ext[1] << 16 | ext[2] << 8;
        auto& a = w().adx[net];
        const int k = d == "_out" ? 1 : 0;
        a[k] += 1;
        a[2 + k] += p.ip_len;
      }
    } else {
      add("ip6_plen" + d, len - 40);
      add("ip6_hop_limit" + d, p.ttl);
      l3 = p.l4_proto == 6 ? 3 : p.l4_proto == 17 ? 4 : 5;
    }
    add("L3_protocol" + d, l3);
    w().bytes["L3_bitrate" + d][l3] += p.ip_len;
    if (!p.flow) return;
    const unsigned l7 = expected_l7(p.flow->record.key);
    if (p.l4_proto == 6) {
      add("tcp_port_src" + d, p.sport);
      add("tcp_port_dst" + d, p.dport);
      if ((p.tcp_flags & 0x12) == 0x02) {
        add("tcp_port_synsrc" + d, p.sport);
        add("tcp_port_syndst" + d, p.dport);
      }
      w().bytes["tcp_bitrate" + d][l7] += p.ip_len;
    } else if (p.l4_proto == 17) {
      add("udp_port_dst" + d, p.dport);
      w().bytes["udp_bitrate" + d][l7] += p.ip_len;
    }
  }

  void event(const FlowEvent& e) {
    w();
    const FlowRecord& r = e.flow->record;
    if (e.kind == FlowEvent::Kind::opened) {
      add("L4_flow_number", r.key.l4_proto == 6 ? 0 : 1);
      if (r.key.l4_proto == 17) add("udp_port_flow_dst", r.key.server_port);
      return;
    }
    if (e.kind != FlowEvent::Kind::closed) return;
    const bool ci = internal(r.key.client, r.key.ip_version), si = internal(r.key.server, r.key.ip_version);
    const std::string d = dir(ci, si);
    if (d.empty()) return;
    const std::string half[2] = {dir(ci, si), dir(si, ci)};
    const double dur = static_cast<double>(r.last_ns - r.first_ns) / 1e6;
    if (r.key.l4_proto == 17) {
      add("L7_UDP_num" + d, expected_l7(r.key));
      add("udp_tot_time", dur);
      for (int k = 0; k < 2; ++k) {
        if (!r.udp[k].pkts_all) continue;
        add("udp_cl_p" + half[k], static_cast<double>(r.udp[k].pkts_all));
        add("udp_cl_b_s" + half[k], static_cast<double>(r.udp[k].bytes_all));
        add("udp_cl_b_l" + half[k], static_cast<double>(r.udp[k].bytes_all));
      }
      return;
    }
    if (!r.complete) return;  // flow histograms: complete TCP flows only
    add("L7_TCP_num" + d, expected_l7(r.key));
    auto opt = [&](const char* n, bool c, bool s) { add(n, c && s ? 1 : c ? 2 : s ? 3 : 4); };
    opt("tcp_opts_SACK", r.tcp[0].sack_requested, r.tcp[1].sack_requested);
    opt("tcp_opts_WS", r.tcp[0].ws_requested, r.tcp[1].ws_requested);
    opt("tcp_opts_TS", r.tcp[0].ts_requested, r.tcp[1].ts_requested);
    const unsigned ma = r.tcp[0].mss, mb = r.tcp[1].mss;
    if (ma) add("tcp_mss_a", ma);
    if (mb) add("tcp_mss_b", mb);
    add("tcp_mss_used", ma && mb ? std::min(ma, mb) : 536);
    add("tcp_tot_time", dur);
    const char* hs[2] = {"_c2s", "_s2c"};
    for (int k = 0; k < 2; ++k) {
      const TcpDirStats& s = r.tcp[k];
      const std::string& h = half[k];
      if (s.bytes_uniq && s.last_payload_ns > r.first_ns) {
        const double kbps = static_cast<double>(s.bytes_uniq) * 8.0 /
                            (static_cast<double>(s.last_payload_ns - r.first_ns) / 1e6);
        add(std::string("tcp_thru") + hs[k], kbps);
        if (s.bytes_uniq >= 1000000) add(std::string("tcp_thru_lf") + hs[k], kbps);
      }
      add("tcp_cl_p" + h, static_cast<double>(s.pkts_all));
      add("tcp_cl_b_s" + h, static_cast<double>(s.bytes_uniq));
      add("tcp_cl_b_l" + h, static_cast<double>(s.bytes_uniq));
      add("tcp_win_max" + h, static_cast<double>(s.win_max));
      if (s.win_min) add("tcp_win_min" + h, static_cast<double>(s.win_min));
      add("tcp_rtt_cnt" + h, static_cast<double>(s.rtt_cnt));
      if (s.rtt_cnt) {
        const double n = static_cast<double>(s.rtt_cnt);
        add("tcp_rtt_min" + h, s.rtt_min_us / 1000.0);
        add("tcp_rtt_max" + h, s.rtt_max_us / 1000.0);
        add("tcp_rtt_avg" + h, s.rtt_sum_us / (n + 0.0001) / 1000.0);
        if (s.rtt_cnt > 2) {
          const double var = (s.rtt_sum2_us - s.rtt_sum_us * s.rtt_sum_us / n) / (n - 1);
          add("tcp_rtt_stdev" + h, var > 0 ? std::sqrt(var) / 1000.0 : 0.0);
        }
      }
      add("tcp_rtx_RTO" + h, static_cast<double>(s.pkts_rto));
      add("tcp_rtx_FR" + h, static_cast<double>(s.pkts_fr));
      add("tcp_reordering" + h, static_cast<double>(s.pkts_reor));
      add("tcp_net_dup" + h, static_cast<double>(s.pkts_dup));
      add("tcp_unknown" + h, static_cast<double>(s.pkts_unk));
      add("tcp_flow_ctrl" + h, static_cast<double>(s.pkts_fc));
      add("tcp_unnrtx" + h, static_cast<double>(s.pkts_unrto + s.pkts_unfr));
      const std::uint64_t classes[] = {s.pkts_rto, s.pkts_fr,    s.pkts_reor, s.pkts_dup,
                                       s.pkts_fc,  s.pkts_unrto, s.pkts_unfr};
      std::uint64_t anomalies = s.pkts_unk;
      for (int c = 0; c < 7; ++c) {
        add("tcp_anomalies" + h, c + 1, classes[c]);
        anomalies += classes[c];
      }
      add("tcp_anomalies" + h, 63, s.pkts_unk);
      add("tcp_anomalies" + h, 0, s.pkts_data > anomalies ? s.pkts_data - anomalies : 0);
    }
  }

  // Expected file lines of `name` in window k (LAST is the last window).
  Bins bins(long k, const std::string& name) const {
    Bins out;
    const Range& r = spec_ranges().at(name);
    auto wi = windows.find(k);
    if (wi == windows.end()) return out;
    if (r.pseudo) {
      const std::uint64_t start = (first / step + static_cast<std::uint64_t>(k)) * step;
      const std::uint64_t from = std::max(start, first);
      const std::uint64_t to = k == cur ? std::max(last_ts, from) : start + step;
      const double ms = static_cast<double>(to - from) / 1e6;
      auto bi = wi->second.bytes.find(name);
      if (bi == wi->second.bytes.end() || ms <= 0) return out;
      for (const auto& [cat, bytes] : bi->second) {
        const auto rate = static_cast<std::uint64_t>(static_cast<double>(bytes) * 8000.0 / ms);
        if (rate) out[r.min + static_cast<long>(cat) * r.bin] = rate;
      }
      return out;
    }
    auto vi = wi->second.values.find(name);
    if (vi == wi->second.values.end()) return out;
    for (const auto& [v, n] : vi->second) out[edge_of(r, v)] += n;
    return out;
  }
  Stats stats(long k, const std::string& name) const {
    Stats s;
    auto wi = windows.find(k);
    if (wi == windows.end()) return s;
    auto vi = wi->second.values.find(name);
    if (vi == wi->second.values.end()) return s;
    double sum = 0;
    for (const auto& [v, n] : vi->second) {
      if (s.count == 0) s.vmin = s.vmax = v;
      s.vmin = std::min(s.vmin, v);
      s.vmax = std::max(s.vmax, v);
      s.count += n;
      sum += v * static_cast<double>(n);
    }
    s.mean = sum / static_cast<double>(s.count);
    for (const auto& [v, n] : vi->second) s.m2 += (v - s.mean) * (v - s.mean) * static_cast<double>(n);
    return s;
  }
  std::string adx_text(long k) const {
    std::string t = "#subnet/255.255.255.0 src_hits dst_hits src_bytes dst_bytes\n";
    auto wi = windows.find(k);
    if (wi == windows.end()) return t;
    for (const auto& [net, a] : wi->second.adx) {
      std::ostringstream l;
      l << (net >> 24) << '.' << (net >> 16 & 255) << '.' << (net >> 8 & 255) << ".0 " << a[0] << ' ' << a[1]
        << ' ' << a[2] << ' ' << a[3] << '\n';
      t += l.str();
    }
    return t;
  }
};

// ------------------------------------------------------------ reading files

struct HistoFile {
  std::string description, range;
  Bins bins;
};

HistoFile read_histo(const fs::path& p) {
  HistoFile h;
  std::ifstream in(p);
  EXPECT_TRUE(in) << p;
  std::getline(in, h.description);
  std::getline(in, h.range);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    long edge;
    std::uint64_t count;
    EXPECT_TRUE(static_cast<bool>(ls >> edge >> count)) << p << ": " << line;
    EXPECT_TRUE(h.bins.emplace(edge, count).second) << p << ": edge twice: " << line;
  }
  return h;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::set<std::string> entries(const fs::path& d) {
  std::set<std::string> s;
  if (fs::is_directory(d))
    for (const auto& e : fs::directory_iterator(d)) s.insert(e.path().filename().string());
  return s;
}

std::string window_name(long k) {
  char b[16];
  std::snprintf(b, sizeof b, "%03ld", k);
  return b;
}

std::string utc_dir_name(std::uint64_t ns) {
  const std::time_t t = static_cast<std::time_t>(ns / kSec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y_%m_%d_%H_%M.out", &tm);
  return b;
}

std::string range_line(const Range& r) {
  return "#RANGE: min=" + std::to_string(r.min) + " bin_size=" + std::to_string(r.bin) +
         " max=" + std::to_string(r.max);
}

// Every window directory the sink wrote against the model: the set of
// windows, the set of files, and every file's lines. Returns the run dir.
fs::path check_against_model(const fs::path& out, const Model& m,
                             std::set<std::string>* non_empty = nullptr) {
  const std::set<std::string> runs = entries(out);
  EXPECT_EQ(runs, std::set<std::string>{utc_dir_name(m.first)});
  const fs::path run = out / utc_dir_name(m.first);
  std::set<std::string> want_dirs = {"LAST"};
  for (const auto& [k, w] : m.windows)
    if (k != m.cur) want_dirs.insert(window_name(k));
  EXPECT_EQ(entries(run), want_dirs);
  std::set<std::string> want_files = {"addresses"};
  for (const auto& [n, r] : spec_ranges()) want_files.insert(n);
  for (const auto& [k, w] : m.windows) {
    const fs::path wd = run / (k == m.cur ? std::string("LAST") : window_name(k));
    EXPECT_EQ(entries(wd), want_files) << wd;
    for (const auto& [name, r] : spec_ranges()) {
      const HistoFile f = read_histo(wd / name);
      EXPECT_EQ(f.range, range_line(r)) << wd / name;
      EXPECT_EQ(f.description.substr(0, 1), "#") << wd / name;
      const Bins want = m.bins(k, name);
      EXPECT_EQ(f.bins, want) << wd / name;
      if (non_empty && !want.empty()) non_empty->insert(name);
    }
    EXPECT_EQ(read_all(wd / "addresses"), m.adx_text(k)) << wd;
  }
  return run;
}

// The window messages carry exactly what the files hold, and the statistics
// of every value the model added.
void check_messages(const std::vector<std::shared_ptr<HistogramWindow>>& msgs, const fs::path& run,
                    const Model& m) {
  std::set<long> seen;
  for (const auto& w : msgs) {
    const long k = static_cast<long>(w->step);
    EXPECT_EQ(w->last, k == m.cur);
    EXPECT_TRUE(seen.insert(k).second) << "window " << k << " emitted twice";
    EXPECT_EQ(w->start_ns, (m.first / m.step + static_cast<std::uint64_t>(k)) * m.step);
    EXPECT_EQ(w->end_ns, w->last ? m.last_ts : w->start_ns + m.step);
    EXPECT_EQ(w->histograms.size(), spec_ranges().size());
    const fs::path wd = run / (w->last ? std::string("LAST") : window_name(k));
    for (const HistogramData& h : w->histograms) {
      const Range& r = spec_ranges().at(h.name);
      EXPECT_EQ(h.pseudo, r.pseudo) << h.name;
      EXPECT_EQ(h.bins.size(), static_cast<std::size_t>((r.max - r.min) / r.bin + 3)) << h.name;
      Bins from_msg;
      for (std::size_t i = 0; i + 1 < h.bins.size(); ++i)
        if (h.bins[i]) from_msg[r.min + (static_cast<long>(i) - 1) * r.bin] = h.bins[i];
      EXPECT_EQ(from_msg, read_histo(wd / h.name).bins) << h.name << " in " << wd;
      if (r.pseudo) {
        EXPECT_EQ(h.count, 0u) << h.name;
        continue;
      }
      std::uint64_t in_range = 0;
      for (std::size_t i = 1; i + 2 < h.bins.size(); ++i) in_range += h.bins[i];
      EXPECT_EQ(h.bins.back(), in_range) << h.name;
      const Stats s = m.stats(k, h.name);
      EXPECT_EQ(h.count, s.count) << h.name << " window " << k;
      if (s.count) {
        EXPECT_NEAR(h.mean, s.mean, 1e-9 * std::max(1.0, std::fabs(s.mean))) << h.name;
        EXPECT_NEAR(h.m2, s.m2, 1e-6 * std::max(1.0, s.m2)) << h.name;
        EXPECT_EQ(h.vmin, s.vmin) << h.name;
        EXPECT_EQ(h.vmax, s.vmax) << h.name;
      }
    }
  }
  std::set<long> want;
  for (const auto& [k, w] : m.windows) want.insert(k);
  EXPECT_EQ(seen, want);
}

// Sum over the written windows of a histogram's counts.
std::uint64_t total_over_windows(const fs::path& run, const std::string& name) {
  std::uint64_t t = 0;
  for (const auto& d : fs::directory_iterator(run)) {
    if (d.path().filename() == "GLOBAL") continue;  // pdf/cdf lines, not counts
    for (const auto& [e, c] : read_histo(d.path() / name).bins) t += c;
  }
  return t;
}

// ------------------------------------------------------------ golden runs

struct GoldenCase {
  const char* capture;
  std::uint64_t step_s;
};

class HistogramGolden : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(HistogramGolden, EveryFileOfEveryWindowMatchesAnIndependentComputation) {
  const fs::path cap = test::corpus_root() / "dev" / GetParam().capture;
  if (!fs::exists(cap)) GTEST_SKIP() << cap << " not found (set NETLOOM_CORPUS)";
  TempDir tmp(std::string("golden-") + GetParam().capture);
  const std::string nets = tmp.file("nets.txt", kNets);
  const fs::path out = tmp.path / "out";
  const std::uint64_t step = GetParam().step_s * kSec;
  Chain c(
      {{"net_file", nets}},
      {{"dir", out.string()}, {"net_file", nets}, {"utc", true}, {"step", static_cast<std::int64_t>(step)}});
  Model m(step);
  std::uint64_t frames = 0;
  c.observe = [&](const PacketBatch& b) {
    m.batch(b);
    frames += b.packets.size();
  };
  test::for_each_batch(cap, [&](std::shared_ptr<PacketBatch> b) { c.feed(b); });
  c.flush();

  ASSERT_GT(m.counted_packets, 100u);
  ASSERT_GE(m.windows.size(), 2u) << "pick a smaller step: the test wants several windows";
  std::set<std::string> non_empty;
  const fs::path run = check_against_model(out, m, &non_empty);
  check_messages(c.out.windows, run, m);
  // Each packet in exactly one window.
  EXPECT_EQ(total_over_windows(run, "L3_protocol_in") + total_over_windows(run, "L3_protocol_out") +
                total_over_windows(run, "L3_protocol_loc"),
            m.counted_packets);
  EXPECT_EQ(c.hctx.value("packets"), frames);
  EXPECT_EQ(c.hctx.value("windows_written"), m.windows.size());
  EXPECT_EQ(c.hctx.value("flows"), c.tctx.value("flows_closed"));
  EXPECT_EQ(c.hctx.value("tcp_nocomplete"), c.tctx.value("tcp_nocomplete"));
  EXPECT_EQ(c.hctx.value("write_errors"), 0u);
  // Something of each kind was really checked.
  std::uint64_t tcp_flows = 0, udp_flows = 0;
  for (const auto& [k, w] : m.windows) {
    for (const char* d : {"_in", "_out", "_loc"}) {
      if (auto it = w.values.find(std::string("L7_TCP_num") + d); it != w.values.end())
        tcp_flows += it->second.size();
      if (auto it = w.values.find(std::string("L7_UDP_num") + d); it != w.values.end())
        udp_flows += it->second.size();
    }
  }
  EXPECT_GT(tcp_flows + udp_flows, 0u);
  std::cout << GetParam().capture << ": " << frames << " frames, " << m.counted_packets << " counted, "
            << m.windows.size() << " windows, " << tcp_flows << " complete TCP + " << udp_flows
            << " UDP flows in flow histograms, " << non_empty.size() << " of " << spec_ranges().size()
            << " histograms non-empty somewhere\n";
}

INSTANTIATE_TEST_SUITE_P(DevCaptures, HistogramGolden,
                         ::testing::Values(GoldenCase{"whatsapp_login_call.pcap", 30},
                                           GoldenCase{"android.pcap", 20},
                                           GoldenCase{"quic_interop_V.pcapng", 3},
                                           GoldenCase{"gnutella_B.pcap", 120}),
                         [](const auto& info) {
                           std::string n = info.param.capture;
                           for (char& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

// ------------------------------------------------- windows on built captures

// A DNS query every second from 192.168.1.2 to 8.8.8.8 (write_pcap: one
// frame per second from 1700000000 s).
std::vector<Bytes> dns_queries(int n) {
  std::vector<Bytes> f;
  for (int i = 0; i < n; ++i)
    f.push_back(eth(kEtherIpv4, ipv4("192.168.1.2", "8.8.8.8", kIpUdp, udp(5000, 53, filler(10 + i)))));
  return f;
}

TEST(HistogramWindows, RotationOverFourWindowsCountsEachPacketOnce) {
  TempDir tmp("rotation");
  const fs::path pcap = tmp.path / "q.pcap";
  ASSERT_TRUE(write_pcap(pcap.string(), kDltEthernet, dns_queries(7)));
  const std::string nets = tmp.file("nets.txt", kNets);
  Chain c({{"net_file", nets}}, {{"dir", (tmp.path / "out").string()},
                                 {"utc", true},
                                 {"step", static_cast<std::int64_t>(2 * kSec)},
                                 {"global", true}});
  test::for_each_batch(pcap, [&](std::shared_ptr<PacketBatch> b) {
    // One packet per batch, so the packet-time timers run between them.
    for (const Packet& p : b->packets) {
      auto one = std::make_shared<PacketBatch>();
      one->buffer.reserve(p.caplen);
      Packet& q = one->append(p.data, p.caplen);
      const std::uint8_t* data = q.data;
      q = p;
      q.data = data;
      c.feed(one);
    }
  });
  c.flush();
  const fs::path run = tmp.path / "out" / utc_dir_name(1700000000 * kSec);
  EXPECT_EQ(entries(run), (std::set<std::string>{"000", "001", "002", "LAST", "GLOBAL"}));
  // Packets at 0,1 | 2,3 | 4,5 | 6 s; lengths 20 + 8 + 10 + i.
  EXPECT_EQ(read_histo(run / "000" / "L3_protocol_out").bins, (Bins{{1, 2}}));
  EXPECT_EQ(read_histo(run / "001" / "L3_protocol_out").bins, (Bins{{1, 2}}));
  EXPECT_EQ(read_histo(run / "002" / "L3_protocol_out").bins, (Bins{{1, 2}}));
  EXPECT_EQ(read_histo(run / "LAST" / "L3_protocol_out").bins, (Bins{{1, 1}}));
  EXPECT_EQ(read_histo(run / "000" / "ip_len_out").bins, (Bins{{36, 2}}));  // 38, 39
  EXPECT_EQ(read_histo(run / "002" / "ip_len_out").bins, (Bins{{40, 2}}));  // 42, 43
  EXPECT_EQ(read_histo(run / "LAST" / "ip_len_out").bins, (Bins{{44, 1}}));
  EXPECT_EQ(total_over_windows(run, "udp_port_dst_out"), 7u);
  // The flow opens in 000 and closes at the end of input (LAST).
  EXPECT_EQ(read_histo(run / "000" / "L4_flow_number").bins, (Bins{{1, 1}}));
  EXPECT_EQ(read_histo(run / "000" / "udp_port_flow_dst").bins, (Bins{{53, 1}}));
  EXPECT_TRUE(read_histo(run / "001" / "L4_flow_number").bins.empty());
  EXPECT_EQ(read_histo(run / "LAST" / "L7_UDP_num_out").bins, (Bins{{36, 1}}));
  EXPECT_EQ(read_histo(run / "LAST" / "udp_cl_p_out").bins, (Bins{{7, 1}}));
  EXPECT_TRUE(read_histo(run / "LAST" / "udp_cl_p_in").bins.empty());
  // Bitrate over the 2 s each full window observed: (38+39) B * 8 / 2 s.
  EXPECT_EQ(read_histo(run / "000" / "ip_bitrate_out").bins, (Bins{{1, 308}, {3, 308}}));
  EXPECT_EQ(read_histo(run / "000" / "udp_bitrate_out").bins, (Bins{{36, 308}}));
  // LAST observed a single instant: no rate.
  EXPECT_TRUE(read_histo(run / "LAST" / "ip_bitrate_out").bins.empty());
  // GLOBAL: the whole run, with #SAMPLES, pdf and cdf; no pseudo-histograms.
  EXPECT_EQ(
      read_all(run / "GLOBAL" / "L3_protocol_out"),
      "#packets per class: 0 IPv4 TCP, 1 IPv4 UDP, 2 IPv4 other, 3 IPv6 TCP, 4 IPv6 UDP, 5 IPv6 other - "
      "outgoing\n#RANGE: min=0 bin_size=1 max=6\n#SAMPLES: <min=0 valid=7 >max=0 tot=7\n1 1.000000 "
      "1.000000\n");
  EXPECT_FALSE(fs::exists(run / "GLOBAL" / "ip_bitrate_out"));
  // Messages: one per window, in order, the last one flagged.
  ASSERT_EQ(c.out.windows.size(), 4u);
  for (std::uint32_t k = 0; k < 4; ++k) {
    EXPECT_EQ(c.out.windows[k]->step, k);
    EXPECT_EQ(c.out.windows[k]->last, k == 3);
    EXPECT_EQ(c.out.windows[k]->start_ns, (1700000000 + 2 * k) * kSec);
  }
  EXPECT_EQ(c.out.windows[3]->end_ns, 1700000006 * kSec);
  EXPECT_EQ(c.hctx.value("windows_written"), 4u);
}

// Hand-made batches at chosen times, straight into the sink (no tracker).
std::shared_ptr<PacketBatch> batch_at(const std::vector<std::pair<std::uint64_t, Bytes>>& frames) {
  auto b = std::make_shared<PacketBatch>();
  std::size_t total = 0;
  for (const auto& f : frames) total += f.second.size();
  b->buffer.reserve(total + 1);
  for (const auto& [ts, bytes] : frames) {
    Packet& p = b->append(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    p.ts_ns = ts;
    p.wirelen = p.caplen;
    p.linktype = 1;
    decode::decode_packet(p);
  }
  b->clock_ns = frames.back().first;
  return b;
}

Bytes ping(const char* src, const char* dst, std::size_t n = 8) {
  return eth(kEtherIpv4, ipv4(src, dst, kIpIcmp, icmp(8, 0, filler(n))));
}

struct SinkOnly {
  test::FakeContext ctx;
  std::unique_ptr<Block> sink;
  Collect out;
  explicit SinkOnly(const std::map<std::string, ParamValue>& over) {
    sink = test::make_block(hist_plugin().factory(), ctx, over);
  }
  void feed(const std::shared_ptr<PacketBatch>& b) {
    fire_timers(*sink, ctx, *b, out);
    sink->receive(0, b, out);
  }
};

constexpr std::uint64_t kT0 = 1700000000 * kSec;

TEST(HistogramWindows, EmptyWindowsInAGapAreSkippedAndNumbersFollowTime) {
  TempDir tmp("gap");
  SinkOnly s({{"dir", (tmp.path / "out").string()},
              {"utc", true},
              {"step", static_cast<std::int64_t>(2 * kSec)},
              {"net_file", tmp.file("nets.txt", kNets)}});
  s.feed(batch_at({{kT0, ping("192.168.1.2", "1.1.1.1")}, {kT0 + kSec, ping("1.1.1.1", "192.168.1.2")}}));
  s.feed(batch_at({{kT0 + 10 * kSec + kSec / 2, ping("192.168.1.2", "1.1.1.1")}}));
  s.feed(batch_at({{kT0 + 13 * kSec, ping("192.168.1.2", "192.168.1.3")}}));
  s.sink->flush(s.out);
  const fs::path run = tmp.path / "out" / utc_dir_name(kT0);
  EXPECT_EQ(entries(run), (std::set<std::string>{"000", "005", "LAST"}));
  EXPECT_EQ(read_histo(run / "000" / "ip_protocol_out").bins, (Bins{{1, 1}}));
  EXPECT_EQ(read_histo(run / "000" / "ip_protocol_in").bins, (Bins{{1, 1}}));
  EXPECT_EQ(read_histo(run / "005" / "ip_protocol_out").bins, (Bins{{1, 1}}));
  EXPECT_EQ(read_histo(run / "LAST" / "ip_protocol_loc").bins, (Bins{{1, 1}}));
  EXPECT_TRUE(read_histo(run / "LAST" / "ip_protocol_out").bins.empty());
  // ICMP has no flow: its direction came from net_file. ADX: the external /24.
  EXPECT_EQ(read_all(run / "000" / "addresses"),
            "#subnet/255.255.255.0 src_hits dst_hits src_bytes dst_bytes\n1.1.1.0 1 1 36 36\n");
  ASSERT_EQ(s.out.windows.size(), 3u);
  EXPECT_EQ(s.out.windows[0]->step, 0u);
  EXPECT_EQ(s.out.windows[1]->step, 5u);
  EXPECT_EQ(s.out.windows[1]->start_ns, kT0 + 10 * kSec);
  EXPECT_EQ(s.out.windows[2]->step, 6u);
  EXPECT_TRUE(s.out.windows[2]->last);
  EXPECT_EQ(s.ctx.value("windows_written"), 3u);
}

TEST(HistogramWindows, TheClockClosesAWindowWithoutAnotherPacket) {
  TempDir tmp("idle");
  SinkOnly s(
      {{"dir", (tmp.path / "out").string()}, {"utc", true}, {"step", static_cast<std::int64_t>(2 * kSec)}});
  ASSERT_EQ(s.ctx.timers.size(), 1u);
  EXPECT_EQ(s.ctx.timers[0].period, 2 * kSec);
  s.feed(batch_at({{kT0 + kSec / 2, ping("10.0.0.1", "10.0.0.2", 100)}}));
  const fs::path run = tmp.path / "out" / utc_dir_name(kT0);
  EXPECT_FALSE(fs::exists(run / "000"));
  // An idle live link: the runtime's clock reaches the boundary. The window
  // leaves at once; its files are written in the background.
  s.sink->on_timer(0, kT0 + 2 * kSec, s.out);
  ASSERT_EQ(s.out.windows.size(), 1u);
  EXPECT_EQ(s.out.windows[0]->end_ns, kT0 + 2 * kSec);
  // Nothing more happens: later boundaries write nothing (the next one
  // waits for window 000's files); LAST is empty.
  s.sink->on_timer(0, kT0 + 4 * kSec, s.out);
  ASSERT_TRUE(fs::exists(run / "000"));
  EXPECT_EQ(s.ctx.value("windows_written"), 1u);
  EXPECT_EQ(read_histo(run / "000" / "ip_len_loc").bins, (Bins{{128, 1}}));  // 20 + 8 + 100
  // 128 B over the 1.5 s observed: 128 * 8000 / 1500 = 682 bit/s (truncated).
  EXPECT_EQ(read_histo(run / "000" / "ip_bitrate_loc").bins, (Bins{{2, 682}, {3, 682}}));
  s.sink->flush(s.out);
  EXPECT_EQ(entries(run), (std::set<std::string>{"000", "LAST"}));
  EXPECT_EQ(read_histo(run / "LAST" / "ip_len_loc").bins, Bins{});
  ASSERT_EQ(s.out.windows.size(), 2u);
  EXPECT_TRUE(s.out.windows[1]->last);
  EXPECT_EQ(s.out.windows[1]->step, 2u);
}

// A consumer that reads each window and lets it go at once (as the runtime
// does for an unconnected output): the sink then reuses the message.
struct ReadAndDrop : Emit {
  std::vector<const HistogramWindow*> seen;
  std::vector<std::uint32_t> steps;
  std::vector<std::size_t> sizes;
  std::vector<Bins> ip_len_loc;
  std::vector<std::uint64_t> counts;
  void operator()(unsigned, MessagePtr msg) override {
    const auto& w = msg->as<HistogramWindow>();
    seen.push_back(&w);
    steps.push_back(w.step);
    sizes.push_back(w.histograms.size());
    for (const HistogramData& h : w.histograms) {
      if (h.name != "ip_len_loc") continue;
      Bins b;
      for (std::size_t i = 0; i + 1 < h.bins.size(); ++i)
        if (h.bins[i]) b[h.min + (static_cast<long>(i) - 1) * h.bin] = h.bins[i];
      ip_len_loc.push_back(b);
      counts.push_back(h.count);
    }
  }
};

TEST(HistogramWindows, ReleasedWindowMessagesAreReusedWithFreshContents) {
  TempDir tmp("reuse");
  test::FakeContext ctx;
  auto sink = test::make_block(hist_plugin().factory(), ctx,
                               {{"write", false}, {"step", static_cast<std::int64_t>(2 * kSec)}});
  ReadAndDrop out;
  sink->receive(0, batch_at({{kT0 + kSec / 2, ping("10.0.0.1", "10.0.0.2", 100)}}), out);
  sink->receive(0, batch_at({{kT0 + 5 * kSec / 2, ping("10.0.0.1", "10.0.0.2")}}), out);
  sink->set_param("config", ParamValue{tmp.file("one.conf", "include ip_len_loc\n")});
  sink->receive(0, batch_at({{kT0 + 9 * kSec / 2, ping("10.0.0.1", "10.0.0.2", 4)}}), out);
  sink->flush(out);
  ASSERT_EQ(out.seen.size(), 3u);
  EXPECT_EQ(out.seen[1], out.seen[0]);  // reused
  EXPECT_EQ(out.seen[2], out.seen[0]);
  EXPECT_EQ(out.steps, (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(out.sizes, (std::vector<std::size_t>{spec_ranges().size(), spec_ranges().size(), 1}));
  EXPECT_EQ(out.ip_len_loc, (std::vector<Bins>{{{128, 1}}, {{36, 1}}, {{32, 1}}}));
  EXPECT_EQ(out.counts, (std::vector<std::uint64_t>{1, 1, 1}));
}

// With files written, the writer thread clears a released window's bins
// after writing them, and the sink reuses them without clearing: each
// window must still hold its own packets only, in the messages and files.
TEST(HistogramWindows, BinsClearedByTheWriterHoldOnlyTheirWindow) {
  TempDir tmp("reuse-written");
  test::FakeContext ctx;
  auto sink = test::make_block(
      hist_plugin().factory(), ctx,
      {{"dir", (tmp.path / "out").string()}, {"utc", true}, {"step", static_cast<std::int64_t>(2 * kSec)}});
  ReadAndDrop out;
  const std::size_t sizes[] = {100, 0, 4, 200, 8};
  for (std::size_t k = 0; k < 5; ++k)
    sink->receive(0, batch_at({{kT0 + k * 2 * kSec + kSec / 2, ping("10.0.0.1", "10.0.0.2", sizes[k])}}),
                  out);
  sink->flush(out);
  ASSERT_EQ(out.seen.size(), 5u);
  EXPECT_EQ(out.seen[2], out.seen[0]);  // reused every other window
  EXPECT_EQ(out.seen[4], out.seen[0]);
  // An ICMP echo of n payload bytes is 28 + n bytes of IP (slot 4 wide).
  EXPECT_EQ(out.ip_len_loc, (std::vector<Bins>{{{128, 1}}, {{28, 1}}, {{32, 1}}, {{228, 1}}, {{36, 1}}}));
  EXPECT_EQ(out.counts, (std::vector<std::uint64_t>{1, 1, 1, 1, 1}));
  const fs::path run = tmp.path / "out" / utc_dir_name(kT0);
  EXPECT_EQ(read_histo(run / "002" / "ip_len_loc").bins, (Bins{{32, 1}}));
  EXPECT_EQ(read_histo(run / "003" / "ip_len_loc").bins, (Bins{{228, 1}}));
  EXPECT_EQ(read_histo(run / "LAST" / "ip_len_loc").bins, (Bins{{36, 1}}));
}

// ------------------------------------------------ parameters and selection

std::string configure_error(const std::map<std::string, ParamValue>& over) {
  test::FakeContext ctx;
  try {
    test::make_block(hist_plugin().factory(), ctx, over);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(HistogramParams, BadConfigurationIsOneClearLine) {
  TempDir tmp("params");
  const std::string out = (tmp.path / "out").string();
  const std::string conf = tmp.file("h.conf", "include ip_len_in\ninclude_matching nothing_like_this\n");
  EXPECT_EQ(configure_error({{"dir", out}, {"config", conf}}),
            conf + ":2: no histogram name contains 'nothing_like_this'");
  EXPECT_EQ(configure_error({{"dir", out}, {"config", (tmp.path / "none.conf").string()}}),
            (tmp.path / "none.conf").string() + ": cannot open: No such file or directory");
  EXPECT_EQ(configure_error({{"dir", out}, {"step", std::int64_t{1000}}}),
            "parameter 'step' must be at least 1ms");
  EXPECT_EQ(configure_error({}), "parameter 'dir' must be set when 'write' is on");
  EXPECT_EQ(configure_error({{"write", false}}), "(no error)");
  const std::string nets = tmp.file("nets.txt", "10.0.0.0/8\n300.1.1.1/8\n");
  EXPECT_NE(configure_error({{"dir", out}, {"net_file", nets}}).find(nets + ":2:"), std::string::npos);
  std::ofstream(tmp.path / "file") << "x";
  EXPECT_NE(configure_error({{"dir", (tmp.path / "file" / "sub").string()}}).find("cannot create directory"),
            std::string::npos);
}

TEST(HistogramParams, ConfigSelectsFilesAndLiveChangesApplyAtTheNextWindow) {
  TempDir tmp("select");
  const std::string a = tmp.file("a.conf", "include ip_len_out\ninclude ADX\n");
  const std::string b = tmp.file("b.conf", "include_matching ip_ttl_\n");
  SinkOnly s({{"dir", (tmp.path / "out").string()},
              {"utc", true},
              {"config", a},
              {"step", static_cast<std::int64_t>(2 * kSec)},
              {"net_file", tmp.file("nets.txt", kNets)}});
  s.feed(batch_at({{kT0, ping("192.168.1.2", "1.1.1.1")}}));
  s.sink->set_param("config", ParamValue{b});  // takes effect at the next window
  s.feed(batch_at({{kT0 + kSec, ping("192.168.1.2", "1.1.1.1")}}));
  s.feed(batch_at({{kT0 + 2 * kSec, ping("192.168.1.2", "1.1.1.1")}}));
  s.sink->set_param("write", ParamValue{false});
  s.feed(batch_at({{kT0 + 4 * kSec, ping("192.168.1.2", "1.1.1.1")}}));
  s.sink->flush(s.out);
  EXPECT_THROW(s.sink->set_param("step", ParamValue{std::int64_t{1}}), ConfigError);
  EXPECT_THROW(s.sink->set_param("config", ParamValue{(tmp.path / "none").string()}), ConfigError);
  const fs::path run = tmp.path / "out" / utc_dir_name(kT0);
  EXPECT_EQ(entries(run), (std::set<std::string>{"000", "001"}));
  EXPECT_EQ(entries(run / "000"), (std::set<std::string>{"ip_len_out", "addresses"}));
  EXPECT_EQ(read_histo(run / "000" / "ip_len_out").bins, (Bins{{36, 2}}));
  EXPECT_EQ(entries(run / "001"), (std::set<std::string>{"ip_ttl_in", "ip_ttl_out", "ip_ttl_loc"}));
  EXPECT_EQ(read_histo(run / "001" / "ip_ttl_out").bins, (Bins{{64, 1}}));
  // Not written any more, still streamed.
  ASSERT_EQ(s.out.windows.size(), 3u);
  EXPECT_TRUE(s.out.windows[2]->last);
  ASSERT_EQ(s.out.windows[2]->histograms.size(), 3u);
  EXPECT_EQ(s.out.windows[2]->histograms[1].name, "ip_ttl_out");
  EXPECT_EQ(s.out.windows[2]->histograms[1].count, 1u);
  EXPECT_EQ(s.out.windows[2]->histograms[1].mean, 64);
  EXPECT_EQ(s.ctx.value("windows_written"), 2u);
}

TEST(HistogramParams, WriteOffStreamsOnly) {
  TempDir tmp("nowrite");
  SinkOnly s({{"dir", (tmp.path / "out").string()}, {"write", false}});
  s.feed(batch_at({{kT0, ping("10.0.0.1", "10.0.0.2")}, {kT0 + 1, Bytes{0x00, 0x01}}}));
  s.sink->flush(s.out);
  EXPECT_FALSE(fs::exists(tmp.path / "out"));
  ASSERT_EQ(s.out.windows.size(), 1u);
  EXPECT_EQ(s.ctx.value("packets"), 2u);
  EXPECT_EQ(s.ctx.value("not_ip"), 1u);
  EXPECT_EQ(s.ctx.value("windows_written"), 0u);
}

TEST(HistogramParams, FlatLayoutWithoutPacketsAndWriteErrors) {
  TempDir tmp("flat");
  {
    // No packet at all: LAST still holds every (empty) histogram.
    SinkOnly s({{"dir", (tmp.path / "a").string()}, {"layout", std::string("flat")}});
    s.sink->flush(s.out);
    EXPECT_EQ(entries(tmp.path / "a"), std::set<std::string>{"LAST"});
    EXPECT_EQ(entries(tmp.path / "a" / "LAST").size(), spec_ranges().size() + 1);
    EXPECT_EQ(read_all(tmp.path / "a" / "LAST" / "tcp_rtt_min_in"),
              "#TCP flow minimum RTT [ms] - incoming\n#RANGE: min=0 bin_size=1 max=2000\n");
    ASSERT_EQ(s.out.windows.size(), 1u);
    EXPECT_TRUE(s.out.windows[0]->last);
  }
  // A file where window 000 should go: counted, reported with its path,
  // and the run goes on (window 001 is written).
  fs::create_directories(tmp.path / "b");
  std::ofstream(tmp.path / "b" / "000") << "in the way";
  SinkOnly s({{"dir", (tmp.path / "b").string()},
              {"layout", std::string("flat")},
              {"step", static_cast<std::int64_t>(2 * kSec)}});
  // Straight to receive(). Window 000 closes at +2 s and is written in the
  // background; its error is thrown once window 001 closes (+4 s).
  s.sink->receive(0, batch_at({{kT0, ping("10.0.0.1", "10.0.0.2")}}), s.out);
  s.sink->receive(0, batch_at({{kT0 + 2 * kSec, ping("10.0.0.1", "10.0.0.2")}}), s.out);
  try {
    s.sink->receive(0, batch_at({{kT0 + 4 * kSec, ping("10.0.0.1", "10.0.0.2")}}), s.out);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(
        std::string(e.what()).find("cannot create directory '" + (tmp.path / "b" / "000").string() + "'"),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(s.ctx.value("write_errors"), 1u);
  s.sink->flush(s.out);
  EXPECT_EQ(entries(tmp.path / "b"), (std::set<std::string>{"000", "001", "LAST"}));
  EXPECT_EQ(read_histo(tmp.path / "b" / "001" / "ip_protocol_loc").bins, (Bins{{1, 1}}));
  EXPECT_EQ(s.ctx.value("windows_written"), 2u);  // 001 and LAST
  EXPECT_EQ(s.out.windows.size(), 3u);            // streamed all the same
}

}  // namespace
