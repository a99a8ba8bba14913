// PcapSink, loaded from build/plugins/netloom_pcapdump.so behind a real
// FlowTracker and PDPI (FlowTracker -> PDPI -> PcapSink, fed like the runtime
// feeds them). Every dump is read back with libpcap and compared packet by
// packet with what the sink was given: dev captures from the shared corpus
// and small captures built here.
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "composition/composition.hpp"
#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "pcap_builder.hpp"
#include "run_dir.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::testing;

namespace {

constexpr std::uint64_t kSec = 1'000'000'000ull;

test::PluginFile& plugin(const char* file) {
  static std::map<std::string, std::unique_ptr<test::PluginFile>> loaded;
  auto& p = loaded[file];
  if (!p) p = std::make_unique<test::PluginFile>(file);
  return *p;
}
const BlockFactory& sink_factory() { return plugin("netloom_pcapdump.so").factory(); }

// ---- what the sink was given, copied as it went by

struct Seen {
  std::uint64_t ts_ns = 0;
  std::uint32_t caplen = 0, wirelen = 0, ip_len = 0, tcp_data = 0, payload_len = 0;
  Bytes bytes;
  std::uint16_t linktype = 0, l3_off = 0;
  std::uint8_t ip_version = 0, l4_proto = 0, tcp_flags = 0, dir = 0;
  std::uint64_t flow = 0;  // FlowRecord::id + 1; 0: no flow
  // The labels as the sink saw them (read right after its receive()).
  std::uint32_t con_type = 0;
  std::uint16_t udp_type = 0;
  bool ip() const { return ip_version != 0; }
  bool tcp() const { return flow && l4_proto == 6; }
  bool udp() const { return flow && l4_proto == 17; }
};

struct Collect : Emit {
  std::vector<std::shared_ptr<PacketBatch>> batches;
  void operator()(unsigned port, MessagePtr msg) override {
    if (port == 0) batches.push_back(std::static_pointer_cast<PacketBatch>(msg));
  }
};
struct Drop : Emit {
  void operator()(unsigned, MessagePtr) override {}
};

using Over = std::map<std::string, ParamValue>;

// FlowTracker -> PDPI -> PcapSink with packet-time timers, as in the runtime.
struct Pipeline {
  test::FakeContext tctx, pctx, sctx;
  std::unique_ptr<Block> tracker, pdpi, sink;
  Collect mid, out;
  Drop none;
  std::uint64_t clock = 0;
  std::vector<Seen> seen;
  std::map<std::uint64_t, FlowLabels> labels;  // final labels by Seen::flow
  std::vector<std::string> errors;             // InputErrors thrown by the sink

  explicit Pipeline(const Over& sink_params) {
    tctx.id = "trk";
    tctx.batch = 256;
    tracker = test::make_block(plugin("netloom_flow.so").factory(), tctx,
                               {{"gc_trigger", std::string("new_flow")}});
    pctx.id = "pdpi";
    pctx.slots = tctx.slots;
    pdpi = test::make_block(plugin("netloom_pdpi.so").factory(), pctx, {});
    sctx.id = "dump";
    sctx.slots = pctx.slots;
    sink = test::make_block(sink_factory(), sctx, sink_params);
  }
  void record(const PacketBatch& b) {
    for_each_in_stream_order(
        b,
        [&](const Packet& p) {
          Seen s;
          s.ts_ns = p.ts_ns;
          s.caplen = p.caplen;
          s.wirelen = p.wirelen;
          s.bytes.assign(p.data, p.data + p.caplen);
          s.linktype = p.linktype;
          s.l3_off = p.l3_off;
          s.ip_len = p.ip_len;
          s.ip_version = p.ip_version;
          s.l4_proto = p.l4_proto;
          s.tcp_flags = p.tcp_flags;
          s.payload_len = p.payload_len;
          s.dir = p.flow_dir;
          if (p.flow) {
            s.flow = p.flow->record.id + 1;
            s.con_type = p.flow->record.labels.con_type;
            s.udp_type = p.flow->record.labels.udp_type[p.flow_dir & 1];
          }
          if (p.flow && p.l4_proto == 6 && p.l4_off + 13u < p.caplen) {
            const std::uint32_t hdr_end = p.l4_off + (p.data[p.l4_off + 12] >> 4) * 4u;
            const std::uint32_t ip_end = p.l3_off + p.ip_len;
            s.tcp_data = ip_end > hdr_end ? ip_end - hdr_end : 0;
          }
          seen.push_back(std::move(s));
        },
        [&](const FlowEvent& e) {
          if (e.kind == FlowEvent::Kind::closed && e.flow)
            labels[e.flow->record.id + 1] = e.flow->record.labels;
        });
  }
  void pass() {
    for (auto& b : mid.batches) pdpi->receive(0, b, out);
    mid.batches.clear();
    for (auto& b : out.batches) {
      try {
        sink->receive(0, b, none);
      } catch (const InputError& e) {
        errors.emplace_back(e.what());
      }
      record(*b);
    }
    out.batches.clear();
  }
  void feed(std::shared_ptr<PacketBatch> b) {
    if (!b->packets.empty()) {
      b->clock_ns = b->packets.back().ts_ns;
      const std::uint64_t t = b->packets.front().ts_ns;
      if (t > clock) {
        clock = t;
        for (auto& tm : tctx.timers) {
          if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
          while (tm.next <= t) {
            tracker->on_timer(tm.id, tm.next, mid);
            tm.next += tm.period;
          }
        }
      }
    }
    tracker->receive(0, b, mid);
    pass();
  }
  void finish() {
    tracker->flush(mid);
    pass();
    pdpi->flush(out);
    pass();
    try {
      sink->flush(none);
    } catch (const InputError& e) {
      errors.emplace_back(e.what());
    }
  }
  std::uint64_t counter(const char* n) { return sctx.value(n); }
};

// ---- reading dumps back

struct Rec {
  std::uint64_t ts_ns = 0;
  std::uint32_t caplen = 0, len = 0;
  Bytes bytes;
};
struct PcapFile {
  int linktype = -1;
  std::vector<Rec> recs;
  std::string error;
};

PcapFile read_pcap(const fs::path& f, bool nano_file = false) {
  PcapFile out;
  char err[PCAP_ERRBUF_SIZE] = {};
  // Opened at nanosecond precision: a microsecond file reads back as us*1000.
  pcap_t* p = pcap_open_offline_with_tstamp_precision(f.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    out.error = err;
    return out;
  }
  (void)nano_file;
  out.linktype = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
    Rec r;
    r.ts_ns = static_cast<std::uint64_t>(h->ts.tv_sec) * kSec + static_cast<std::uint64_t>(h->ts.tv_usec);
    r.caplen = h->caplen;
    r.len = h->len;
    r.bytes.assign(d, d + h->caplen);
    out.recs.push_back(std::move(r));
  }
  if (rc == PCAP_ERROR) out.error = pcap_geterr(p);
  pcap_close(p);
  return out;
}

std::vector<std::string> files_in(const fs::path& d) {
  std::vector<std::string> v;
  if (!fs::exists(d)) return v;
  for (const auto& e : fs::directory_iterator(d)) v.push_back(e.path().filename().string());
  std::sort(v.begin(), v.end());
  return v;
}

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string gunzip(const fs::path& f) {
  gzFile g = gzopen(f.c_str(), "rb");
  if (!g) return "(cannot open)";
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(g, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  const bool clean = n == 0;
  gzclose(g);
  return clean ? out : "(gzip error)";
}

// The record the sink should write for `s` in `original` mode.
Rec original(const Seen& s, std::uint32_t snap = 0) {
  Rec r;
  r.ts_ns = s.ts_ns / 1000 * 1000;  // microsecond file
  r.caplen = snap && s.caplen > s.l3_off + snap ? s.l3_off + snap : s.caplen;
  r.len = s.wirelen;
  r.bytes.assign(s.bytes.begin(), s.bytes.begin() + r.caplen);
  return r;
}

// Compares a dump with the packets it must hold, in order.
void expect_dump(const PcapFile& f, const std::vector<Rec>& want, const std::string& what) {
  ASSERT_TRUE(f.error.empty()) << what << ": " << f.error;
  ASSERT_EQ(f.recs.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(f.recs[i].ts_ns, want[i].ts_ns) << what << " record " << i;
    ASSERT_EQ(f.recs[i].caplen, want[i].caplen) << what << " record " << i;
    ASSERT_EQ(f.recs[i].len, want[i].len) << what << " record " << i;
    ASSERT_TRUE(f.recs[i].bytes == want[i].bytes) << what << " record " << i << ": bytes differ";
  }
}

template <class Pred>
std::vector<Rec> expected(const Pipeline& p, Pred pick, std::uint32_t snap = 0) {
  std::vector<Rec> v;
  for (const Seen& s : p.seen)
    if (pick(s)) v.push_back(original(s, snap));
  return v;
}

bool have_tshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

// Frames tshark reads from `f` (-1 when it fails).
long tshark_frames(const fs::path& f) {
  const std::string cmd = "tshark -r '" + f.string() + "' -T fields -e frame.number 2>/dev/null";
  std::FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return -1;
  long lines = 0;
  char buf[256];
  while (std::fgets(buf, sizeof buf, pipe))
    if (std::strchr(buf, '\n')) ++lines;
  const int st = ::pclose(pipe);
  return st == 0 ? lines : -1;
}

// A fresh output directory per test, removed afterwards.
class PcapSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("netloom-pcapsink-" + std::to_string(::getpid()) + "-" + t->test_suite_name() + "-" + t->name());
    fs::remove_all(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  Over params(Over extra, const fs::path& sub = {}) const {
    extra.emplace("dir", (dir_ / sub).string());
    extra.emplace("layout", std::string("flat"));
    return extra;
  }
  fs::path traces(const fs::path& sub = {}) const { return dir_ / sub / "traces00"; }

  static fs::path capture(const char* name) { return test::corpus_root() / "dev" / name; }
  // Runs a whole capture through the pipeline, in batches of at most `batch`
  // packets (the reader's 256, or split smaller). `between` is called before
  // each batch with the number of packets fed so far (live changes).
  static std::unique_ptr<Pipeline> run(const fs::path& cap, const Over& p, std::size_t batch = 256,
                                       const std::function<void(Pipeline&, std::size_t)>& between = {}) {
    auto pl = std::make_unique<Pipeline>(p);
    std::size_t fed = 0;
    test::for_each_batch(cap, [&](std::shared_ptr<PacketBatch> b) {
      for (std::size_t at = 0; at < b->packets.size(); at += batch) {
        auto part = std::make_shared<PacketBatch>();
        part->buffer.reserve(b->buffer.size() + 1);
        for (std::size_t i = at; i < std::min(at + batch, b->packets.size()); ++i) {
          const Packet& src = b->packets[i];
          Packet& q = part->append_raw(src.data, src.caplen);
          const std::uint8_t* d = q.data;
          q = src;
          q.data = d;
        }
        if (between) between(*pl, fed);
        fed += part->packets.size();
        pl->feed(std::move(part));
      }
    });
    pl->finish();
    return pl;
  }
  fs::path dir_;
};

#define NEED_CAPTURE(name)                                                                       \
  do {                                                                                           \
    if (!fs::exists(capture(name))) GTEST_SKIP() << "corpus capture missing: " << capture(name); \
  } while (0)

// ---- hand-built packets

struct Frame {
  std::uint64_t ts;
  Bytes bytes;
  std::uint16_t linktype = 1;
};
std::shared_ptr<PacketBatch> batch_of(const std::vector<Frame>& frames) {
  auto b = std::make_shared<PacketBatch>();
  std::size_t total = 0;
  for (const auto& f : frames) total += f.bytes.size();
  b->buffer.reserve(total + 1);
  for (const auto& f : frames) {
    Packet& p = b->append(f.bytes.data(), static_cast<std::uint32_t>(f.bytes.size()));
    p.ts_ns = f.ts;
    p.wirelen = p.caplen;
    p.linktype = f.linktype;
    decode::decode_packet(p);
  }
  return b;
}
Bytes udp4(const char* s, std::uint16_t sp, const char* d, std::uint16_t dp, const Bytes& pl) {
  return eth(kEtherIpv4, ipv4(s, d, kIpUdp, udp(sp, dp, pl)));
}

// What a live change throws ("(no error)" when it is accepted).
std::string live_error(Pipeline& pl, const char* name, const ParamValue& v) {
  try {
    pl.sink->set_param(name, v);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string utc_ctime(std::uint64_t ns) {
  std::time_t t = static_cast<std::time_t>(ns / kSec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[64];
  std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);
  return b;
}

std::vector<Rec> records_of(const Pipeline& pl, std::initializer_list<std::size_t> seen_idx) {
  std::vector<Rec> v;
  for (std::size_t i : seen_idx) v.push_back(original(pl.seen.at(i)));
  return v;
}

}  // namespace

// ===================================================================== block

TEST(PcapSinkBlock, DescribesItself) {
  BlockInfo info = sink_factory().info();
  EXPECT_EQ(info.type, "PcapSink");
  EXPECT_EQ(info.threading, Threading::serial);
  ASSERT_EQ(info.inputs.size(), 1u);
  EXPECT_EQ(info.inputs[0].type, "PacketBatch");
  EXPECT_TRUE(info.outputs.empty());
  std::vector<std::string> names;
  for (const auto& p : info.params) names.push_back(p.name);
  EXPECT_EQ(names, (std::vector<std::string>{"dir", "layout", "utc", "ip_complete", "tcp_complete",
                                             "udp_complete", "udp", "snap_len", "slice_win", "tcp_maxpackets",
                                             "tcp_maxbytes", "udp_maxpackets", "udp_maxbytes",
                                             "stop_dumping_mask", "gzip", "link", "nanoseconds"}));
  std::vector<std::string> live;
  for (const auto& p : info.params)
    if (p.live) live.push_back(p.name);
  EXPECT_EQ(live, (std::vector<std::string>{"ip_complete", "tcp_complete", "udp_complete", "udp",
                                            "tcp_maxpackets", "tcp_maxbytes", "udp_maxpackets",
                                            "udp_maxbytes", "stop_dumping_mask"}));
  std::vector<std::string> counters;
  for (const auto& c : info.counters) counters.push_back(c.name);
  EXPECT_EQ(counters, (std::vector<std::string>{"packets_dumped", "bytes_dumped", "files_opened",
                                                "packets_skipped_limit", "packets_not_ip",
                                                "packets_untracked", "write_errors"}));
}

TEST_F(PcapSinkTest, RejectsBadParametersWithOneClearLine) {
  auto error = [&](Over o) -> std::string {
    test::FakeContext ctx;
    try {
      test::make_block(sink_factory(), ctx, params(std::move(o)));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  };
  const bool t = true;
  EXPECT_EQ(error({}), "(no error)");  // dormant (see DormantUntilADumpIsTurnedOn)
  EXPECT_EQ(
      error({{"udp", std::string("dns,skype")}}),
      "parameter 'udp': unknown class 'skype' (valid: unknown, rtp, rtcp, edk, kad, kadu, gnutella, "
      "bittorrent, dc, kazaa, pplive, sopcast, tvants, okad, dns, utp, vod, ppstream, teredo, sip, dtls, "
      "quic, mturn, sye, stun)");
  EXPECT_EQ(error({{"udp", std::string("dns,,rtp")}}), "parameter 'udp': empty class name in 'dns,,rtp'");
  EXPECT_EQ(error({{"ip_complete", t}, {"tcp_maxpackets", std::int64_t{5}}}),
            "parameter 'tcp_maxpackets' applies to tcp_complete, which is off");
  EXPECT_EQ(error({{"ip_complete", t}, {"tcp_maxbytes", std::int64_t{5}}}),
            "parameter 'tcp_maxbytes' applies to tcp_complete, which is off");
  EXPECT_EQ(error({{"udp_complete", t}, {"stop_dumping_mask", std::int64_t{256}}}),
            "parameter 'stop_dumping_mask' applies to tcp_complete, which is off");
  EXPECT_EQ(error({{"tcp_complete", t}, {"udp_maxpackets", std::int64_t{5}}}),
            "parameter 'udp_maxpackets' applies to udp_complete, which is off");
  EXPECT_EQ(error({{"tcp_complete", t}, {"udp_maxbytes", std::int64_t{5}}}),
            "parameter 'udp_maxbytes' applies to udp_complete, which is off");
  EXPECT_EQ(error({{"ip_complete", t}, {"slice_win", std::int64_t{500'000'000}}}),
            "parameter 'slice_win' must be 0 (one file) or at least 1s");
  EXPECT_EQ(error({{"ip_complete", t}, {"dir", std::string("")}}), "parameter 'dir' must not be empty");
  // A file where the directory should be.
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  EXPECT_EQ(
      error({{"ip_complete", t}, {"dir", (dir_ / "file" / "sub").string()}}),
      "parameter 'dir': cannot create directory '" + (dir_ / "file" / "sub").string() + "': Not a directory");
  EXPECT_EQ(error({{"ip_complete", t}}), "(no error)");

  // Ranges and choices are checked by the parameter parser before configure().
  auto parse_error = [](const char* name, const char* text) -> std::string {
    for (const auto& s : sink_factory().info().params)
      if (s.name == name) try {
          core::parse_param_value(s, text);
          return "(no error)";
        } catch (const ConfigError& e) {
          return e.what();
        }
    return "(no such parameter)";
  };
  EXPECT_EQ(parse_error("snap_len", "300000"), "parameter 'snap_len': '300000' is above the maximum 262144");
  EXPECT_EQ(parse_error("snap_len", "-1"), "parameter 'snap_len': '-1' is below the minimum 0");
  EXPECT_EQ(
      parse_error("tcp_maxbytes", "3GiB").rfind("parameter 'tcp_maxbytes': '3GiB' is above the maximum", 0),
      0u)
      << parse_error("tcp_maxbytes", "3GiB");
  EXPECT_EQ(parse_error("slice_win", "400d").rfind("parameter 'slice_win': '400d' ", 0), 0u);
  EXPECT_NE(parse_error("slice_win", "400d"), "(no error)");
  EXPECT_EQ(parse_error("stop_dumping_mask", "1048576"),
            "parameter 'stop_dumping_mask': '1048576' is above the maximum 524287");
  EXPECT_EQ(parse_error("tcp_maxpackets", "-3"), "parameter 'tcp_maxpackets': '-3' is below the minimum 0");
  EXPECT_EQ(parse_error("link", "raw").rfind("parameter 'link': 'raw' ", 0), 0u)
      << parse_error("link", "raw");
  EXPECT_EQ(parse_error("slice_win", "60s"), "(no error)");
}

// ==================================================================== corpus

TEST_F(PcapSinkTest, AggregatesAndDnsHoldExactlyTheirPackets) {
  const char* caps[] = {"android.pcap", "whatsapp_login_call.pcap", "bittorrent.pcap", "bt-dns.pcap"};
  NEED_CAPTURE("android.pcap");
  const bool t = true;
  for (const char* name : caps) {
    SCOPED_TRACE(name);
    if (!fs::exists(capture(name))) continue;
    auto pl = run(capture(name), params({{"ip_complete", t},
                                         {"tcp_complete", t},
                                         {"udp_complete", t},
                                         {"udp", std::string("dns,unknown")}},
                                        name));
    EXPECT_TRUE(pl->errors.empty()) << pl->errors.front();
    const fs::path tr = traces(name);
    auto final_type = [&](const Seen& s) { return pl->labels.at(s.flow).udp_type[s.dir]; };
    const auto ip = expected(*pl, [](const Seen& s) { return s.ip(); });
    const auto tcp = expected(*pl, [](const Seen& s) { return s.tcp(); });
    const auto udp = expected(*pl, [](const Seen& s) { return s.udp(); });
    const auto dns = expected(*pl, [&](const Seen& s) { return s.udp() && final_type(s) == 19; });
    ASSERT_GT(ip.size(), 0u);
    EXPECT_EQ(ip.size(), tcp.size() + udp.size() + pl->counter("packets_untracked") +
                             std::count_if(pl->seen.begin(), pl->seen.end(), [](const Seen& s) {
                               return s.ip() && s.l4_proto != 6 && s.l4_proto != 17;
                             }));
    std::vector<std::string> want_files = {"log.txt"};
    auto check = [&](const char* file, const std::vector<Rec>& want) {
      if (want.empty()) {
        EXPECT_FALSE(fs::exists(tr / file)) << file;
        return;
      }
      want_files.push_back(file);
      expect_dump(read_pcap(tr / file), want, file);
    };
    check("ip_complete.pcap", ip);
    check("tcp_complete.pcap", tcp);
    check("udp_complete.pcap", udp);
    check("udp_dns.pcap", dns);

    // udp_unknown: every packet of a direction that stayed unknown, and of
    // directions classified later only packets before any classified one.
    const bool any_unknown = std::any_of(pl->seen.begin(), pl->seen.end(),
                                         [&](const Seen& s) { return s.udp() && final_type(s) == 0; });
    const PcapFile unk = read_pcap(tr / "udp_unknown.pcap");
    if (any_unknown) {
      ASSERT_TRUE(unk.error.empty()) << unk.error;
    }
    if (unk.error.empty()) want_files.push_back("udp_unknown.pcap");
    std::size_t ri = 0;
    std::map<std::pair<std::uint64_t, int>, bool> left_out;  // a packet of the direction was not in the file
    for (const Seen& s : pl->seen) {
      if (!s.udp()) continue;
      const bool in_file = ri < unk.recs.size() && unk.recs[ri].ts_ns == s.ts_ns / 1000 * 1000 &&
                           unk.recs[ri].bytes == s.bytes;
      if (final_type(s) == 0) {
        ASSERT_TRUE(in_file) << "an unknown UDP packet is missing from udp_unknown";
      } else if (in_file) {
        const bool was_left_out = left_out[{s.flow, s.dir}];
        ASSERT_FALSE(was_left_out) << "udp_unknown holds a packet after its direction was typed";
      } else {
        left_out[{s.flow, s.dir}] = true;
      }
      if (in_file) ++ri;
    }
    EXPECT_EQ(ri, unk.recs.size()) << "udp_unknown holds packets that are not UDP of a flow";
    std::sort(want_files.begin(), want_files.end());
    EXPECT_EQ(files_in(tr), want_files);
    std::uint64_t recs = 0, bytes = 0;
    for (const auto& f : want_files)
      if (f != "log.txt")
        for (const auto& r : read_pcap(tr / f).recs) ++recs, bytes += r.caplen;
    EXPECT_EQ(pl->counter("packets_dumped"), recs);
    EXPECT_EQ(pl->counter("bytes_dumped"), bytes);
    EXPECT_EQ(pl->counter("files_opened"), want_files.size() - 1);
    EXPECT_EQ(pl->counter("packets_skipped_limit"), 0u);
    EXPECT_EQ(pl->counter("write_errors"), 0u);
    EXPECT_EQ(pl->counter("packets_not_ip"),
              static_cast<std::uint64_t>(
                  std::count_if(pl->seen.begin(), pl->seen.end(), [](const Seen& s) { return !s.ip(); })));
    if (std::string(name) == "android.pcap") {
      EXPECT_FALSE(dns.empty());
      EXPECT_FALSE(tcp.empty());
      EXPECT_TRUE(any_unknown);
      EXPECT_EQ(read_pcap(tr / "ip_complete.pcap").linktype, DLT_EN10MB);
      if (have_tshark()) {
        EXPECT_EQ(tshark_frames(tr / "ip_complete.pcap"), static_cast<long>(ip.size()));
        EXPECT_EQ(tshark_frames(tr / "udp_dns.pcap"), static_cast<long>(dns.size()));
      }
    }
  }
}

TEST_F(PcapSinkTest, TcpMaxPacketsKeepsTheFirstDataSegmentsOfEachDirection) {
  NEED_CAPTURE("android.pcap");
  for (std::int64_t n : {1, 3}) {
    SCOPED_TRACE(n);
    const std::string sub = "n" + std::to_string(n);
    auto pl = run(capture("android.pcap"), params({{"tcp_complete", true}, {"tcp_maxpackets", n}}, sub));
    const PcapFile f = read_pcap(traces(sub) / "tcp_complete.pcap");
    ASSERT_TRUE(f.error.empty()) << f.error;
    // Walk the TCP packets and the dump together: the dump is a subsequence.
    std::size_t ri = 0, tcp_pkts = 0, data_dumped_total = 0;
    std::map<std::pair<std::uint64_t, int>, std::uint64_t> data_seen, data_dumped;
    for (const Seen& s : pl->seen) {
      if (!s.tcp()) continue;
      ++tcp_pkts;
      const bool in =
          ri < f.recs.size() && f.recs[ri].ts_ns == s.ts_ns / 1000 * 1000 && f.recs[ri].bytes == s.bytes;
      const auto key = std::make_pair(s.flow, int{s.dir});
      if (s.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) {
        ASSERT_TRUE(in) << "SYN/FIN/RST must always be dumped";
      }
      if (s.tcp_data > 0) {
        const std::uint64_t k = ++data_seen[key];
        ASSERT_EQ(in, k <= static_cast<std::uint64_t>(n)) << "data segment " << k << " of its direction";
        if (in) ++data_dumped[key], ++data_dumped_total;
      }
      if (in) ++ri;
    }
    EXPECT_EQ(ri, f.recs.size()) << "tcp_complete holds packets that are not TCP of a flow, or out of order";
    EXPECT_GT(data_dumped_total, 0u);
    EXPECT_LT(f.recs.size(), tcp_pkts);
    EXPECT_EQ(pl->counter("packets_skipped_limit"), tcp_pkts - f.recs.size());
    EXPECT_EQ(pl->counter("packets_dumped"), f.recs.size());
  }
}

TEST_F(PcapSinkTest, SnapLenTruncatesCaplenAndKeepsLen) {
  NEED_CAPTURE("android.pcap");
  auto pl = run(capture("android.pcap"), params({{"ip_complete", true}, {"snap_len", 40}}));
  const auto want = expected(
      *pl, [](const Seen& s) { return s.ip(); }, 40);
  const PcapFile f = read_pcap(traces() / "ip_complete.pcap");
  expect_dump(f, want, "ip_complete snap_len 40");
  std::size_t cut = 0;
  for (const Rec& r : f.recs) cut += r.caplen < r.len;
  EXPECT_GT(cut, want.size() / 2);  // most android frames are longer than 14+40
}

TEST_F(PcapSinkTest, SliceWinSplitsLikeTstat) {
  NEED_CAPTURE("whatsapp_login_call.pcap");
  const std::uint64_t win = 20 * kSec;
  auto pl = run(capture("whatsapp_login_call.pcap"),
                params({{"ip_complete", true}, {"slice_win", std::int64_t(win)}}));
  // Tstat's rule: a packet `win` or more after the window start closes the
  // file; the start advances by whole windows, numbers by one.
  std::map<std::string, std::vector<Rec>> want;
  std::uint64_t start = 0;
  unsigned seq = 0;
  bool first = true;
  for (const Seen& s : pl->seen) {
    if (!s.ip()) continue;
    if (first) {
      start = s.ts_ns;
      first = false;
    } else if (s.ts_ns > start && s.ts_ns - start >= win) {
      ++seq;
      start += (s.ts_ns - start) / win * win;
    }
    char n[64];
    std::snprintf(n, sizeof n, "ip_complete%02u.pcap", seq);
    want[n].push_back(original(s));
  }
  ASSERT_GE(want.size(), 5u);  // 140 s of capture
  std::vector<std::string> names = {"log.txt"};
  for (const auto& [n, v] : want) names.push_back(n);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(files_in(traces()), names);
  std::size_t total = 0;
  for (const auto& [n, v] : want) {
    expect_dump(read_pcap(traces() / n), v, n);
    total += v.size();
  }
  EXPECT_EQ(total, static_cast<std::size_t>(std::count_if(pl->seen.begin(), pl->seen.end(),
                                                          [](const Seen& s) { return s.ip(); })));
  EXPECT_EQ(pl->counter("files_opened"), want.size());
  EXPECT_NE(slurp(traces() / "log.txt").find("\nslice_win = 20\n"), std::string::npos);
}

TEST_F(PcapSinkTest, GzipOutputDecompressesToThePlainFile) {
  NEED_CAPTURE("android.pcap");
  const Over common = {{"ip_complete", true}, {"tcp_complete", true}, {"udp", std::string("dns")}};
  Over gz = common;
  gz["gzip"] = true;
  auto plain = run(capture("android.pcap"), params(common, "plain"));
  auto zipped = run(capture("android.pcap"), params(gz, "gz"));
  EXPECT_EQ(files_in(traces("gz")), (std::vector<std::string>{"ip_complete.pcap.gz", "log.txt",
                                                              "tcp_complete.pcap.gz", "udp_dns.pcap.gz"}));
  for (const char* f : {"ip_complete", "tcp_complete", "udp_dns"}) {
    const std::string p = slurp(traces("plain") / (std::string(f) + ".pcap"));
    ASSERT_GT(p.size(), 24u) << f;
    const fs::path z = traces("gz") / (std::string(f) + ".pcap.gz");
    EXPECT_LT(fs::file_size(z), p.size()) << f;
    EXPECT_TRUE(gunzip(z) == p) << f << ": the gzip file does not decompress to the plain one";
  }
  EXPECT_EQ(zipped->counter("bytes_dumped"), plain->counter("bytes_dumped"));
  // gunzip(1) agrees, and libpcap reads what it writes.
  const fs::path copy = dir_ / "check.pcap";
  const std::string cmd =
      "gunzip -c '" + (traces("gz") / "ip_complete.pcap.gz").string() + "' > '" + copy.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  expect_dump(read_pcap(copy), expected(*plain, [](const Seen& s) { return s.ip(); }),
              "gunzipped ip_complete");
}

TEST_F(PcapSinkTest, EthernetModeWritesTstatsBogusHeaderAndTheIpPacket) {
  NEED_CAPTURE("android.pcap");
  for (const char* name : {"android.pcap", "dlt_ppp.pcap"}) {
    SCOPED_TRACE(name);
    if (!fs::exists(capture(name))) continue;
    auto pl = run(capture(name), params({{"ip_complete", true}, {"link", std::string("ethernet")}}, name));
    const PcapFile f = read_pcap(traces(name) / "ip_complete.pcap");
    ASSERT_TRUE(f.error.empty()) << f.error;
    EXPECT_EQ(f.linktype, DLT_EN10MB);
    std::vector<Rec> want;
    for (const Seen& s : pl->seen) {
      if (!s.ip()) continue;
      Rec r;
      r.ts_ns = s.ts_ns / 1000 * 1000;
      std::uint32_t ip = std::min<std::uint32_t>(s.caplen - s.l3_off, s.ip_len);  // link padding dropped
      r.bytes.assign(12, 0);
      r.bytes.push_back(s.ip_version == 6 ? 0x86 : 0x08);
      r.bytes.push_back(s.ip_version == 6 ? 0xDD : 0x00);
      r.bytes.insert(r.bytes.end(), s.bytes.begin() + s.l3_off, s.bytes.begin() + s.l3_off + ip);
      r.caplen = 14 + ip;
      r.len = 14 + s.ip_len;
      want.push_back(std::move(r));
    }
    ASSERT_FALSE(want.empty());
    expect_dump(f, want, "ethernet ip_complete");
    if (std::string(name) == "android.pcap" && have_tshark()) {
      EXPECT_EQ(tshark_frames(traces(name) / "ip_complete.pcap"), static_cast<long>(want.size()));
    }
  }
}

TEST_F(PcapSinkTest, StopDumpingMaskStopsAFlowOnceItsConTypeMatches) {
  NEED_CAPTURE("gnutella_B.pcap");
  const std::uint32_t p2p = 256;  // PDPI's TCP signatures set the P2P bit
  std::size_t stopped_flows = 0, stopped_midway = 0;
  for (const char* name : {"gnutella_B.pcap", "edonkey.pcap", "bittorrent.pcap", "jabber_B.pcap"}) {
    SCOPED_TRACE(name);
    if (!fs::exists(capture(name))) continue;
    // Batches of 4 packets: a flow is classified a few batches into it.
    auto pl = run(capture(name),
                  params({{"tcp_complete", true}, {"stop_dumping_mask", std::int64_t{p2p}}}, name), 4);
    const PcapFile f = read_pcap(traces(name) / "tcp_complete.pcap");  // absent: nothing dumped
    std::size_t ri = 0, tcp = 0;
    std::map<std::uint64_t, bool> gap;  // a packet of the flow was left out
    std::map<std::uint64_t, std::size_t> total, dumped;
    for (const Seen& s : pl->seen) {
      if (!s.tcp()) continue;
      ++tcp;
      ++total[s.flow];
      const bool in =
          ri < f.recs.size() && f.recs[ri].ts_ns == s.ts_ns / 1000 * 1000 && f.recs[ri].bytes == s.bytes;
      const bool masked = (pl->labels.at(s.flow).con_type & p2p) != 0;
      if (!masked) {
        ASSERT_TRUE(in) << "a packet of a flow the mask does not match is missing";
      }
      if (in) {
        const bool stopped_before = gap[s.flow];
        ASSERT_FALSE(stopped_before) << "a flow was dumped again after it stopped";
        ++dumped[s.flow];
        ++ri;
      } else {
        gap[s.flow] = true;
      }
    }
    EXPECT_EQ(ri, f.recs.size());
    for (const auto& [flow, n] : total)
      if (pl->labels.at(flow).con_type & p2p) {
        ++stopped_flows;
        if (dumped[flow] > 0) ++stopped_midway;
        EXPECT_LT(dumped[flow], n) << "a P2P flow was dumped whole";
      }
    EXPECT_EQ(pl->counter("packets_skipped_limit"), tcp - f.recs.size());
    EXPECT_NE(slurp(traces(name) / "log.txt").find("\nstop_dumping_mask =  256 # (0x100)\n"),
              std::string::npos);
  }
  EXPECT_GT(stopped_flows, 0u) << "PDPI typed no tracked TCP flow of these captures as P2P";
  EXPECT_GT(stopped_midway, 0u) << "no P2P flow had packets dumped before it was typed";
}

TEST_F(PcapSinkTest, TstatLayoutAndLogTxt) {
  NEED_CAPTURE("bt-dns.pcap");
  Over o = {{"dir", dir_.string()}, {"layout", std::string("tstat")},
            {"utc", true},          {"udp", std::string("dns")},
            {"udp_complete", true}, {"udp_maxpackets", std::int64_t{1}},
            {"snap_len", 100}};
  auto pl = run(capture("bt-dns.pcap"), o);
  ASSERT_FALSE(pl->seen.empty());
  const fs::path run_dir = dir_ / sinks::run_dir_name(pl->seen.front().ts_ns, true);
  EXPECT_EQ(files_in(dir_), (std::vector<std::string>{run_dir.filename().string()}));
  const fs::path tr = run_dir / "traces00";
  ASSERT_TRUE(fs::is_directory(tr));
  // Dumped: DNS-typed directions (udp_dns) and each direction's first packet (udp_complete).
  std::uint64_t first = 0, last = 0;
  std::set<std::pair<std::uint64_t, int>> dirs;
  bool dns = false;
  for (const Seen& s : pl->seen) {
    if (!s.udp()) continue;
    const bool is_dns = pl->labels.at(s.flow).udp_type[s.dir] == 19;
    dns = dns || is_dns;
    if (dirs.insert({s.flow, s.dir}).second || is_dns) {
      if (!first) first = s.ts_ns;
      last = s.ts_ns;
    }
  }
  ASSERT_TRUE(dns) << "no DNS in bt-dns.pcap";
  auto ctime_utc = [](std::uint64_t ns) {
    std::time_t t = static_cast<std::time_t>(ns / kSec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char b[64];
    std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);
    return std::string(b);
  };
  EXPECT_EQ(slurp(tr / "log.txt"), "dump start: " + ctime_utc(first) + "\ndump stop:  " + ctime_utc(last) +
                                       "\n---\nenabled protocols:\n---\nudp_dns\nudp_complete\n"
                                       "---\nadditional option:\n---\nudp_maxpackets = 1\nsnap_len = 100\n"
                                       "link = original\n");
}

// ================================================================ synthetic

TEST_F(PcapSinkTest, OneFilePerLinkTypeTheFirstOneUnsuffixed) {
  Pipeline pl(params({{"ip_complete", true}, {"udp_complete", true}}));
  const Bytes ip_a = ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(5000, 6000, filler(30)));
  const Bytes ip_b = ipv4("10.0.0.2", "10.0.0.1", kIpUdp, udp(6000, 5000, filler(20)));
  pl.feed(batch_of({{1 * kSec, eth(kEtherIpv4, ip_a)},
                    {2 * kSec, sll(kEtherIpv4, ip_b), kDltSll},
                    {3 * kSec, eth(kEtherArp, filler(28))},
                    {4 * kSec, eth(kEtherIpv4, ip_a)},
                    {5 * kSec, sll(kEtherIpv4, ip_b), kDltSll}}));
  pl.finish();
  EXPECT_TRUE(pl.errors.empty());
  EXPECT_EQ(files_in(traces()),
            (std::vector<std::string>{"ip_complete.pcap", "ip_complete_dlt113.pcap", "log.txt",
                                      "udp_complete.pcap", "udp_complete_dlt113.pcap"}));
  auto of_link = [&](std::uint16_t lt) {
    return expected(pl, [lt](const Seen& s) { return s.ip() && s.linktype == lt; });
  };
  for (const char* d : {"ip_complete", "udp_complete"}) {
    const PcapFile e = read_pcap(traces() / (std::string(d) + ".pcap"));
    const PcapFile s = read_pcap(traces() / (std::string(d) + "_dlt113.pcap"));
    EXPECT_EQ(e.linktype, DLT_EN10MB);
    EXPECT_EQ(s.linktype, DLT_LINUX_SLL);
    expect_dump(e, of_link(1), d);
    expect_dump(s, of_link(113), std::string(d) + " sll");
  }
  EXPECT_EQ(pl.counter("packets_not_ip"), 1u);
  EXPECT_EQ(pl.counter("packets_dumped"), 8u);
  EXPECT_EQ(pl.counter("files_opened"), 4u);
}

TEST_F(PcapSinkTest, EthernetModeDropsLinkPaddingAndWritesTheAnalysedPacketOfATunnel) {
  const Bytes small = ipv4("10.0.0.1", "10.0.0.2", kIpUdp, udp(1000, 2000, filler(2)));  // 30 bytes
  Bytes padded = eth(kEtherIpv4, small);
  padded.resize(60, 0);  // Ethernet minimum frame
  const Bytes inner = ipv4("192.168.0.1", "192.168.0.2", kIpUdp, udp(3000, 4000, filler(12)));
  const Bytes tunnel = eth(kEtherIpv4, ipv4("10.1.0.1", "10.1.0.2", kIpIpip, inner));
  const Bytes v6 = ipv6("2001:db8::1", "2001:db8::2", kIpUdp, udp(5000, 6000, filler(8)));
  Pipeline pl(params({{"ip_complete", true}, {"link", std::string("ethernet")}, {"snap_len", 36}}));
  pl.feed(batch_of({{kSec, padded}, {2 * kSec, tunnel}, {3 * kSec, eth(kEtherIpv6, v6)}}));
  pl.finish();
  auto rec = [](std::uint64_t ts, std::uint8_t type_hi, std::uint8_t type_lo, const Bytes& ip,
                std::uint32_t keep) {
    Rec r;
    r.ts_ns = ts;
    r.bytes.assign(12, 0);
    r.bytes.push_back(type_hi);
    r.bytes.push_back(type_lo);
    r.bytes.insert(r.bytes.end(), ip.begin(), ip.begin() + keep);
    r.caplen = 14 + keep;
    r.len = static_cast<std::uint32_t>(14 + ip.size());
    return r;
  };
  const PcapFile f = read_pcap(traces() / "ip_complete.pcap");
  EXPECT_EQ(f.linktype, DLT_EN10MB);
  expect_dump(f,
              {rec(kSec, 0x08, 0x00, small, 30),  // padding gone, under the snap length
               rec(2 * kSec, 0x08, 0x00, inner, 36), rec(3 * kSec, 0x86, 0xDD, v6, 36)},
              "ethernet records");
}

TEST_F(PcapSinkTest, UdpLimitsApplyPerDirection) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  auto feed = [&](Pipeline& pl) {
    std::vector<Frame> f;
    for (int i = 0; i < 5; ++i) f.push_back({kSec + i * 10'000, udp4(A, 5000, B, 6000, filler(10))});
    for (int i = 0; i < 3; ++i)
      f.push_back({kSec + 100'000 + i * 10'000, udp4(B, 6000, A, 5000, filler(40))});
    f.push_back({kSec + 200'000, udp4(A, 5001, B, 6000, filler(10))});  // another flow
    pl.feed(batch_of(f));
    pl.finish();
  };
  auto dumped = [&](Pipeline& pl, const fs::path& tr) {
    std::vector<std::size_t> idx;  // positions in pl.seen of the records
    const PcapFile f = read_pcap(tr / "udp_complete.pcap");
    std::size_t ri = 0;
    for (std::size_t i = 0; i < pl.seen.size(); ++i)
      if (ri < f.recs.size() && f.recs[ri].ts_ns == pl.seen[i].ts_ns / 1000 * 1000) idx.push_back(i), ++ri;
    EXPECT_EQ(ri, f.recs.size());
    return idx;
  };
  {
    Pipeline pl(params({{"udp_complete", true}, {"udp_maxpackets", std::int64_t{2}}}, "p"));
    feed(pl);
    EXPECT_EQ(dumped(pl, traces("p")), (std::vector<std::size_t>{0, 1, 5, 6, 8}));
    EXPECT_EQ(pl.counter("packets_skipped_limit"), 4u);
  }
  {
    Pipeline pl(params({{"udp_complete", true}, {"udp_maxbytes", std::int64_t{25}}}, "b"));
    feed(pl);
    // 10 bytes each way A->B: 10, 20 kept, 30 not; B->A 40 bytes: over at once.
    EXPECT_EQ(dumped(pl, traces("b")), (std::vector<std::size_t>{0, 1, 8}));
    EXPECT_EQ(pl.counter("packets_skipped_limit"), 6u);
  }
}

TEST_F(PcapSinkTest, UdpStunTakesFlowsThatStartWithABindingRequest) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Bytes req(20, 0);
  req[1] = 0x01;
  Bytes resp = req;
  resp[0] = 0x01;
  Pipeline pl(params({{"udp", std::string("stun")}}));
  pl.feed(batch_of({{kSec, udp4(A, 4000, B, 3478, req)},                // flow 1 starts with a request
                    {kSec + 1, udp4(B, 3478, A, 4000, resp)},           // its answer
                    {kSec + 2, udp4(A, 4001, B, 3478, filler(20))},     // flow 2 starts otherwise
                    {kSec + 3, udp4(A, 4001, B, 3478, req)},            // a request later: not STUN-initiated
                    {kSec + 4, udp4(A, 4000, B, 3478, filler(60))}}));  // flow 1 again
  pl.finish();
  const PcapFile f = read_pcap(traces() / "udp_stun.pcap");
  std::vector<Rec> want = {original(pl.seen[0]), original(pl.seen[1]), original(pl.seen[4])};
  expect_dump(f, want, "udp_stun");
}

TEST_F(PcapSinkTest, NanosecondTimestampsWhenAsked) {
  Pipeline pl(params({{"ip_complete", true}, {"nanoseconds", true}}));
  pl.feed(batch_of({{1'700'000'000 * kSec + 123'456'789, udp4("10.0.0.1", 1, "10.0.0.2", 2, filler(4))}}));
  pl.finish();
  const PcapFile f = read_pcap(traces() / "ip_complete.pcap");
  ASSERT_EQ(f.recs.size(), 1u);
  EXPECT_EQ(f.recs[0].ts_ns, 1'700'000'000 * kSec + 123'456'789);
  // The default is Tstat's microseconds.
  Pipeline us(params({{"ip_complete", true}}, "us"));
  us.feed(batch_of({{1'700'000'000 * kSec + 123'456'789, udp4("10.0.0.1", 1, "10.0.0.2", 2, filler(4))}}));
  us.finish();
  ASSERT_EQ(read_pcap(traces("us") / "ip_complete.pcap").recs.size(), 1u);
  EXPECT_EQ(read_pcap(traces("us") / "ip_complete.pcap").recs[0].ts_ns, 1'700'000'000 * kSec + 123'456'000);
}

TEST_F(PcapSinkTest, WriteErrorsAreCountedAndReported) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Pipeline pl(params({{"ip_complete", true}, {"slice_win", std::int64_t(10 * kSec)}}));
  pl.feed(batch_of({{100 * kSec, udp4(A, 1, B, 2, filler(8))}}));
  ASSERT_TRUE(fs::exists(traces() / "ip_complete00.pcap"));
  // The next slice's file name is taken by a directory: it cannot be created.
  fs::create_directory(traces() / "ip_complete01.pcap");
  pl.feed(batch_of({{111 * kSec, udp4(A, 1, B, 2, filler(8))}, {112 * kSec, udp4(A, 1, B, 2, filler(8))}}));
  ASSERT_EQ(pl.errors.size(), 1u);
  EXPECT_EQ(pl.errors[0],
            "cannot create '" + (traces() / "ip_complete01.pcap").string() + "': Is a directory");
  EXPECT_EQ(pl.counter("write_errors"), 3u);  // the file, then both records
  // The slice after that is written again.
  pl.feed(batch_of({{125 * kSec, udp4(A, 1, B, 2, filler(8))}}));
  pl.finish();
  EXPECT_EQ(pl.errors.size(), 1u);
  EXPECT_EQ(read_pcap(traces() / "ip_complete00.pcap").recs.size(), 1u);
  EXPECT_EQ(read_pcap(traces() / "ip_complete02.pcap").recs.size(), 1u);
  EXPECT_EQ(pl.counter("packets_dumped"), 2u);
  EXPECT_EQ(pl.counter("files_opened"), 2u);
}

TEST_F(PcapSinkTest, AnEmptyRunLeavesLogTxtAndRunsDoNotOverwriteEachOther) {
  {
    Pipeline pl(params({{"tcp_complete", true}}));
    pl.finish();
    EXPECT_TRUE(pl.errors.empty());
  }
  EXPECT_EQ(files_in(dir_), (std::vector<std::string>{"traces00"}));
  EXPECT_EQ(files_in(traces()), (std::vector<std::string>{"log.txt"}));
  EXPECT_EQ(slurp(traces() / "log.txt"),
            "no packets to dump\n---\nenabled protocols:\n---\ntcp_complete\n---\nadditional option:\n---\n"
            "link = original\n");
  {
    Pipeline pl(params({{"ip_complete", true}}));
    pl.feed(batch_of({{kSec, udp4("10.0.0.1", 1, "10.0.0.2", 2, filler(4))}}));
    pl.finish();
  }
  EXPECT_EQ(files_in(dir_), (std::vector<std::string>{"traces00", "traces01"}));
  EXPECT_EQ(files_in(dir_ / "traces01"), (std::vector<std::string>{"ip_complete.pcap", "log.txt"}));
}

// ================================================================ live changes

// No dump on: like Tstat without -T, nothing is written and no directory made,
// until a dump is turned on; turning the last one off is allowed.
TEST_F(PcapSinkTest, DormantUntilADumpIsTurnedOn) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  auto pkt = [&](int i) {
    return Frame{static_cast<std::uint64_t>(100 + i) * kSec, udp4(A, 5000, B, 6000, filler(10 + i))};
  };
  {
    Pipeline pl(params({}));
    pl.feed(batch_of({pkt(0), pkt(1)}));
    pl.finish();
    EXPECT_TRUE(pl.errors.empty());
    EXPECT_EQ(pl.sink->summary(), "no dump enabled (" + (dir_ / "").string() + ")");
    EXPECT_EQ(pl.counter("packets_dumped"), 0u);
  }
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{});
  {
    Pipeline pl(params({}));
    pl.feed(batch_of({pkt(0), pkt(1)}));
    EXPECT_EQ(files_in(dir_), std::vector<std::string>{});
    EXPECT_EQ(live_error(pl, "ip_complete", true), "(no error)");
    pl.feed(batch_of({pkt(2), pkt(3)}));
    EXPECT_EQ(live_error(pl, "ip_complete", false), "(no error)");
    pl.feed(batch_of({pkt(4)}));
    EXPECT_EQ(live_error(pl, "udp", std::string("unknown")), "(no error)");
    pl.feed(batch_of({pkt(5)}));
    pl.finish();
    EXPECT_TRUE(pl.errors.empty()) << pl.errors.front();
    EXPECT_EQ(pl.counter("packets_dumped"), 3u);
  }
  EXPECT_EQ(files_in(dir_), std::vector<std::string>{"traces00"});
  EXPECT_EQ(files_in(traces()),
            (std::vector<std::string>{"ip_complete.pcap", "log.txt", "udp_unknown.pcap"}));
  EXPECT_EQ(read_pcap(traces() / "ip_complete.pcap").recs.size(), 2u);
  EXPECT_EQ(read_pcap(traces() / "udp_unknown.pcap").recs.size(), 1u);
}

TEST_F(PcapSinkTest, LiveSelectionChangesWhatIsWrittenFromTheNextBatch) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Pipeline pl(params({{"ip_complete", true}, {"utc", true}}));
  auto pkt = [&](int i) {
    return Frame{static_cast<std::uint64_t>(100 + i) * kSec, udp4(A, 5000, B, 6000, filler(10 + i))};
  };
  pl.feed(batch_of({pkt(0), pkt(1), pkt(2)}));
  EXPECT_EQ(live_error(pl, "udp_complete", true), "(no error)");
  EXPECT_EQ(live_error(pl, "ip_complete", false), "(no error)");
  // Closed at once and flushed: a whole pcap file while the run goes on.
  expect_dump(read_pcap(traces() / "ip_complete.pcap"), records_of(pl, {0, 1, 2}), "ip_complete, closed");
  EXPECT_FALSE(fs::exists(traces() / "udp_complete.pcap"));  // opened at its first packet
  pl.feed(batch_of({pkt(3), pkt(4)}));
  // Back on: a new file, the first one is left whole.
  EXPECT_EQ(live_error(pl, "ip_complete", true), "(no error)");
  pl.feed(batch_of({pkt(5), pkt(6)}));

  // Refused values change nothing.
  EXPECT_EQ(
      live_error(pl, "udp", std::string("dns,skype")),
      "parameter 'udp': unknown class 'skype' (valid: unknown, rtp, rtcp, edk, kad, kadu, gnutella, "
      "bittorrent, dc, kazaa, pplive, sopcast, tvants, okad, dns, utp, vod, ppstream, teredo, sip, dtls, "
      "quic, mturn, sye, stun)");
  EXPECT_EQ(live_error(pl, "udp_complete", false), "(no error)");
  EXPECT_EQ(live_error(pl, "snap_len", std::int64_t{40}), "parameter 'snap_len' cannot change live");
  EXPECT_EQ(live_error(pl, "gzip", true), "parameter 'gzip' cannot change live");
  pl.feed(batch_of({pkt(7)}));
  pl.finish();
  EXPECT_TRUE(pl.errors.empty()) << pl.errors.front();

  EXPECT_EQ(files_in(traces()), (std::vector<std::string>{"ip_complete.1.pcap", "ip_complete.pcap", "log.txt",
                                                          "udp_complete.pcap"}));
  expect_dump(read_pcap(traces() / "ip_complete.pcap"), records_of(pl, {0, 1, 2}), "ip_complete");
  expect_dump(read_pcap(traces() / "ip_complete.1.pcap"), records_of(pl, {5, 6, 7}), "ip_complete.1");
  expect_dump(read_pcap(traces() / "udp_complete.pcap"), records_of(pl, {3, 4, 5, 6}), "udp_complete");
  EXPECT_EQ(pl.counter("files_opened"), 3u);
  EXPECT_EQ(pl.counter("packets_dumped"), 10u);
  EXPECT_EQ(pl.counter("write_errors"), 0u);
  // Every dump enabled at some time, the final options, and the changes at
  // the packet clock they came at.
  EXPECT_EQ(slurp(traces() / "log.txt"),
            "dump start: " + utc_ctime(100 * kSec) + "\ndump stop:  " + utc_ctime(107 * kSec) +
                "\n---\nenabled protocols:\n---\nip_complete\nudp_complete\n---\nadditional option:\n---\n"
                "link = original\n---\nlive changes:\n---\n" +
                utc_ctime(102 * kSec) + ": udp_complete = true\n" + utc_ctime(102 * kSec) +
                ": ip_complete = false\n" + utc_ctime(104 * kSec) + ": ip_complete = true\n" +
                utc_ctime(106 * kSec) + ": udp_complete = false\n");
}

TEST_F(PcapSinkTest, LiveChangeBeforeAnyPacketAndSlicesContinueTheirNumbers) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Pipeline pl(params({{"udp_complete", true}, {"slice_win", std::int64_t(10 * kSec)}, {"utc", true}}));
  EXPECT_EQ(live_error(pl, "ip_complete", true), "(no error)");  // before the first packet
  auto pkt = [&](std::uint64_t t) { return Frame{t * kSec, udp4(A, 1, B, 2, filler(8))}; };
  pl.feed(batch_of({pkt(100)}));
  EXPECT_EQ(live_error(pl, "ip_complete", false), "(no error)");
  pl.feed(batch_of({pkt(101)}));
  EXPECT_EQ(live_error(pl, "ip_complete", true), "(no error)");
  // The next slice number, its window starting at its first packet (102):
  // 111 stays in it, 113 starts the one after.
  pl.feed(batch_of({pkt(102), pkt(111), pkt(113)}));
  pl.finish();
  EXPECT_EQ(files_in(traces()),
            (std::vector<std::string>{"ip_complete00.pcap", "ip_complete01.pcap", "ip_complete02.pcap",
                                      "log.txt", "udp_complete00.pcap", "udp_complete01.pcap"}));
  expect_dump(read_pcap(traces() / "ip_complete00.pcap"), records_of(pl, {0}), "ip_complete00");
  expect_dump(read_pcap(traces() / "ip_complete01.pcap"), records_of(pl, {2, 3}), "ip_complete01");
  expect_dump(read_pcap(traces() / "ip_complete02.pcap"), records_of(pl, {4}), "ip_complete02");
  expect_dump(read_pcap(traces() / "udp_complete00.pcap"), records_of(pl, {0, 1, 2}), "udp_complete00");
  expect_dump(read_pcap(traces() / "udp_complete01.pcap"), records_of(pl, {3, 4}), "udp_complete01");
  const std::string log = slurp(traces() / "log.txt");
  EXPECT_NE(log.find("\n---\nlive changes:\n---\nbefore the first packet: ip_complete = true\n" +
                     utc_ctime(100 * kSec) + ": ip_complete = false\n"),
            std::string::npos)
      << log;
}

TEST_F(PcapSinkTest, LiveLimitsKeepPerFlowAccountingConsistent) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Pipeline pl(params({{"udp_complete", true}, {"udp_maxpackets", std::int64_t{2}}}));
  int n = 0;
  auto batch = [&](int count) {  // `count` more datagrams of one flow A -> B
    std::vector<Frame> f;
    for (int i = 0; i < count; ++i, ++n)
      f.push_back({kSec + static_cast<std::uint64_t>(n) * 1000, udp4(A, 5000, B, 6000, filler(10))});
    pl.feed(batch_of(f));
  };
  batch(3);  // 0 1 kept, 2 over the limit
  // A new value applies to what the flow has sent so far: 3 is its 4th.
  EXPECT_EQ(live_error(pl, "udp_maxpackets", std::int64_t{4}), "(no error)");
  batch(3);  // 3 kept, 4 5 not
  EXPECT_EQ(live_error(pl, "udp_maxpackets", std::int64_t{0}), "(no error)");
  batch(2);  // no limit: 6 7
  // Limits that start again count from the flow's next packet.
  EXPECT_EQ(live_error(pl, "udp_maxpackets", std::int64_t{1}), "(no error)");
  batch(2);  // 8 kept, 9 not
  EXPECT_EQ(live_error(pl, "ip_complete", true), "(no error)");
  EXPECT_EQ(live_error(pl, "udp_complete", false), "(no error)");
  // A limit of a dump that is off is kept for when it is turned on.
  EXPECT_EQ(live_error(pl, "udp_maxpackets", std::int64_t{3}), "(no error)");
  EXPECT_EQ(pl.sctx.logs,
            std::vector<std::string>{"parameter 'udp_maxpackets' applies to udp_complete, which is off: it "
                                     "takes effect when udp_complete is turned on"});
  batch(2);  // 10 11: ip_complete only
  EXPECT_EQ(live_error(pl, "udp_complete", true), "(no error)");
  batch(4);  // counted afresh: 12 13 14 kept, 15 not
  pl.finish();
  EXPECT_TRUE(pl.errors.empty()) << pl.errors.front();
  ASSERT_EQ(pl.seen.size(), 16u);
  expect_dump(read_pcap(traces() / "udp_complete.pcap"), records_of(pl, {0, 1, 3, 6, 7, 8}), "udp_complete");
  expect_dump(read_pcap(traces() / "udp_complete.1.pcap"), records_of(pl, {12, 13, 14}), "udp_complete.1");
  expect_dump(read_pcap(traces() / "ip_complete.pcap"), records_of(pl, {10, 11, 12, 13, 14, 15}),
              "ip_complete");
  EXPECT_EQ(pl.counter("packets_skipped_limit"), 5u);  // 2, 4, 5, 9, 15
}

TEST_F(PcapSinkTest, LiveUdpStunTakesTheFlowsOpenedWhileItIsOn) {
  const char *A = "10.0.0.1", *B = "10.0.0.2";
  Bytes req(20, 0);
  req[1] = 0x01;
  Bytes resp = req;
  resp[0] = 0x01;
  Pipeline pl(params({{"ip_complete", true}}));
  pl.feed(batch_of({{kSec, udp4(A, 4000, B, 3478, req)}}));  // flow 1 starts with a request, unseen
  // Takes a flow state slot now: nothing needed one before.
  EXPECT_EQ(live_error(pl, "udp", std::string("stun")), "(no error)");
  pl.feed(batch_of({{kSec + 1, udp4(B, 3478, A, 4000, resp)},     // 1: flow 1, not known as STUN
                    {kSec + 2, udp4(A, 4001, B, 3478, req)},      // 2: flow 2 starts with a request
                    {kSec + 3, udp4(B, 3478, A, 4001, resp)}}));  // 3
  EXPECT_EQ(live_error(pl, "udp", std::string("dns")), "(no error)");
  pl.feed(batch_of({{kSec + 4, udp4(A, 4001, B, 3478, filler(30))}}));  // 4: udp_stun is off
  EXPECT_EQ(live_error(pl, "udp", std::string("stun,dns")), "(no error)");
  pl.feed(batch_of({{kSec + 5, udp4(A, 4001, B, 3478, filler(30))},     // 5: flow 2 is still STUN
                    {kSec + 6, udp4(A, 4000, B, 3478, filler(30))}}));  // 6: flow 1 is not
  pl.finish();
  EXPECT_TRUE(pl.errors.empty()) << pl.errors.front();
  expect_dump(read_pcap(traces() / "udp_stun.pcap"), records_of(pl, {2, 3}), "udp_stun");
  expect_dump(read_pcap(traces() / "udp_stun.1.pcap"), records_of(pl, {5}), "udp_stun.1");
  EXPECT_EQ(files_in(traces()),
            (std::vector<std::string>{"ip_complete.pcap", "log.txt", "udp_stun.1.pcap", "udp_stun.pcap"}));
}

TEST_F(PcapSinkTest, LiveSelectionOnACapture) {
  NEED_CAPTURE("android.pcap");
  std::size_t cut1 = 0, cut2 = 0;
  auto pl =
      run(capture("android.pcap"), params({{"ip_complete", true}}), 50, [&](Pipeline& p, std::size_t fed) {
        if (!cut1 && fed >= 150) {
          cut1 = p.seen.size();
          ASSERT_EQ(live_error(p, "udp_complete", true), "(no error)");
          ASSERT_EQ(live_error(p, "ip_complete", false), "(no error)");
        } else if (!cut2 && fed >= 350) {
          cut2 = p.seen.size();
          ASSERT_EQ(live_error(p, "ip_complete", true), "(no error)");
          ASSERT_EQ(live_error(p, "udp", std::string("dns")), "(no error)");
        }
      });
  ASSERT_EQ(cut1, 150u);
  ASSERT_GT(cut2, 350u);  // the next batch boundary (the reader's batches are 256 packets)
  ASSERT_LT(cut2, pl->seen.size());
  EXPECT_TRUE(pl->errors.empty()) << pl->errors.front();
  auto pick = [&](auto pred) {
    std::vector<Rec> v;
    for (std::size_t i = 0; i < pl->seen.size(); ++i)
      if (pred(pl->seen[i], i)) v.push_back(original(pl->seen[i]));
    return v;
  };
  const auto ip1 = pick([&](const Seen& s, std::size_t i) { return s.ip() && i < cut1; });
  const auto udp = pick([&](const Seen& s, std::size_t i) { return s.udp() && i >= cut1; });
  const auto ip2 = pick([&](const Seen& s, std::size_t i) { return s.ip() && i >= cut2; });
  const auto dns =
      pick([&](const Seen& s, std::size_t i) { return s.udp() && s.udp_type == 19 && i >= cut2; });
  ASSERT_FALSE(ip1.empty());
  ASSERT_FALSE(udp.empty());
  ASSERT_FALSE(ip2.empty());
  ASSERT_FALSE(dns.empty()) << "no DNS in the last 150 packets of android.pcap";
  expect_dump(read_pcap(traces() / "ip_complete.pcap"), ip1, "ip_complete");
  expect_dump(read_pcap(traces() / "udp_complete.pcap"), udp, "udp_complete");
  expect_dump(read_pcap(traces() / "ip_complete.1.pcap"), ip2, "ip_complete.1");
  expect_dump(read_pcap(traces() / "udp_dns.pcap"), dns, "udp_dns");
  EXPECT_EQ(files_in(traces()), (std::vector<std::string>{"ip_complete.1.pcap", "ip_complete.pcap", "log.txt",
                                                          "udp_complete.pcap", "udp_dns.pcap"}));
  EXPECT_EQ(pl->counter("packets_dumped"), ip1.size() + udp.size() + ip2.size() + dns.size());
  RecordProperty("records", std::to_string(ip1.size()) + " ip, " + std::to_string(udp.size()) + " udp, " +
                                std::to_string(ip2.size()) + " ip.1, " + std::to_string(dns.size()) + " dns");
}

TEST_F(PcapSinkTest, LiveTcpMaxPacketsCountsFromTheChange) {
  NEED_CAPTURE("android.pcap");
  const std::uint64_t n = 3;
  std::size_t cut1 = 0, cut2 = 0;
  auto pl =
      run(capture("android.pcap"), params({{"tcp_complete", true}}), 50, [&](Pipeline& p, std::size_t fed) {
        if (!cut1 && fed >= 200) {
          cut1 = p.seen.size();
          ASSERT_EQ(live_error(p, "tcp_maxpackets", std::int64_t(n)), "(no error)");
        } else if (!cut2 && fed >= 400) {
          cut2 = p.seen.size();
          ASSERT_EQ(live_error(p, "tcp_maxpackets", std::int64_t{0}), "(no error)");
        }
      });
  ASSERT_EQ(cut1, 200u);
  ASSERT_GE(cut2, 400u);
  ASSERT_LT(cut2, pl->seen.size());
  const PcapFile f = read_pcap(traces() / "tcp_complete.pcap");
  ASSERT_TRUE(f.error.empty()) << f.error;
  // Every TCP packet before the first change and after the second; in
  // between, each direction's first n data segments after the change (and
  // SYN/FIN/RST always); the dump is a subsequence of the TCP packets.
  std::size_t ri = 0, tcp_between = 0, dumped_between = 0, left_out = 0;
  std::map<std::pair<std::uint64_t, int>, std::uint64_t> data_seen;
  for (std::size_t i = 0; i < pl->seen.size(); ++i) {
    const Seen& s = pl->seen[i];
    if (!s.tcp()) continue;
    const bool in =
        ri < f.recs.size() && f.recs[ri].ts_ns == s.ts_ns / 1000 * 1000 && f.recs[ri].bytes == s.bytes;
    if (i < cut1 || i >= cut2) {
      ASSERT_TRUE(in) << "packet " << i << " is missing: no limit was active";
    } else {
      ++tcp_between;
      if (s.tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) {
        ASSERT_TRUE(in) << "SYN/FIN/RST must always be dumped";
      }
      if (s.tcp_data > 0) {
        const std::uint64_t k = ++data_seen[{s.flow, int{s.dir}}];
        ASSERT_EQ(in, k <= n) << "packet " << i << ": data segment " << k
                              << " of its direction after the change";
      }
      dumped_between += in;
      left_out += !in;
    }
    if (in) ++ri;
  }
  EXPECT_EQ(ri, f.recs.size()) << "tcp_complete holds packets that are not TCP of a flow, or out of order";
  EXPECT_GT(left_out, 0u) << "the limit left nothing out";
  EXPECT_GT(dumped_between, 0u);
  EXPECT_EQ(pl->counter("packets_skipped_limit"), left_out);
  EXPECT_EQ(pl->counter("packets_dumped"), f.recs.size());
  EXPECT_EQ(tcp_between, dumped_between + left_out);
  RecordProperty("between_changes", std::to_string(dumped_between) + " dumped, " + std::to_string(left_out) +
                                        " left out of " + std::to_string(tcp_between));
}

TEST_F(PcapSinkTest, LiveStopDumpingMaskDecidesEachFlowAtItsNextPacket) {
  NEED_CAPTURE("gnutella_B.pcap");
  const std::uint32_t p2p = 256, unused = 1u << 18;  // a con_type bit no flow of the capture has
  // Masks from packet 600 (batch boundaries: the capture goes in batches of 4).
  const std::vector<std::pair<std::size_t, std::uint32_t>> plan = {
      {600, p2p}, {1000, unused}, {1300, 0}, {1600, p2p}};
  std::vector<std::size_t> cuts;
  auto pl =
      run(capture("gnutella_B.pcap"), params({{"tcp_complete", true}}), 4, [&](Pipeline& p, std::size_t fed) {
        if (cuts.size() < plan.size() && fed >= plan[cuts.size()].first) {
          ASSERT_EQ(live_error(p, "stop_dumping_mask", std::int64_t{plan[cuts.size()].second}), "(no error)");
          cuts.push_back(p.seen.size());
        }
      });
  ASSERT_EQ(cuts.size(), plan.size());
  ASSERT_LT(cuts.back(), pl->seen.size());
  // Each change decides every flow anew at its next packet: stopped while
  // its con_type shares a bit with the mask of the moment.
  std::map<std::uint64_t, bool> stopped;
  std::size_t masked = 0, phase = 0;
  std::array<std::size_t, 5> masked_in{};
  std::vector<Rec> want;
  for (std::size_t i = 0; i < pl->seen.size(); ++i) {
    const Seen& s = pl->seen[i];
    ASSERT_EQ(s.con_type & unused, 0u);
    while (phase < cuts.size() && i >= cuts[phase]) {
      ++phase;
      stopped.clear();
    }
    if (!s.tcp()) continue;
    const std::uint32_t mask = phase ? plan[phase - 1].second : 0;
    stopped[s.flow] = stopped[s.flow] || (s.con_type & mask) != 0;
    if (stopped[s.flow]) {
      ++masked;
      ++masked_in[phase];
      continue;
    }
    want.push_back(original(s));
  }
  EXPECT_EQ(masked_in[0] + masked_in[2] + masked_in[3], 0u);
  ASSERT_GT(masked_in[1], 0u) << "no P2P-typed TCP packet between packets 600 and 1000";
  ASSERT_GT(masked_in[4], 0u) << "no P2P-typed TCP packet after packet 1600";
  expect_dump(read_pcap(traces() / "tcp_complete.pcap"), want, "tcp_complete");
  EXPECT_EQ(pl->counter("packets_skipped_limit"), masked);
  RecordProperty("masked", std::to_string(masked_in[1]) + " after 600, " + std::to_string(masked_in[4]) +
                               " after 1600, of " + std::to_string(want.size() + masked) + " TCP packets");
}
