// RRDSink: Tstat's RRD output (spec §9). At the end of every histogram
// window, the statistics rrd.conf asks for are computed from the window's
// histograms and written, one value per file, to <dir>/<hist>.<stat>.rrd
// with librrd (created at their first update). `config` may change on a
// running graph: the new rrd.conf applies from the next window. See docs/rrd.md.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <future>
#include <netloom/netloom.hpp>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "rrd_archive.hpp"
#include "rrd_conf.hpp"
#include "rrd_stats.hpp"

namespace netloom::rrd {

extern const char kBuiltinConf[];  // generated from rrd/rrd.conf
extern const char kBuiltinName[];

namespace {

namespace fs = std::filesystem;
constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::uint64_t kLoggedErrors = 10;         // then every 1000th
constexpr std::time_t kFirstGraphTime = 315360000;  // librrd's graphs fetch nothing earlier

class RrdSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "RRDSink";
    i.summary = "writes histogram statistics to RRD archives, Tstat's rrd.conf and file layout (librrd)";
    i.description =
        "At the end of every histogram window (a HistogramWindow message), computes the statistics that "
        "rrd.conf lists for each histogram (avg, min, max, var, stdev, hit, idx:N,...,other, prc:P,...) and "
        "writes each into <dir>/<histogram>.<stat>.rrd at the window's end (packet time, whole seconds). A "
        "file is created at its first update: step `step`, start 10 s before that update, one GAUGE data "
        "source named after the histogram (cut to 19 characters), heartbeat 2*step, AVERAGE archives of "
        "1x600, 6x700, 24x775 and 288x797 steps. Unknown values (no samples) are written as U. Unlike "
        "Tstat, `hit` files are created; librrd errors are counted and logged, not fatal. A histogram "
        "that rrd.conf lists but a window lacks is counted and logged once. `config` can change on a running "
        "graph: the new file is parsed at once (an error keeps the old configuration) and applies from the "
        "next window; files of histograms or statistics no longer listed are left as they are (no longer "
        "updated), newly listed ones are created at their first update. See docs/rrd.md.";
    i.inputs = {in<HistogramWindow>("in", "histogram windows (HistogramSink.windows)")};
    i.params = {
        required_param("dir", ParamType::string, "directory of the .rrd files (created if missing)"),
        param<std::string>("config", "",
                           "rrd.conf (Tstat syntax); empty: the built-in blocks/sinks/rrd/rrd.conf. Live: "
                           "applies from the next window")
            .live_change(),
        duration("step", "300s",
                 "RRD step, whole seconds: the histogram window length (Tstat: 300 s); "
                 "heartbeat is twice this")
            .at_least(1),
        duration("write_interval", "10s",
                 "a window arriving less than this wall-clock time after the last write is held and "
                 "written with a later one (or at the end): replaying a trace, a file's values of many "
                 "windows go in one librrd call; a live link's windows, minutes apart, are written as "
                 "they come. 0: every window at once")
            .at_least(0),
    };
    i.counters = {
        {"windows", "histogram windows received"},
        {"windows_skipped", "windows not written: their end is not after the previous window's (seconds)"},
        {"values", "values written to RRD files"},
        {"values_stale",
         "values not written: an existing archive already holds values up to or past their time (an earlier "
         "run into the same directory)"},
        {"files_created", "RRD files created"},
        {"rrd_errors", "librrd errors (create or update failed; logged with the file)"},
        {"histograms_missing", "windows x rrd.conf histograms the window did not carry"},
        {"stats_skipped",
         "statistics not written: a bitrate histogram's avg/min/max/var/stdev/hit/prc, or any of a "
         "histogram without Tstat's bin layout"},
    };
    i.threading = Threading::serial;
    return i;
  }

  void configure(const Params& p, Context& ctx) override {
    ctx_ = &ctx;
    conf_ = read_conf(p.get_string("config"));
    const std::int64_t step_ns = p.get_duration_ns("step");
    if (step_ns % kNsPerSec != 0)
      throw ConfigError("step must be whole seconds (RRD steps are), not " + std::to_string(step_ns) + " ns");
    step_ = static_cast<unsigned long>(step_ns / kNsPerSec);
    write_interval_ = std::chrono::nanoseconds(p.get_duration_ns("write_interval"));

    dir_ = p.get_string("dir");
    const std::string& dir = dir_;
    if (dir.empty()) throw ConfigError("dir is empty");
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec || !fs::is_directory(dir, ec))
      throw ConfigError("cannot create RRD directory '" + dir +
                        "': " + (ec ? ec.message() : std::string("not a directory")));
    if (::access(dir.c_str(), W_OK | X_OK) != 0)
      throw ConfigError("RRD directory '" + dir +
                        "' is not writable: " + std::generic_category().message(errno));

    make_lines();
    windows_ = &ctx.counter("windows");
    windows_skipped_ = &ctx.counter("windows_skipped");
    values_ = &ctx.counter("values");
    stale_ = &ctx.counter("values_stale");
    created_ = &ctx.counter("files_created");
    errors_ = &ctx.counter("rrd_errors");
    missing_ = &ctx.counter("histograms_missing");
    skipped_ = &ctx.counter("stats_skipped");
  }

  void receive(unsigned, const MessagePtr& msg, Emit&) override {
    // Never waits for the writer here: a replayed trace's windows come
    // faster than the first window's ~200 file creations take, and their
    // values simply queue (pending) until the writer is free.
    if (write_done()) collect_write();
    const auto& w = msg->as<HistogramWindow>();
    windows_->add();
    const auto t = static_cast<std::time_t>(w.end_ns / kNsPerSec);
    // librrd refuses a second update within one second of the previous one.
    if (have_last_ && t <= last_t_) {
      report(*windows_skipped_, "window " + std::to_string(w.step) + " ends at " + std::to_string(t) +
                                    ", not after the previous window (" + std::to_string(last_t_) +
                                    "): not written");
      return;
    }
    // An archive starts before its first value, and librrd takes a start
    // at or before the epoch for "now": a window ending in the first second
    // of 1970 cannot be written.
    if (t < 2) {
      windows_skipped_->add();
      once(said_epoch_, "window " + std::to_string(w.step) + " ends at " + std::to_string(t) +
                            ": too close to 1970-01-01 for an RRD archive, not written");
      return;
    }
    check_window_length(w);
    if (t < kFirstGraphTime)
      once(said_early_,
           "window " + std::to_string(w.step) + " ends at " + std::to_string(t) +
               ", before 315360000 (1979-12-30): written, but librrd cannot graph times that early");
    std::unordered_map<std::string_view, const HistogramData*> by_name;
    for (const HistogramData& h : w.histograms) by_name.emplace(h.name, &h);
    for (Line& l : lines_) {
      auto it = by_name.find(l.conf->histogram);
      if (it == by_name.end()) {
        missing_->add();
        once(l.said_missing, "histogram '" + l.conf->histogram + "' (" + where(*l.conf) +
                                 ") is not in window " + std::to_string(w.step) +
                                 ": nothing is written for it while it is missing");
        continue;
      }
      write(l, *it->second, t);
    }
    have_last_ = true;
    last_t_ = t;
    // librrd opens, maps and unmaps a file per call (about 200 files per
    // window with the shipped rrd.conf). Values are written on another
    // thread, and a file's values of several windows go in one call when
    // windows come faster than `write_interval` of wall-clock time (replaying
    // a trace); a live link's windows, minutes apart, are written at once.
    const auto now = std::chrono::steady_clock::now();
    if (now - last_write_ >= write_interval_ && !writing_.valid()) start_write(now);
  }
  // The end of the run (or the block's removal by a reload): the last
  // window's files are complete when this returns.
  void flush(Emit&) override {
    collect_write();
    start_write(std::chrono::steady_clock::now());
    collect_write();
  }

  // Runs between two messages, i.e. between two windows (the runtime drains
  // the graph first): the next window is the first written with the new file.
  // A parse error throws before anything changes.
  void set_param(std::string_view name, const ParamValue& value) override {
    if (name != "config") {
      Block::set_param(name, value);
      return;
    }
    Conf next = read_conf(std::get<std::string>(value));
    // Pending values and the writes in flight point into the old lines.
    collect_write();
    start_write(std::chrono::steady_clock::now());
    collect_write();
    std::size_t stats = 0;
    for (const HistogramConf& h : next.histograms) stats += h.stats.size();
    conf_ = std::move(next);
    make_lines();  // fresh `said` flags: each configuration reports its own problems once
    ctx_->log(LogLevel::info, "config '" + conf_.source + "' applies from the next window: " +
                                  std::to_string(conf_.histograms.size()) + " histograms, " +
                                  std::to_string(stats) + " statistics");
  }

  std::string summary() const override {
    return std::to_string(windows_->value()) + " windows: " + std::to_string(values_->value()) +
           " values written, " + std::to_string(created_->value()) + " files created, " +
           std::to_string(errors_->value()) + " librrd errors";
  }

 private:
  struct File {
    std::string path;
    bool ready = false;           // exists (created by us or found)
    std::time_t last = 0;         // its last update, once ready
    std::string ds;               // its data source, for the creation
    std::vector<Sample> pending;  // values not handed to the writer yet
  };
  struct Line {
    const HistogramConf* conf;
    std::string ds;
    std::vector<File> files;  // one per statistic
    bool said_missing = false, said_layout = false;
    std::vector<bool> said_skip;
  };

  static Conf read_conf(const std::string& file) {
    return file.empty() ? parse_conf(kBuiltinConf, kBuiltinName) : load_conf(file);
  }

  // One Line per rrd.conf histogram, pointing into conf_ (rebuilt with it).
  // A file found on disk (an earlier configuration's, or an earlier run's)
  // is updated, a missing one created at its first value.
  void make_lines() {
    lines_.clear();
    for (const HistogramConf& h : conf_.histograms) {
      Line l{&h, ds_name(h.histogram), {}, false, false, std::vector<bool>(h.stats.size(), false)};
      for (const Stat& s : h.stats)
        l.files.push_back(
            {(fs::path(dir_) / (h.histogram + "." + s.name + ".rrd")).string(), false, 0, {}, {}});
      lines_.push_back(std::move(l));
    }
  }

  void write(Line& l, const HistogramData& h, std::time_t t) {
    if (std::string why = layout_error(h); !why.empty()) {
      skipped_->add(l.files.size());
      once(l.said_layout, "histogram '" + h.name + "' has no Tstat bin layout (" + why + "): not written");
      return;
    }
    std::vector<StatValue> values = compute(l.conf->stats, h);
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (values[i].skip) {
        skipped_->add();
        if (!l.said_skip[i]) {
          l.said_skip[i] = true;
          ctx_->log(LogLevel::warning, where(*l.conf) + ": " + h.name + " " + l.conf->stats[i].name + ": " +
                                           values[i].skip + ": not written");
        }
        continue;
      }
      File& f = l.files[i];
      if (f.pending.empty()) pending_.push_back(&f);
      f.pending.push_back({t, values[i].value});
      f.ds = l.ds;
    }
  }

  // One file's librrd work, done by the writer thread.
  struct Op {
    File* file;
    std::string ds;
    bool check;  // first write of this file: create it if missing, else read its last update
    std::vector<Sample> samples;
    std::time_t last = 0;  // in: the file's last update; out: after the writes
    bool created = false;
    std::string create_error;
    UpdateResult result;
    std::size_t stale = 0;  // samples not after an existing archive's last update
  };

  // Hands every pending value to the writer thread (after the previous
  // batch is complete: one batch at most in flight).
  void start_write(std::chrono::steady_clock::time_point now) {
    last_write_ = now;
    if (pending_.empty()) return;
    collect_write();
    std::vector<Op> ops;
    ops.reserve(pending_.size());
    for (File* f : pending_) {
      ops.push_back(Op{f, f->ds, !f->ready, std::move(f->pending), f->last, false, {}, {}, 0});
      f->pending.clear();
      f->ready = true;  // undone by collect_write() if the creation fails
    }
    pending_.clear();
    writing_ = std::async(std::launch::async, [ops = std::move(ops), step = step_]() mutable {
      for (Op& op : ops) {
        if (op.check) {
          std::error_code ec;
          if (!fs::exists(op.file->path, ec)) {
            // Tstat starts an archive 10 s before its first value (at 1 s
            // at the earliest: librrd reads 0 and before as "now").
            op.last = std::max<std::time_t>(op.samples.front().t - 10, 1);
            op.create_error = create(op.file->path, op.ds, step, op.last);
            if (!op.create_error.empty()) continue;
            op.created = true;
          } else {
            op.last = last_update(op.file->path);
          }
        }
        // librrd cannot rewrite the past: what an earlier run into the same
        // directory wrote stays, and this run's values up to then are skipped.
        if (!op.created) {
          const auto from = std::find_if(op.samples.begin(), op.samples.end(),
                                         [&](const Sample& x) { return x.t > op.last; });
          op.stale = static_cast<std::size_t>(from - op.samples.begin());
          op.samples.erase(op.samples.begin(), from);
        }
        op.result = update(op.file->path, op.samples, op.last);
      }
      return std::move(ops);
    });
  }

  bool write_done() const {
    return writing_.valid() && writing_.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
  }

  // Waits for the batch in flight and accounts for it here, on the block's
  // thread (counters, log).
  void collect_write() {
    if (!writing_.valid()) return;
    for (Op& op : writing_.get()) {
      if (!op.create_error.empty()) {
        op.file->ready = false;
        report(*errors_, naming(op.file->path, "cannot create: " + op.create_error));
        continue;
      }
      if (op.created) created_->add();
      if (op.stale) {
        stale_->add(op.stale);
        if (!said_stale_) {
          said_stale_ = true;
          ctx_->log(LogLevel::warning,
                    op.file->path + ": already holds values up to " + std::to_string(op.last) +
                        " (an earlier run into this directory?): values up to then are not written (counter "
                        "values_stale)");
        }
      }
      op.file->last = op.last;
      values_->add(op.result.written);
      for (const std::string& e : op.result.errors) report(*errors_, naming(op.file->path, e));
    }
  }

  // A window of another length than the step makes every RRD row a blend of
  // two windows: say so once (the partial last window is expected to be short).
  void check_window_length(const HistogramWindow& w) {
    if (w.last || said_length_ || w.end_ns <= w.start_ns) return;
    const std::uint64_t len = w.end_ns - w.start_ns;
    if (len == static_cast<std::uint64_t>(step_) * kNsPerSec) return;
    said_length_ = true;
    ctx_->log(LogLevel::warning, "window " + std::to_string(w.step) + " is " +
                                     std::to_string(len / kNsPerSec) + " s long but step is " +
                                     std::to_string(step_) + " s: set `step` to the histogram window length");
  }

  // librrd names the file in most of its messages; add it where it does not.
  static std::string naming(const std::string& path, const std::string& error) {
    return error.find(path) != std::string::npos ? error : path + ": " + error;
  }

  std::string where(const HistogramConf& h) const { return conf_.source + ":" + std::to_string(h.line); }

  void once(bool& said, const std::string& text) {
    if (said) return;
    said = true;
    ctx_->log(LogLevel::warning, text);
  }

  // Counted always; logged for the first few and then every 1000th.
  void report(Counter& c, const std::string& text) {
    c.add();
    const std::uint64_t n = ++reported_;
    if (n <= kLoggedErrors || n % 1000 == 0)
      ctx_->log(LogLevel::error,
                text + (n == kLoggedErrors ? " (from now on every 1000th error is logged)" : ""));
  }

  Context* ctx_ = nullptr;
  std::string dir_;
  Conf conf_;
  std::vector<Line> lines_;
  unsigned long step_ = 300;
  bool have_last_ = false, said_length_ = false, said_early_ = false, said_epoch_ = false,
       said_stale_ = false;
  std::time_t last_t_ = 0;
  std::uint64_t reported_ = 0;  // errors so far, for the log's rate limit
  Counter *windows_ = nullptr, *windows_skipped_ = nullptr, *values_ = nullptr, *created_ = nullptr,
          *errors_ = nullptr, *missing_ = nullptr, *skipped_ = nullptr, *stale_ = nullptr;
  std::vector<File*> pending_;  // files with values not written yet
  std::chrono::steady_clock::duration write_interval_{};
  std::chrono::steady_clock::time_point last_write_{};
  std::future<std::vector<Op>> writing_;  // the batch in flight
};

}  // namespace
}  // namespace netloom::rrd

NETLOOM_BLOCK(netloom::rrd::RrdSink)
