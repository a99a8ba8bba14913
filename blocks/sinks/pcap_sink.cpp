// PcapSink: Tstat's dump engine. Writes the packets it selects (all IP,
// TCP or UDP of tracked flows, per UDP class) as pcap files through libpcap
// into <run dir>/tracesNN/, next to the logs, with Tstat's per-flow limits,
// stop mask, snap length and time slices. Which dumps are enabled, the
// limits and the stop mask can change on a running graph. See docs/pcapdump.md.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <netloom/netloom.hpp>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "netloom/recycled.hpp"
#include "pcap_dump_file.hpp"
#include "pcap_dump_rules.hpp"
#include "run_dir.hpp"

namespace netloom::blocks {
namespace {

namespace fs = std::filesystem;
using namespace netloom::pcapdump;

constexpr std::uint64_t kNsPerSec = 1'000'000'000ull;
constexpr std::uint8_t kTcp = 6, kUdp = 17;

// Dump ids: the three aggregates, then one per UDP class (kUdpClasses).
enum : int { kIpComplete = 0, kTcpComplete, kUdpComplete, kFirstClass };
constexpr int kDumps = kFirstClass + static_cast<int>(kUdpClasses.size());

// Per-flow state of the dump engine (a FlowContext slot), only kept when a
// rule needs it: the stop mask, the limits, STUN-initiated flows.
struct DumpFlowState final : FlowState, Recycled<DumpFlowState> {
  bool stopped = false;         // tcp_complete: the stop mask matched once...
  std::uint32_t stop_mask = 0;  // ...this mask (another mask decides anew)
  bool fresh = false;           // created at the flow's `opened` event: its first packet is next
  bool stun = false;            // the flow's first packet was a STUN Binding Request
  // The limit accounting belongs to one period in which the limits were
  // active (PcapSink::tcp_epoch_/udp_epoch_): an older one is started afresh.
  std::uint32_t tcp_epoch = 0, udp_epoch = 0;
  std::array<TcpDir, 2> tcp{};
  std::array<UdpDir, 2> udp{};
};

inline std::uint16_t rd16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] << 8 | p[1]); }
inline std::uint32_t rd32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

class PcapSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "PcapSink";
    i.summary =
        "dumps selected packets as pcap files, like Tstat's dump engine (ip/tcp/udp_complete, per UDP class)";
    i.description =
        "Place it after the flow tracker and the classifiers. Writes through libpcap, into "
        "<dir>/<YYYY_MM_DD_HH_MM>.out/tracesNN/ (layout `tstat`, named after the first packet, like the "
        "logs) or <dir>/tracesNN/ (`flat`), NN being the first number not taken yet, with a log.txt "
        "written at the end. ip_complete takes every IP packet; tcp_complete / udp_complete every "
        "packet of tracked TCP / UDP flows, within `tcp_maxpackets`/`tcp_maxbytes` (per direction; SYN, "
        "FIN and RST always) and `udp_maxpackets`/`udp_maxbytes`, and short of `stop_dumping_mask`; "
        "each class in `udp` gets udp_<class>.pcap with the packets of the UDP directions classified "
        "so, as the labels stand when the packet's batch reaches this block (earlier packets of the "
        "direction went by the type known then, udp_unknown for none); udp_stun takes the flows whose "
        "first packet was a STUN Binding Request. `link` original keeps each frame as captured (one "
        "file per link type, the first one seen unsuffixed, others <name>_dlt<N>.pcap); ethernet "
        "writes Tstat's zero-MAC Ethernet header and the IP packet. `snap_len` keeps that many bytes "
        "from the IP header on. `slice_win` starts a new file <name>NN.pcap whenever a packet comes "
        "`slice_win` or more after its file's window start. The dump selection (ip_complete, tcp_complete, "
        "udp_complete, udp), the limits and stop_dumping_mask can change on a running graph: a dump turned "
        "off has its files closed at once, one turned on opens its file at its next packet, in the same "
        "tracesNN, under a new name (<name>.1.pcap, .2, ...; with slice_win the next slice number) when "
        "it had a file earlier in the run. With no dump on (the default) the block is dormant: it writes "
        "nothing and creates no directory. See docs/pcapdump.md.";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow set, after the classifiers")};
    i.params = {
        required_param("dir", ParamType::string, "output directory (created if missing)"),
        param<std::string>("layout", "tstat",
                           "tstat: into the YYYY_MM_DD_HH_MM.out run directory the logs use; flat: "
                           "tracesNN directly in `dir`")
            .one_of({"tstat", "flat"}),
        param<bool>("utc", false, "name the run directory (and log.txt times) in UTC instead of local time"),
        param<bool>("ip_complete", false, "dump every IP packet (ip_complete.pcap)").live_change(),
        param<bool>("tcp_complete", false, "dump the packets of tracked TCP flows (tcp_complete.pcap)")
            .live_change(),
        param<bool>("udp_complete", false, "dump the packets of tracked UDP flows (udp_complete.pcap)")
            .live_change(),
        param<std::string>("udp", "",
                           "comma list of UDP classes, one file udp_<class>.pcap each: unknown, rtp, rtcp, "
                           "edk, kad, kadu, gnutella, bittorrent, dc, kazaa, pplive, sopcast, tvants, okad, "
                           "dns, utp, vod, ppstream, teredo, sip, dtls, quic, mturn, sye, stun")
            .live_change(),
        param<int>("snap_len", 0, "bytes kept from the (analysed) IP header on; 0: the whole packet")
            .range(0, kMaxCaplen),
        duration("slice_win", "0",
                 "a new file per dump when a packet comes this long after its file's window start "
                 "(0: one file; at least 1s)")
            .range(0, 366.0 * 86400),
        param<std::int64_t>("tcp_maxpackets", 0,
                            "tcp_complete: data segments dumped per flow direction (0: no limit)")
            .range(0, 1e9)
            .live_change(),
        size("tcp_maxbytes", "0", "tcp_complete: stream bytes dumped per flow direction (0: no limit)")
            .range(0, 2147483647.0)
            .live_change(),
        param<std::int64_t>("udp_maxpackets", 0,
                            "udp_complete: packets dumped per flow direction (0: no limit)")
            .range(0, 1e9)
            .live_change(),
        size("udp_maxbytes", "0", "udp_complete: payload bytes dumped per flow direction (0: no limit)")
            .range(0, 1099511627776.0)
            .live_change(),
        param<int>("stop_dumping_mask", 0,
                   "tcp_complete: stop dumping a flow once its con_type shares a bit with this mask")
            .range(0, 524287)
            .live_change(),
        param<bool>("gzip", false, "write <name>.pcap.gz through zlib"),
        param<std::string>("link", "original",
                           "original: the captured frame and its link type; ethernet: Tstat's bogus "
                           "14-byte Ethernet header (link type 1) and the IP packet")
            .one_of({"original", "ethernet"}),
        param<bool>("nanoseconds", false, "nanosecond pcap timestamps (default: microseconds, as Tstat)"),
    };
    i.counters = {
        {"packets_dumped", "pcap records written (a packet in two dumps counts twice)"},
        {"bytes_dumped", "captured bytes in the records written (before compression)"},
        {"files_opened", "pcap files created"},
        {"packets_skipped_limit",
         "packets tcp_complete/udp_complete left out: maxpackets/maxbytes or stop_dumping_mask"},
        {"packets_not_ip", "frames without an IP header: never dumped (Tstat neither)"},
        {"packets_untracked",
         "TCP/UDP packets without a flow (non-first fragments, segments of no tracked connection, flows "
         "refused by a full table): only ip_complete can hold them"},
        {"write_errors", "pcap files that could not be created or finished, and records not written"},
    };
    i.threading = Threading::serial;
    return i;
  }

  ~PcapSink() override {
    if (!started_ || finished_) return;
    for (auto& d : dumps_) {
      d.primary.file.close_quietly();
      for (auto& [lt, s] : d.others) s.file.close_quietly();
    }
    try {
      write_log();
    } catch (...) {
    }
  }

  void configure(const Params& p, Context& ctx) override {
    ctx_ = &ctx;
    dir_ = p.get_string("dir");
    if (dir_.empty()) throw ConfigError("parameter 'dir' must not be empty");
    flat_ = p.get_string("layout") == "flat";
    utc_ = p.get_bool("utc");
    dumps_[kIpComplete].enabled = p.get_bool("ip_complete");
    dumps_[kTcpComplete].enabled = p.get_bool("tcp_complete");
    dumps_[kUdpComplete].enabled = p.get_bool("udp_complete");
    dumps_[kIpComplete].name = "ip_complete";
    dumps_[kTcpComplete].name = "tcp_complete";
    dumps_[kUdpComplete].name = "udp_complete";
    for (std::size_t c = 0; c < kUdpClasses.size(); ++c)
      dumps_[kFirstClass + c].name = "udp_" + std::string(kUdpClasses[c]);
    for (int c : parse_udp_classes(p.get_string("udp"))) dumps_[kFirstClass + c].enabled = true;
    derive_flags();
    for (auto& d : dumps_) d.ever = d.enabled;

    snap_ = static_cast<std::uint32_t>(p.get_int("snap_len"));
    slice_ns_ = static_cast<std::uint64_t>(p.get_duration_ns("slice_win"));
    tcp_lim_ = {static_cast<std::uint64_t>(p.get_int("tcp_maxpackets")),
                static_cast<std::uint64_t>(p.get_size("tcp_maxbytes"))};
    udp_lim_ = {static_cast<std::uint64_t>(p.get_int("udp_maxpackets")),
                static_cast<std::uint64_t>(p.get_size("udp_maxbytes"))};
    stop_mask_ = static_cast<std::uint32_t>(p.get_int("stop_dumping_mask"));
    gzip_ = p.get_bool("gzip");
    ethernet_ = p.get_string("link") == "ethernet";
    nano_ = p.get_bool("nanoseconds");

    if (slice_ns_ && slice_ns_ < kNsPerSec)
      throw ConfigError("parameter 'slice_win' must be 0 (one file) or at least 1s");
    const bool tcp_on = dumps_[kTcpComplete].enabled, udp_on = dumps_[kUdpComplete].enabled;
    for (auto [name, set, on, dump] :
         {std::tuple{"tcp_maxpackets", tcp_lim_.max_packets != 0, tcp_on, "tcp_complete"},
          std::tuple{"tcp_maxbytes", tcp_lim_.max_bytes != 0, tcp_on, "tcp_complete"},
          std::tuple{"stop_dumping_mask", stop_mask_ != 0, tcp_on, "tcp_complete"},
          std::tuple{"udp_maxpackets", udp_lim_.max_packets != 0, udp_on, "udp_complete"},
          std::tuple{"udp_maxbytes", udp_lim_.max_bytes != 0, udp_on, "udp_complete"}})
      if (set && !on)
        throw ConfigError("parameter '" + std::string(name) + "' applies to " + dump + ", which is off");

    c_.packets = &ctx.counter("packets_dumped");
    c_.bytes = &ctx.counter("bytes_dumped");
    c_.files = &ctx.counter("files_opened");
    c_.skipped = &ctx.counter("packets_skipped_limit");
    c_.not_ip = &ctx.counter("packets_not_ip");
    c_.untracked = &ctx.counter("packets_untracked");
    c_.errors = &ctx.counter("write_errors");

    // Fail before the run, not after an hour of it.
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw ConfigError("parameter 'dir': cannot create directory '" + dir_ + "': " + ec.message());
    if (::access(dir_.c_str(), W_OK | X_OK) != 0)
      throw ConfigError("parameter 'dir': cannot write in '" + dir_ + "': " + std::strerror(errno));

    if (needs_flow_state(selection())) slot_ = static_cast<int>(ctx.flow_slot());
  }

  // Live changes (the runtime calls this between batches, nothing else
  // running in the block). Validated on a copy: an error leaves everything
  // as it was. A dump turned off is closed now; one turned on opens at its
  // next packet.
  void set_param(std::string_view name, const ParamValue& value) override {
    Selection next = selection();
    std::string text;  // the value, for log.txt
    if (name == "ip_complete" || name == "tcp_complete" || name == "udp_complete") {
      const int id = name == "ip_complete"    ? kIpComplete
                     : name == "tcp_complete" ? kTcpComplete
                                              : kUdpComplete;
      next.on[id] = std::get<bool>(value);
      text = next.on[id] ? "true" : "false";
    } else if (name == "udp") {
      text = std::get<std::string>(value);
      const std::vector<int> classes = parse_udp_classes(text);
      for (std::size_t c = 0; c < kUdpClasses.size(); ++c) next.on[kFirstClass + c] = false;
      for (int c : classes) next.on[kFirstClass + c] = true;
    } else if (name == "tcp_maxpackets" || name == "tcp_maxbytes" || name == "udp_maxpackets" ||
               name == "udp_maxbytes") {
      const auto v = static_cast<std::uint64_t>(std::get<std::int64_t>(value));
      Limits& l = name.starts_with("tcp") ? next.tcp : next.udp;
      (name.ends_with("packets") ? l.max_packets : l.max_bytes) = v;
      text = std::to_string(v);
    } else if (name == "stop_dumping_mask") {
      next.stop_mask = static_cast<std::uint32_t>(std::get<std::int64_t>(value));
      text = std::to_string(next.stop_mask);
    } else {
      Block::set_param(name, value);
      return;
    }
    if (needs_flow_state(next) && slot_ < 0) slot_ = static_cast<int>(ctx_->flow_slot());
    apply(next);
    changes_.push_back({now_, std::string(name), text});
    warn_dormant_limits(name);
  }

  void receive(unsigned, const MessagePtr& msg, Emit&) override {
    const auto& b = msg->as<PacketBatch>();
    if (msg->clock_ns > now_) now_ = msg->clock_ns;
    first_error_.clear();
    if (!any_on_ && slot_ < 0) {
      // Nothing to write and no flow state to keep (Tstat without -T). The
      // first IP packet's link type still names the files of a dump turned
      // on later, as if it had been on from the start.
      if (!have_primary_)
        for (const Packet& p : b.packets)
          if (p.is_ip()) {
            have_primary_ = true;
            primary_linktype_ = p.linktype;
            break;
          }
      return;
    }
    if (!b.packets.empty() && !started_ && any_on_) start(b.packets.front().ts_ns);
    for_each_in_stream_order(
        b, [&](const Packet& p) { on_packet(p); },
        [&](const FlowEvent& e) {
          if (slot_ < 0 || !e.flow) return;
          if (e.kind == FlowEvent::Kind::closed) {
            e.flow->state[slot_].reset();
          } else if (e.kind == FlowEvent::Kind::opened && stun_ && e.flow->record.key.l4_proto == kUdp) {
            // The flow's first packet comes next: only then can it be told STUN-initiated.
            auto st = std::make_unique<DumpFlowState>();
            st->fresh = true;
            e.flow->state[slot_] = std::move(st);
          }
        });
    if (!first_error_.empty()) throw InputError(first_error_);
  }

  void flush(Emit&) override {
    first_error_.clear();
    if (!started_ && !ever_on()) {
      // No dump was ever on: like Tstat without -T, no traces directory.
      finished_ = true;
      return;
    }
    if (!started_) {
      // Like Tstat, a run leaves its traces directory and log.txt even when
      // nothing was dumped; without packets the run directory gets the wall clock.
      const auto wall = std::chrono::system_clock::now().time_since_epoch();
      start(now_ ? now_
                 : static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count()));
    }
    for (auto& d : dumps_) {
      close_stream(d.primary);
      for (auto& [lt, s] : d.others) close_stream(s);
    }
    finished_ = true;
    try {
      write_log();
    } catch (const InputError& e) {
      c_.errors->add();
      note_error(e.what());
    }
    if (!first_error_.empty()) throw InputError(first_error_);
  }

  std::string summary() const override {
    if (traces_.empty() && !ever_on()) return "no dump enabled (" + dir_ + ")";
    if (traces_.empty()) return "nothing dumped (" + dir_ + ")";
    return std::to_string(c_.packets->value()) + " packets dumped into " + std::to_string(c_.files->value()) +
           " files in " + traces_.string();
  }

 private:
  // One output file sequence (a dump, and a link type in `original` mode).
  struct Stream {
    DumpFile file;
    bool started = false, failed = false;
    std::uint64_t win_start = 0;
    unsigned seq = 0;   // slice number
    unsigned part = 0;  // times the dump was turned off after this stream had a file (no slices)
    std::uint16_t linktype = 0;
  };
  struct Dump {
    std::string name;
    bool enabled = false;
    bool ever = false;                       // enabled at some time in the run (log.txt)
    Stream primary;                          // `ethernet`, or the run's first link type
    std::map<std::uint16_t, Stream> others;  // further link types (`original`)
  };

  // What can change live, as one value to validate before committing.
  struct Selection {
    std::array<bool, kDumps> on{};
    Limits tcp, udp;
    std::uint32_t stop_mask = 0;
  };
  struct Change {
    std::uint64_t clock_ns;
    std::string name, value;
  };

  Selection selection() const {
    Selection s;
    for (int i = 0; i < kDumps; ++i) s.on[i] = dumps_[i].enabled;
    s.tcp = tcp_lim_;
    s.udp = udp_lim_;
    s.stop_mask = stop_mask_;
    return s;
  }
  bool ever_on() const {
    return std::any_of(dumps_.begin(), dumps_.end(), [](const Dump& d) { return d.ever; });
  }
  static bool tcp_accounting(const Selection& s) { return s.on[kTcpComplete] && s.tcp.any(); }
  static bool udp_accounting(const Selection& s) { return s.on[kUdpComplete] && s.udp.any(); }
  static bool needs_flow_state(const Selection& s) {
    return tcp_accounting(s) || (s.on[kTcpComplete] && s.stop_mask) || udp_accounting(s) ||
           s.on[kFirstClass + kStunClass];
  }
  void derive_flags() {
    any_class_ = false;
    any_on_ = std::any_of(dumps_.begin(), dumps_.end(), [](const Dump& d) { return d.enabled; });
    for (std::size_t c = 0; c < kUdpClasses.size(); ++c)
      if (c != kStunClass && dumps_[kFirstClass + c].enabled) any_class_ = true;
    stun_ = dumps_[kFirstClass + kStunClass].enabled;
  }

  void apply(const Selection& next) {
    const Selection prev = selection();
    // Limits that start to count (again) count from the next packet of each
    // flow: a flow under way is treated like one whose start was not seen.
    if (!tcp_accounting(prev) && tcp_accounting(next)) ++tcp_epoch_;
    if (!udp_accounting(prev) && udp_accounting(next)) ++udp_epoch_;
    for (int i = 0; i < kDumps; ++i) {
      Dump& d = dumps_[i];
      if (d.enabled && !next.on[i]) close_dump(d);
      d.enabled = next.on[i];
      d.ever = d.ever || d.enabled;
    }
    tcp_lim_ = next.tcp;
    udp_lim_ = next.udp;
    stop_mask_ = next.stop_mask;
    derive_flags();
  }

  // Closes a dump's files (flushed: valid pcap files). When it is turned on
  // again its streams open new files rather than truncate these: the next
  // part (<name>.1.pcap) or, with slices, the next slice number.
  void close_dump(Dump& d) {
    for (Stream* s : streams_of(d)) {
      if (s->file.is_open()) {
        try {
          s->file.close();
        } catch (const InputError& e) {
          c_.errors->add();
          ctx_->log(LogLevel::error, e.what());
        }
      }
      if (!s->started) continue;
      s->started = false;
      s->failed = false;
      if (slice_ns_)
        ++s->seq;
      else
        ++s->part;
    }
  }
  static std::vector<Stream*> streams_of(Dump& d) {
    std::vector<Stream*> v{&d.primary};
    for (auto& [lt, s] : d.others) v.push_back(&s);
    return v;
  }

  // A limit set while its dump is off is kept for when the dump is turned on
  // (refusing it would make the order of a reload's changes matter).
  void warn_dormant_limits(std::string_view name) {
    const bool tcp = name.starts_with("tcp_max") || name == "stop_dumping_mask";
    const bool udp = name.starts_with("udp_max");
    if (!tcp && !udp) return;
    const int id = tcp ? kTcpComplete : kUdpComplete;
    const bool set = name == "stop_dumping_mask" ? stop_mask_ != 0 : tcp ? tcp_lim_.any() : udp_lim_.any();
    if (set && !dumps_[id].enabled)
      ctx_->log(LogLevel::warning, "parameter '" + std::string(name) + "' applies to " + dumps_[id].name +
                                       ", which is off: it takes effect when " + dumps_[id].name +
                                       " is turned on");
  }

  void note_error(const std::string& m) {
    if (first_error_.empty()) first_error_ = m;
  }

  // The run directory (named after `ns`, as the logs' is) and a fresh tracesNN
  // in it. On failure every record to dump is counted in write_errors.
  void start(std::uint64_t ns) {
    started_ = true;
    const fs::path run = sinks::run_dir(dir_, flat_, ns, utc_);
    std::error_code ec;
    fs::create_directories(run, ec);
    if (ec) {
      fail_run("cannot create directory '" + run.string() + "': " + ec.message());
      return;
    }
    // The first tracesNN not taken yet: earlier runs into the same directory
    // keep their dumps, and two sinks in one run get one directory each.
    for (unsigned n = 0; n < 1000; ++n) {
      char name[16];
      std::snprintf(name, sizeof name, "traces%02u", n);
      const fs::path t = run / name;
      if (::mkdir(t.c_str(), 0777) == 0) {
        traces_ = t;
        return;
      }
      if (errno != EEXIST) {
        fail_run("cannot create directory '" + t.string() + "': " + std::strerror(errno));
        return;
      }
    }
    fail_run("no free tracesNN directory name left in '" + run.string() + "'");
  }
  void fail_run(const std::string& why) {
    run_failed_ = true;
    c_.errors->add();
    note_error(why);
  }

  void on_packet(const Packet& p) {
    if (!p.is_ip()) {
      c_.not_ip->add();
      return;
    }
    if (!have_primary_) {
      have_primary_ = true;
      primary_linktype_ = p.linktype;
    }
    if (dumps_[kIpComplete].enabled) write(kIpComplete, p);
    if (p.l4_proto != kTcp && p.l4_proto != kUdp) return;
    if (!p.flow || p.l4_off == kNoOffset) {
      c_.untracked->add();
      return;
    }
    if (p.l4_proto == kTcp)
      on_tcp(p);
    else
      on_udp(p);
  }

  // The flow's state; created when `create` (a rule needs it now), else
  // only returned if it exists.
  DumpFlowState* state_of(const Packet& p, bool create) {
    if (slot_ < 0) return nullptr;
    auto& s = p.flow->state[slot_];
    if (!s && create) s = std::make_unique<DumpFlowState>();
    return static_cast<DumpFlowState*>(s.get());
  }

  void on_tcp(const Packet& p) {
    if (!dumps_[kTcpComplete].enabled) return;
    const bool account = tcp_lim_.any();
    DumpFlowState* st = account || stop_mask_ ? state_of(p, true) : nullptr;
    if (st && stop_mask_) {
      if (st->stop_mask != stop_mask_) {  // the mask changed live: decide anew
        st->stop_mask = stop_mask_;
        st->stopped = false;
      }
      const std::uint32_t con = p.flow->record.labels.con_type;
      if (!st->stopped && con != 0 && (con & stop_mask_) != 0) st->stopped = true;
    }
    bool keep = true;
    if (st && account) {
      if (st->tcp_epoch != tcp_epoch_) {
        st->tcp_epoch = tcp_epoch_;
        st->tcp = {};
      }
      const std::uint32_t th = p.l4_off;
      if (th + 20 <= p.caplen) {
        const std::uint8_t* t = p.data + th;
        TcpSegment s;
        s.seq = rd32(t + 4);
        s.ack = rd32(t + 8);
        s.flags = t[13];
        const std::uint32_t hdr_end = th + (t[12] >> 4) * 4u;
        const std::uint32_t ip_end = std::uint32_t{p.l3_off} + p.ip_len;
        s.data_len = ip_end > hdr_end ? ip_end - hdr_end : 0;  // as the IP header claims (snaplen-proof)
        const unsigned d = p.flow_dir & 1u;
        keep = tcp_keep(st->tcp[d], st->tcp[1 - d], s, tcp_lim_);
      }
    }
    if (st && stop_mask_ && st->stopped) keep = false;
    if (keep)
      write(kTcpComplete, p);
    else
      c_.skipped->add();
  }

  void on_udp(const Packet& p) {
    const bool account = dumps_[kUdpComplete].enabled && udp_lim_.any();
    DumpFlowState* st = state_of(p, account);
    const bool first = st && st->fresh;
    if (st) st->fresh = false;
    const unsigned d = p.flow_dir & 1u;
    if (any_class_) {
      const int c = udp_class_of(p.flow->record.labels.udp_type[d]);
      if (c >= 0 && dumps_[kFirstClass + c].enabled) write(kFirstClass + c, p);
    }
    // Flows opened while udp_stun was off have no fresh state: never STUN.
    if (first && p.payload_off != kNoOffset && is_stun_binding_request(p.payload(), p.payload_len))
      st->stun = true;
    if (stun_ && st && st->stun) write(kFirstClass + kStunClass, p);
    if (!dumps_[kUdpComplete].enabled) return;
    bool keep = true;
    if (account) {
      if (st->udp_epoch != udp_epoch_) {
        st->udp_epoch = udp_epoch_;
        st->udp = {};
      }
      const std::uint32_t at = p.l4_off + 4u;
      const std::uint16_t ulen = at + 2 <= p.caplen ? rd16(p.data + at) : 8;
      keep = udp_keep(st->udp[d], ulen >= 8 ? ulen - 8u : 0u, udp_lim_);
    }
    if (keep)
      write(kUdpComplete, p);
    else
      c_.skipped->add();
  }

  Stream& stream_for(Dump& d, std::uint16_t linktype) {
    if (ethernet_ || linktype == primary_linktype_) {
      d.primary.linktype = ethernet_ ? 1 : primary_linktype_;
      return d.primary;
    }
    Stream& s = d.others[linktype];
    s.linktype = linktype;
    return s;
  }

  std::string file_name(const Dump& d, const Stream& s) const {
    std::string n = d.name;
    if (slice_ns_) {
      char b[16];
      std::snprintf(b, sizeof b, "%02u", s.seq);  // Tstat: %02d below 100, %d above
      n += b;
    } else if (s.part) {
      n += "." + std::to_string(s.part);
    }
    if (&s != &d.primary) n += "_dlt" + std::to_string(s.linktype);
    n += gzip_ ? ".pcap.gz" : ".pcap";
    return n;
  }

  void open_stream(Dump& d, Stream& s) {
    s.failed = false;
    try {
      s.file.open((traces_ / file_name(d, s)).string(), s.linktype, gzip_, nano_);
      c_.files->add();
    } catch (const InputError& e) {
      s.failed = true;
      c_.errors->add();
      note_error(e.what());
    }
  }

  void close_stream(Stream& s) {
    if (!s.file.is_open()) return;
    try {
      s.file.close();
    } catch (const InputError& e) {
      c_.errors->add();
      note_error(e.what());
    }
  }

  void write(int id, const Packet& p) {
    if (run_failed_) {
      c_.errors->add();
      return;
    }
    Dump& d = dumps_[id];
    Stream& s = stream_for(d, p.linktype);
    if (!s.started) {
      s.started = true;
      s.win_start = p.ts_ns;
      open_stream(d, s);
    } else if (slice_ns_ && p.ts_ns > s.win_start && p.ts_ns - s.win_start >= slice_ns_) {
      // Tstat: close, next number, window start advanced by whole slices
      // (empty windows get no file).
      close_stream(s);
      ++s.seq;
      s.win_start += (p.ts_ns - s.win_start) / slice_ns_ * slice_ns_;
      open_stream(d, s);
    }
    if (s.failed) {
      c_.errors->add();  // the file could not be created: the record is lost
      return;
    }
    const std::uint8_t* data;
    std::uint32_t cap, len;
    shape(p, data, cap, len);
    if (!s.file.write(p.ts_ns, data, cap, len)) {
      s.failed = true;
      c_.errors->add();
      note_error(s.file.error());
      return;
    }
    c_.packets->add();
    c_.bytes->add(cap);
    if (!dumped_any_) first_dump_ns_ = p.ts_ns;
    dumped_any_ = true;
    last_dump_ns_ = p.ts_ns;
  }

  // The record of `p`: the captured frame (`original`), or a zero-MAC
  // Ethernet header and the IP packet without link padding (`ethernet`);
  // snap_len counted from the analysed IP header.
  void shape(const Packet& p, const std::uint8_t*& data, std::uint32_t& cap, std::uint32_t& len) {
    const std::uint32_t l3 = p.l3_off;
    if (!ethernet_) {
      data = p.data;
      cap = p.caplen;
      if (snap_ && cap > l3 + snap_) cap = l3 + snap_;
      if (cap > kMaxCaplen) cap = kMaxCaplen;
      len = std::max(p.wirelen, cap);
      return;
    }
    std::uint32_t ip = p.caplen > l3 ? p.caplen - l3 : 0;
    if (p.ip_len && ip > p.ip_len) ip = p.ip_len;
    if (snap_ && ip > snap_) ip = snap_;
    if (ip > kMaxCaplen - 14) ip = kMaxCaplen - 14;
    scratch_.resize(14 + ip);
    std::memset(scratch_.data(), 0, 12);
    scratch_[12] = p.ip_version == 6 ? 0x86 : 0x08;
    scratch_[13] = p.ip_version == 6 ? 0xDD : 0x00;
    if (ip) std::memcpy(scratch_.data() + 14, p.data + l3, ip);
    data = scratch_.data();
    cap = 14 + ip;
    len = 14 + std::max(p.ip_len, ip);
  }

  std::string when(std::uint64_t ns) const {
    const std::time_t t = static_cast<std::time_t>(ns / kNsPerSec);
    std::tm tm{};
    if (utc_)
      gmtime_r(&t, &tm);
    else
      localtime_r(&t, &tm);
    char b[64];
    const std::size_t n = std::strftime(b, sizeof b, "%a %b %e %H:%M:%S %Y", &tm);  // ctime()'s layout
    return std::string(b, n);
  }

  // Tstat's log.txt: dump start/stop, enabled dumps, limits.
  void write_log() {
    if (traces_.empty()) return;
    std::string s;
    if (!dumped_any_) {
      s += "no packets to dump\n";
    } else {
      s += "dump start: " + when(first_dump_ns_) + "\n";
      s += "dump stop:  " + when(last_dump_ns_) + "\n";
    }
    s += "---\nenabled protocols:\n---\n";
    // Tstat's order: UDP classes by type code, then the aggregates, udp_stun last.
    // (every dump enabled at some time in the run: each file here is explained)
    for (std::size_t c = 0; c + 1 < kUdpClasses.size(); ++c)
      if (dumps_[kFirstClass + c].ever) s += dumps_[kFirstClass + c].name + "\n";
    for (int id : {kIpComplete, kUdpComplete, kTcpComplete})
      if (dumps_[id].ever) s += dumps_[id].name + "\n";
    if (dumps_[kFirstClass + kStunClass].ever) s += dumps_[kFirstClass + kStunClass].name + "\n";
    s += "---\nadditional option:\n---\n";
    auto opt = [&](const char* k, std::uint64_t v) {
      if (v) s += std::string(k) + " = " + std::to_string(v) + "\n";
    };
    opt("udp_maxpackets", udp_lim_.max_packets);
    opt("udp_maxbytes", udp_lim_.max_bytes);
    opt("tcp_maxpackets", tcp_lim_.max_packets);
    opt("tcp_maxbytes", tcp_lim_.max_bytes);
    if (stop_mask_) {
      char b[64];
      std::snprintf(b, sizeof b, "stop_dumping_mask =  %u # (0x%X)\n", stop_mask_, stop_mask_);
      s += b;
    }
    opt("snap_len", snap_);
    if (slice_ns_) {
      char b[64];
      std::snprintf(b, sizeof b, "slice_win = %g\n", static_cast<double>(slice_ns_) / 1e9);
      s += b;
    }
    s += std::string("link = ") + (ethernet_ ? "ethernet" : "original") + "\n";
    if (gzip_) s += "gzip = 1\n";
    if (!changes_.empty()) {
      // netloom's addition: the live changes, at the packet clock they came at.
      s += "---\nlive changes:\n---\n";
      for (const Change& c : changes_)
        s += (c.clock_ns ? when(c.clock_ns) : std::string("before the first packet")) + ": " + c.name +
             " = " + c.value + "\n";
    }

    const std::string path = (traces_ / "log.txt").string();
    std::FILE* f = std::fopen(path.c_str(), "w");
    if (!f) throw InputError("cannot create '" + path + "': " + std::strerror(errno));
    const bool ok = std::fwrite(s.data(), 1, s.size(), f) == s.size();
    const int e = errno;
    if (std::fclose(f) != 0 || !ok)
      throw InputError("cannot write '" + path + "': " + std::strerror(ok ? errno : e));
  }

  struct {
    Counter *packets, *bytes, *files, *skipped, *not_ip, *untracked, *errors;
  } c_{};
  Context* ctx_ = nullptr;
  // parameters
  std::string dir_;
  bool flat_ = false, utc_ = false, gzip_ = false, ethernet_ = false, nano_ = false;
  bool any_class_ = false, stun_ = false;
  bool any_on_ = false;  // some dump is on now
  std::uint32_t snap_ = 0, stop_mask_ = 0;
  std::uint64_t slice_ns_ = 0;
  Limits tcp_lim_, udp_lim_;
  int slot_ = -1;
  std::uint32_t tcp_epoch_ = 0, udp_epoch_ = 0;  // see DumpFlowState
  std::vector<Change> changes_;
  // state
  std::array<Dump, kDumps> dumps_;
  fs::path traces_;
  bool started_ = false, finished_ = false, run_failed_ = false;
  bool have_primary_ = false, dumped_any_ = false;
  std::uint16_t primary_linktype_ = 0;
  std::uint64_t now_ = 0, first_dump_ns_ = 0, last_dump_ns_ = 0;
  std::vector<std::uint8_t> scratch_;
  std::string first_error_;
};

}  // namespace
}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::PcapSink)
