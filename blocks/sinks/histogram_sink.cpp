// HistogramSink: Tstat's histogram engine (spec §8). Packets and flow events
// feed the enabled histograms of the current measurement window; at the end
// of each window (packet time) they are written as text files into
// <run dir>/NNN/ and streamed as a HistogramWindow. See docs/histograms.md.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <memory>
#include <netloom/netloom.hpp>
#include <optional>
#include <string>
#include <vector>

#include "histo_collect.hpp"
#include "histo_config.hpp"
#include "histo_output.hpp"
#include "netfile.hpp"
#include "run_dir.hpp"

namespace netloom::blocks {
namespace {

namespace fs = std::filesystem;
using histo::Collector;
using histo::Histogram;
using histo::Selection;

class HistogramSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "HistogramSink";
    i.summary = "Tstat's histograms (packet and flow distributions) per measurement window";
    i.description =
        "Every packet feeds the packet histograms (IP lengths, TTL, ports, bitrates...) and every flow event "
        "the flow histograms (a `closed` event gives the final record: complete TCP flows and UDP flows, as "
        "in Tstat). Windows follow packet time: window k covers [t0 + k*step, t0 + (k+1)*step), t0 the first "
        "packet's time rounded down to a multiple of `step`; a packet counts in the window of its timestamp "
        "(an older one in the current window), a flow in the window where its event arrives. At the end of "
        "each window the enabled histograms are written as Tstat text files into "
        "<dir>/<YYYY_MM_DD_HH_MM>.out/"
        "NNN/ (NNN = k, three digits) and emitted on `windows`; windows in which nothing happened are "
        "skipped. At the end of input the partial window goes to LAST/, and with `global` the whole run to "
        "GLOBAL/. Direction classes (_in/_out/_loc) come from the flow's internal flags, or from `net_file` "
        "for packets without a flow. `config` selects histograms with Tstat's -H syntax. See "
        "docs/histograms.md.";
    i.inputs = {in<PacketBatch>("in", "packets with Packet::flow and flow events (after the classifiers)")};
    i.outputs = {out<HistogramWindow>("windows", "every enabled histogram at the end of each window")};
    i.params = {
        param<std::string>("dir", "", "output directory (created if missing); required when `write` is on"),
        param<std::string>(
            "layout", "tstat",
            "tstat: windows inside <dir>/YYYY_MM_DD_HH_MM.out/ (named after the first packet), "
            "as LogSink; flat: directly in `dir`")
            .one_of({"tstat", "flat"}),
        param<bool>("utc", false, "name the run directory in UTC instead of local time"),
        duration("step", "300s", "window length in packet time (Tstat's Max_Time_Step)"),
        param<std::string>("config", "",
                           "Tstat -H file selecting histograms (include NAME / ALL / ADX, include_matching, "
                           "adx_mask); empty: every histogram and ADX")
            .live_change(),
        param<bool>("write", true, "write histogram files (false: only emit `windows`)").live_change(),
        param<bool>("global", false,
                    "also write GLOBAL/: every histogram over the whole run, with pdf and cdf"),
        param<std::string>("net_file", "",
                           "Tstat -N file for the direction of packets without a flow (use the tracker's); "
                           "empty: everything internal"),
    };
    i.counters = {{"packets", "packets received"},
                  {"not_ip", "frames without an IP header (no histogram counts them)"},
                  {"external_packets", "IP packets with both ends external (no histogram counts them)"},
                  {"flows", "closed flows received"},
                  {"tcp_nocomplete", "closed TCP flows not complete (flow histograms skip them, as Tstat)"},
                  {"external_flows", "closed flows with both ends external (not counted, as Tstat)"},
                  {"windows_written", "window directories written completely (000..., LAST)"},
                  {"write_errors", "files or directories that could not be written"}};
    i.threading = Threading::serial;
    return i;
  }

  void configure(const Params& p, Context& ctx) override {
    dir_ = p.get_string("dir");
    flat_ = p.get_string("layout") == "flat";
    utc_ = p.get_bool("utc");
    write_ = p.get_bool("write");
    global_ = p.get_bool("global");
    const std::int64_t step = p.get_duration_ns("step");
    if (step < 1'000'000) throw ConfigError("parameter 'step' must be at least 1ms");
    step_ = static_cast<std::uint64_t>(step);
    const std::string& cfg = p.get_string("config");
    selection_ = cfg.empty() ? histo::select_all() : histo::load_selection(cfg);
    const std::string& nf = p.get_string("net_file");
    if (!nf.empty()) nets_ = flow::NetList::load(nf);
    if (write_) check_dir();

    c_.packets = &ctx.counter("packets");
    c_.not_ip = &ctx.counter("not_ip");
    c_.ext_packets = &ctx.counter("external_packets");
    c_.flows = &ctx.counter("flows");
    c_.nocomplete = &ctx.counter("tcp_nocomplete");
    c_.ext_flows = &ctx.counter("external_flows");
    c_.windows = &ctx.counter("windows_written");
    c_.errors = &ctx.counter("write_errors");

    collector_ = std::make_unique<Collector>(selection_);
    if (selection_.count() == 0 && !selection_.adx)
      ctx.log(LogLevel::warning, "'" + cfg + "' enables no histogram: windows will be empty");
    // Windows also close on idle live links, where the clock moves without packets.
    ctx.add_timer(0, step_);
  }

  void receive(unsigned, const MessagePtr& msg, Emit& emit) override {
    const auto& b = msg->as<PacketBatch>();
    std::size_t ev = 0, not_ip = 0, ext = 0;
    for (std::size_t i = 0; i < b.packets.size(); ++i) {
      const Packet& p = b.packets[i];
      // The window moves before the events preceding the packet: a flow
      // opened or closed by this packet counts where the packet does.
      if (p.ts_ns) {
        if (!started_) start(p.ts_ns);
        if (p.ts_ns > now_) now_ = p.ts_ns;
        advance_to(p.ts_ns, emit);
      }
      for (; ev < b.events.size() && b.events[ev].at <= i; ++ev) on_event(b.events[ev]);
      activity_ = true;
      if (!p.is_ip() || p.l3_off == kNoOffset) {
        ++not_ip;
        continue;
      }
      bool src_int, dst_int;
      if (p.flow) {  // frozen when the flow opened: safe to read while upstream blocks run
        src_int = p.flow->record.internal[p.flow_dir & 1];
        dst_int = p.flow->record.internal[1 - (p.flow_dir & 1)];
      } else {
        src_int = nets_.internal(p.src, p.ip_version);
        dst_int = nets_.internal(p.dst, p.ip_version);
      }
      if (!collector_->packet(p, src_int, dst_int)) ++ext;
    }
    for (; ev < b.events.size(); ++ev) on_event(b.events[ev]);
    c_.packets->add(b.packets.size());
    c_.not_ip->add(not_ip);
    c_.ext_packets->add(ext);
    if (msg->clock_ns > now_) now_ = msg->clock_ns;
    if (started_) advance_to(msg->clock_ns, emit);
    throw_pending_error();
  }

  void on_timer(unsigned, std::uint64_t now_ns, Emit& emit) override {
    if (now_ns > now_) now_ = now_ns;
    if (started_) advance_to(now_ns, emit);
    throw_pending_error();
  }

  void flush(Emit& emit) override {
    if (!started_) {
      // No packet at all: name the run directory after the clock (or the
      // wall clock), as LogSink does, and still leave a LAST window.
      if (!now_)
        now_ = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
      run_dir_ = sinks::run_dir(dir_, flat_, now_, utc_);
      win_start_ = first_ns_ = now_;
    }
    close_window(true, emit);
    collect_write();
    if (global_ && write_) {
      histo::WriteErrors e = histo::write_global(run_dir_ / "GLOBAL", global_hist_);
      note_errors(e);
    }
    throw_pending_error();
  }

  // Live changes take effect at the next window boundary, so a window is
  // always counted with one set of histograms.
  void set_param(std::string_view name, const ParamValue& value) override {
    if (name == "config") {
      const std::string& cfg = std::get<std::string>(value);
      pending_selection_ = cfg.empty() ? histo::select_all() : histo::load_selection(cfg);
    } else if (name == "write") {
      const bool w = std::get<bool>(value);
      if (w && dir_.empty()) throw ConfigError("parameter 'write' needs 'dir'");
      pending_write_ = w;
    } else {
      Block::set_param(name, value);
    }
  }

  std::string summary() const override {
    if (written_ == 0) return write_ ? "no histogram window written" : "histograms streamed only";
    return "histograms in " + run_dir_.string() + " (" + std::to_string(written_) + " windows)";
  }

 private:
  void check_dir() {
    if (dir_.empty()) throw ConfigError("parameter 'dir' must be set when 'write' is on");
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) throw ConfigError("parameter 'dir': cannot create directory '" + dir_ + "': " + ec.message());
    const std::string probe =
        (fs::path(dir_) / (".netloom-histogram-probe-" + std::to_string(::getpid()))).string();
    const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) throw ConfigError("parameter 'dir': cannot write in '" + dir_ + "': " + std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
  }

  void start(std::uint64_t ts) {
    started_ = true;
    first_ns_ = ts;
    win_start_ = ts - ts % step_;
    win_end_ = win_start_ + step_;
    index_ = 0;
    run_dir_ = sinks::run_dir(dir_, flat_, ts, utc_);
  }

  // Closes every window that ends at or before t; windows in which nothing
  // happened are skipped (their numbers still follow time).
  void advance_to(std::uint64_t t, Emit& emit) {
    if (t < win_end_) return;
    close_window(false, emit);
    const std::uint64_t skip = (t - win_end_) / step_;
    win_start_ = win_end_ + skip * step_;
    win_end_ = win_start_ + step_;
    index_ += 1 + static_cast<std::uint32_t>(skip);
  }

  void on_event(const FlowEvent& e) {
    activity_ = true;
    if (!e.flow) return;
    if (e.kind == FlowEvent::Kind::opened) {
      collector_->flow_opened(e.flow->record);
    } else if (e.kind == FlowEvent::Kind::closed) {
      c_.flows->add();
      switch (collector_->flow_closed(e.flow->record)) {
        case Collector::Closed::tcp_nocomplete:
          c_.nocomplete->add();
          break;
        case Collector::Closed::external:
          c_.ext_flows->add();
          break;
        default:
          break;
      }
    }
  }

  void close_window(bool last, Emit& emit) {
    collect_write();
    if (activity_ || last) {
      // Bitrates over the time the window actually observed: from its start
      // (or the first packet) to its end (or, for LAST, the latest clock).
      const std::uint64_t from = std::max(win_start_, first_ns_);
      const std::uint64_t to = last ? std::max(now_, from) : win_end_;
      collector_->finish(static_cast<double>(to - from) / 1e6);

      bool bins_zero = false;  // the recycled window's bins were cleared by the writer thread
      std::shared_ptr<HistogramWindow> w = recycled_window(bins_zero);
      w->start_ns = win_start_;
      w->end_ns = to;
      w->step = index_;
      w->last = last;
      w->clock_ns = to;
      std::size_t n = 0;
      for (const auto& h : collector_->histograms())
        if (h) ++n;
      w->histograms.resize(n);
      if (global_) merge_global();  // before the bins move to the window
      n = 0;
      for (const auto& h : collector_->histograms())
        if (h) h->move_into(w->histograms[n++], bins_zero);
      spare_ = w;
      if (write_) {
        // The files are written on another thread while the next window is
        // counted: 131 file creations per window must not stall the packet
        // path (docs/histograms.md, "Writing").
        char name[16];
        std::snprintf(name, sizeof name, "%03u", index_);
        std::optional<std::string> adx;
        if (collector_->adx()) adx = collector_->adx()->text();
        writing_ =
            std::async(std::launch::async, [dir = run_dir_ / (last ? std::string("LAST") : std::string(name)),
                                            win = w, adx = std::move(adx)] {
              Written r{histo::write_window(dir, *win, adx ? &*adx : nullptr), false};
              r.cleared = clear_if_unshared(win);
              return r;
            });
      }
      emit(0, std::move(w));
      collector_->reset_others();  // the histograms were emptied by move_into
      activity_ = false;
    }
    if (pending_selection_) {
      selection_ = std::move(*pending_selection_);
      pending_selection_.reset();
      collector_ = std::make_unique<Collector>(selection_);
    }
    if (pending_write_) {
      write_ = *pending_write_;
      pending_write_.reset();
    }
  }

  // The previous window's message if no consumer holds it any more: its
  // bins (MBs with the port histograms) are overwritten in place instead of
  // allocating, and page-faulting, fresh ones every window.
  std::shared_ptr<HistogramWindow> recycled_window(bool& bins_zero) {
    std::shared_ptr<HistogramWindow> w = std::move(spare_);
    spare_.reset();
    bins_zero = false;
    if (w && w.use_count() == 1) {
      // Pairs with the release in the last consumer's reference drop.
      std::atomic_thread_fence(std::memory_order_acquire);
      bins_zero = spare_cleared_;
      return w;
    }
    return std::make_shared<HistogramWindow>();
  }

  // The writer thread, done with a window: if no consumer holds it any more
  // (only this task and the sink's spare_, which the sink does not touch
  // before collect_write()), its bins are cleared here, so that reusing them
  // costs the packet path no 9 MiB memset per window. Counts only drop, so
  // seeing 2 means exactly those two.
  static bool clear_if_unshared(const std::shared_ptr<HistogramWindow>& win) {
    if (win.use_count() != 2) return false;
    std::atomic_thread_fence(std::memory_order_acquire);
    for (HistogramData& h : win->histograms) std::fill(h.bins.begin(), h.bins.end(), 0);
    return true;
  }

  // Waits for the previous window's files and accounts for them. One window
  // at most is being written, so memory stays bounded and directories
  // appear in order; an error writing window k surfaces when window k+1
  // closes or at the end of the run.
  void collect_write() {
    spare_cleared_ = false;
    if (!writing_.valid()) return;
    const Written r = writing_.get();
    spare_cleared_ = r.cleared;
    const histo::WriteErrors& e = r.errors;
    note_errors(e);
    if (e.count == 0) {
      c_.windows->add();
      ++written_;
    }
  }

  void merge_global() {
    const auto& hs = collector_->histograms();
    if (global_hist_.size() != hs.size()) global_hist_.resize(hs.size());
    for (std::size_t i = 0; i < hs.size(); ++i) {
      if (!hs[i] || hs[i]->pseudo()) continue;
      if (!global_hist_[i]) global_hist_[i] = std::make_unique<Histogram>(histo::definitions()[i]);
      global_hist_[i]->merge(*hs[i]);
    }
  }

  void note_errors(const histo::WriteErrors& e) {
    if (e.count == 0) return;
    c_.errors->add(e.count);
    if (pending_error_.empty()) pending_error_ = e.first;
  }
  void throw_pending_error() {
    if (pending_error_.empty()) return;
    std::string e = std::move(pending_error_);
    pending_error_.clear();
    throw InputError(e);
  }

  struct {
    Counter *packets, *not_ip, *ext_packets, *flows, *nocomplete, *ext_flows, *windows, *errors;
  } c_{};
  // parameters
  std::string dir_;
  bool flat_ = false, utc_ = false, write_ = true, global_ = false;
  std::uint64_t step_ = 300'000'000'000ull;
  flow::NetList nets_;
  // the enabled set: changed only at a window boundary
  Selection selection_;
  std::optional<Selection> pending_selection_;
  std::optional<bool> pending_write_;
  std::unique_ptr<Collector> collector_;
  std::vector<std::unique_ptr<Histogram>> global_hist_;
  std::shared_ptr<HistogramWindow> spare_;  // last window emitted, reused when released
  // windows
  bool started_ = false, activity_ = false;
  std::uint64_t first_ns_ = 0, win_start_ = 0, win_end_ = 0, now_ = 0;
  std::uint32_t index_ = 0;
  fs::path run_dir_;
  std::uint64_t written_ = 0;
  std::string pending_error_;
  struct Written {
    histo::WriteErrors errors;
    bool cleared;  // the window's bins were cleared after writing
  };
  std::future<Written> writing_;  // the previous window's files
  bool spare_cleared_ = false;    // spare_'s bins are all zero
};

}  // namespace
}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::HistogramSink)
