// LogSink: writes closed flows as Tstat's log_tcp_complete, log_tcp_nocomplete
// log_udp_complete and log_skype_complete (or the same columns as JSON lines / CSV), in Tstat's
// directory layout with packet-time rotation and optional gzip.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <netloom/netloom.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "log_format.hpp"
#include "log_writer.hpp"
#include "run_dir.hpp"

namespace netloom::blocks {
namespace {

namespace fs = std::filesystem;
using logs::Format;
using logs::Kind;
using logs::kKinds;

constexpr std::uint64_t kNsPerMin = 60'000'000'000ull;
constexpr std::size_t kWriteChunk = 1 << 20;  // write a file's buffer once it holds this much
// ... and at the latest this long (wall clock) after its last write, so a
// live link's logs stay current while a replayed trace is not written with
// a system call per file and batch (each one ~10 µs on a virtual machine).
constexpr std::chrono::milliseconds kWriteInterval{500};

class LogSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "LogSink";
    i.summary =
        "writes flow records as Tstat logs (log_tcp_complete, log_tcp_nocomplete, log_udp_complete, "
        "log_skype_complete), "
        "JSON lines or CSV";
    i.description =
        "Each closed flow becomes one line of log_tcp_complete (TCP flows Tstat calls complete: core "
        "columns plus the groups of `tcp_log_mask`), log_tcp_nocomplete (other TCP flows, core columns) "
        "or log_udp_complete; a flow the Skype classifier called Skype also gets a log_skype_complete "
        "line (Tstat's UDP or TCP layout, no header). Layout `tstat` writes into "
        "`dir`/YYYY_MM_DD_HH_MM.out/, named after the "
        "packet time of the first packet received (on `in`: the first record's first packet) as the other "
        "sinks of a stream name theirs, with a new directory every `rotate` of packet "
        "time; `flat` writes into `dir` itself. Flows whose both endpoints are external are not logged "
        "(as in Tstat) unless `log_external`. Layer-7 columns come from the FSMDPI classifier "
        "(FlowRecord::l7); without it they carry Tstat's values for a flow without such data. See "
        "docs/logs.md.";
    // Two ways in: records (a flow tracker's `records` port), or the packet
    // stream after the classifiers, whose `closed` flow events carry every
    // label the classifiers set. Connect one of them.
    i.inputs = {
        in<FlowBatch>("in", "records of closed flows, in close order").optional(),
        in<PacketBatch>("flows", "packets with flow events (after classifiers): closed flows are logged")
            .optional()};
    i.params = {
        required_param("dir", ParamType::string, "output directory (created if missing)"),
        param<std::string>("format", "tstat",
                           "tstat: Tstat's space-separated logs; json: JSON lines; csv: CSV "
                           "with a header row")
            .one_of({"tstat", "json", "csv"}),
        param<std::string>(
            "layout", "tstat",
            "tstat: a YYYY_MM_DD_HH_MM.out directory per trace start and rotation; flat: files "
            "directly in `dir`")
            .one_of({"tstat", "flat"}),
        param<int>("tcp_log_mask", 15,
                   "optional log_tcp_complete groups: 1 end-to-end, 2 layer-7, 4 P2P, 8 options, 16 advanced "
                   "(no columns); Tstat's default is 15")
            .range(0, 31),
        duration("rotate", "0", "new output directory every this much packet time (0: never; whole minutes)"),
        param<bool>("gzip", false, "write <name>.gz through zlib"),
        param<bool>("utc", false, "name directories in UTC instead of local time"),
        param<bool>("log_external", false,
                    "also log flows whose both endpoints are external (Tstat does not)"),
    };
    i.counters = {{"tcp_complete", "lines written to log_tcp_complete"},
                  {"tcp_nocomplete", "lines written to log_tcp_nocomplete"},
                  {"udp", "lines written to log_udp_complete"},
                  {"skype", "lines written to log_skype_complete (flows the Skype classifier called Skype)"},
                  {"external", "flows not logged: both endpoints external"},
                  {"other", "records of another L4 protocol (not logged)"},
                  {"interim", "interim records of flows still open (not logged: the logs hold closed flows)"},
                  {"bytes_written", "bytes of log text written (before compression)"},
                  {"write_errors", "failed writes (files that could not be created, written or closed)"}};
    i.threading = Threading::serial;
    return i;
  }

  ~LogSink() override {
    for (auto& f : files_) f.close_quietly();  // a gzip trailer even on an abnormal end
  }

  void configure(const Params& p, Context& ctx) override {
    dir_ = p.get_string("dir");
    if (dir_.empty()) throw ConfigError("parameter 'dir' must not be empty");
    const std::string& f = p.get_string("format");
    format_ = f == "json" ? Format::json : f == "csv" ? Format::csv : Format::tstat;
    flat_ = p.get_string("layout") == "flat";
    mask_ = static_cast<unsigned>(p.get_int("tcp_log_mask"));
    rotate_ns_ = static_cast<std::uint64_t>(p.get_duration_ns("rotate"));
    gzip_ = p.get_bool("gzip");
    utc_ = p.get_bool("utc");
    log_external_ = p.get_bool("log_external");
    if (rotate_ns_ % kNsPerMin != 0)
      throw ConfigError(
          "parameter 'rotate' must be a whole number of minutes (directory names have minutes)");
    if (rotate_ns_ && flat_)
      throw ConfigError("parameter 'rotate' needs layout 'tstat' (flat has one directory)");

    c_.tcp_complete = &ctx.counter("tcp_complete");
    c_.tcp_nocomplete = &ctx.counter("tcp_nocomplete");
    c_.udp = &ctx.counter("udp");
    c_.external = &ctx.counter("external");
    c_.other = &ctx.counter("other");
    c_.interim = &ctx.counter("interim");
    c_.skype = &ctx.counter("skype");
    c_.bytes = &ctx.counter("bytes_written");
    c_.errors = &ctx.counter("write_errors");

    for (int k = 0; k < kKinds; ++k) {
      names_[k] = logs::columns(static_cast<Kind>(k), mask_);
      headers_[k] = logs::header(format_, static_cast<Kind>(k), mask_);
    }

    // Fail before the run, not after an hour of it.
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw ConfigError("parameter 'dir': cannot create directory '" + dir_ + "': " + ec.message());
    std::string probe = (fs::path(dir_) / (".netloom-logsink-probe-" + std::to_string(::getpid()))).string();
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw ConfigError("parameter 'dir': cannot write in '" + dir_ + "': " + std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());

    if (rotate_ns_) ctx.add_timer(0, rotate_ns_);
  }

  void receive(unsigned port, const MessagePtr& msg, Emit&) override {
    if (msg->clock_ns > now_) now_ = msg->clock_ns;
    std::string first_error;
    if (port == 0) {
      const auto& recs = msg->as<FlowBatch>().records;
      if (first_seen_ == 0 && !recs.empty()) first_seen_ = recs.front().first_ns;
      for (const FlowRecord& r : recs) write_record(r, first_error);
    } else {
      const auto& b = msg->as<PacketBatch>();
      // The run directory is named after the first packet seen, as the other
      // sinks of the same stream (histograms, dumps) name theirs.
      if (first_seen_ == 0 && !b.packets.empty()) first_seen_ = b.packets.front().ts_ns;
      for (const FlowEvent& ev : b.events)
        if (ev.kind == FlowEvent::Kind::closed && ev.flow) write_record(ev.flow->record, first_error);
    }
    const auto wall = std::chrono::steady_clock::now();
    if (wall - last_write_ >= kWriteInterval) {
      last_write_ = wall;
      for (int k = 0; k < kKinds; ++k) write_out(k, first_error);
    }
    if (!first_error.empty()) throw InputError(first_error);
  }

  // One record to its log (or to a counter saying why it is not logged).
  void write_record(const FlowRecord& r, std::string& first_error) {
    if (r.last_ns > now_) now_ = r.last_ns;
    if (r.end == FlowEnd::interim) {
      c_.interim->add();
      return;
    }
    const std::uint8_t l4 = r.key.l4_proto;
    if (l4 != 6 && l4 != 17) {
      c_.other->add();
      return;
    }
    if (!log_external_ && !r.internal[0] && !r.internal[1]) {
      c_.external->add();
      return;
    }
    if (open_ && rotate_ns_ && now_ >= next_rotation_) {
      std::string e = close_all_collect();
      if (first_error.empty()) first_error = e;
    }
    if (!open_) {
      try {
        // The first directory is named after the first packet of the stream
        // (records: the first record's first packet), later ones after the
        // packet time that crossed the rotation boundary.
        open_all(dirs_ == 0 && first_seen_ ? first_seen_ : dirs_ == 0 && r.first_ns ? r.first_ns : now_);
      } catch (const InputError& e) {
        if (first_error.empty()) first_error = e.what();
        return;  // counted in write_errors; the record cannot be written
      }
    }
    Kind k;
    if (l4 == 17) {
      k = Kind::udp_complete;
      c_.udp->add();
    } else if (r.complete) {
      k = Kind::tcp_complete;
      c_.tcp_complete->add();
    } else {
      k = Kind::tcp_nocomplete;
      c_.tcp_nocomplete->add();
    }
    std::string& buf = bufs_[static_cast<int>(k)];
    logs::RowWriter w(buf, format_);
    if (k == Kind::udp_complete)
      logs::format_udp(w, names_[static_cast<int>(k)], r);
    else
      logs::format_tcp(w, names_[static_cast<int>(k)], r, mask_, k == Kind::tcp_complete);
    if (buf.size() >= kWriteChunk) write_out(static_cast<int>(k), first_error);
    if (r.skype) {
      constexpr int sk = static_cast<int>(Kind::skype_complete);
      c_.skype->add();
      logs::RowWriter ws(bufs_[sk], format_);
      logs::format_skype(ws, names_[sk], r);
      if (bufs_[sk].size() >= kWriteChunk) write_out(sk, first_error);
    }
  }

  void on_timer(unsigned, std::uint64_t now_ns, Emit&) override {
    // Close the period's files on time even when no flow ends for a while.
    if (now_ns > now_) now_ = now_ns;
    if (open_ && rotate_ns_ && now_ >= next_rotation_) {
      std::string err = close_all_collect();
      if (!err.empty()) throw InputError(err);
    }
  }

  void flush(Emit&) override {
    // Like Tstat, a run leaves its logs (headers only if need be) even when no
    // flow was logged. Without any record the packet time is unknown, so the
    // directory is named after the wall clock.
    if (dirs_ == 0) {
      const auto wall = std::chrono::system_clock::now().time_since_epoch();
      open_all(now_ ? now_
                    : static_cast<std::uint64_t>(
                          std::chrono::duration_cast<std::chrono::nanoseconds>(wall).count()));
    }
    std::string err = close_all_collect();
    if (!err.empty()) throw InputError(err);
  }

  std::string summary() const override {
    if (dirs_ == 0) return "no flows logged (" + dir_ + ")";
    std::string s = "logs in " + first_dir_;
    if (dirs_ > 1) s += " ... " + last_dir_ + " (" + std::to_string(dirs_) + " directories)";
    return s;
  }

 private:
  std::string file_name(Kind k) const {
    std::string n(logs::kind_name(k));
    if (format_ == Format::csv) n += ".csv";
    if (format_ == Format::json) n += ".jsonl";
    if (gzip_) n += ".gz";
    return n;
  }

  // Opens the four logs (headers first) in a new directory named after `ns`.
  void open_all(std::uint64_t ns) {
    fs::path d = sinks::run_dir(dir_, flat_, ns, utc_);
    std::error_code ec;
    fs::create_directories(d, ec);
    if (ec) {
      c_.errors->add();
      throw InputError("cannot create directory '" + d.string() + "': " + ec.message());
    }
    for (int k = 0; k < kKinds; ++k) {
      try {
        files_[k].open((d / file_name(static_cast<Kind>(k))).string(), gzip_);
      } catch (const InputError&) {
        c_.errors->add();
        for (auto& f : files_) f.close_quietly();
        throw;
      }
      bufs_[k].assign(headers_[k]);
    }
    open_ = true;
    ++dirs_;
    if (dirs_ == 1) first_dir_ = d.string();
    last_dir_ = d.string();
    if (rotate_ns_) next_rotation_ = (now_ / rotate_ns_ + 1) * rotate_ns_;
  }

  void write_out(int k, std::string& first_error) {
    std::string& buf = bufs_[k];
    if (buf.empty()) return;
    try {
      files_[k].write(buf);
      c_.bytes->add(buf.size());
    } catch (const InputError& e) {
      c_.errors->add();
      if (first_error.empty()) first_error = e.what();
    }
    buf.clear();
  }

  // Writes what is buffered and closes every file; returns the first error.
  std::string close_all_collect() {
    std::string err;
    if (!open_) return err;
    for (int k = 0; k < kKinds; ++k) {
      write_out(k, err);
      try {
        files_[k].close();
      } catch (const InputError& e) {
        c_.errors->add();
        if (err.empty()) err = e.what();
      }
    }
    open_ = false;
    return err;
  }

  struct {
    Counter *tcp_complete, *tcp_nocomplete, *udp, *skype, *external, *other, *interim, *bytes, *errors;
  } c_{};
  std::string dir_;
  Format format_ = Format::tstat;
  bool flat_ = false, gzip_ = false, utc_ = false, log_external_ = false;
  std::uint64_t first_seen_ = 0;  // packet time of the first packet (or record) received
  unsigned mask_ = logs::kDefaultMask;
  std::uint64_t rotate_ns_ = 0, next_rotation_ = 0, now_ = 0;
  std::array<std::vector<std::string_view>, kKinds> names_;
  std::array<std::string, kKinds> headers_;
  std::array<std::string, kKinds> bufs_;
  std::array<logs::LogFile, kKinds> files_;
  bool open_ = false;
  std::chrono::steady_clock::time_point last_write_{};
  std::uint64_t dirs_ = 0;
  std::string first_dir_, last_dir_;
};

}  // namespace
}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::LogSink)
