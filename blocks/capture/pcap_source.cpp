// PcapSource: packets from capture files (pcap, pcapng, gzip, stdin) or a
// live interface, decoded once (L2-L4) and emitted in PacketBatch messages.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "pcapio.hpp"

namespace netloom::blocks {

namespace {

std::uint64_t wall_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char s[32];
  std::snprintf(s, sizeof s, u ? "%.1f %s" : "%.0f %s", b, units[u]);
  return s;
}

}  // namespace

class PcapSource final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo bi;
    bi.type = "PcapSource";
    bi.summary = "reads packets from capture files (pcap, pcapng, gzip, stdin) or a live interface";
    bi.outputs = {out<PacketBatch>("out", "decoded packets, in capture order")};
    bi.params = {
        param<std::string>("files", "",
                           "comma-separated capture files read in order as one trace; '-' is stdin"),
        param<std::string>("interface", "", "live capture interface (exclusive with files)"),
        param<std::string>("filter", "", "BPF filter expression (tcpdump syntax)"),
        param<int>("snaplen", 262144, "live capture: bytes kept per packet").range(64, 262144),
        param<bool>("promisc", true, "live capture: promiscuous mode"),
        size("buffer_size", "64MiB", "live capture: kernel buffer size")
            .range(1024.0 * 1024, 4.0 * 1024 * 1024 * 1024),
        param<bool>("immediate", false, "live capture: deliver packets as soon as they arrive"),
        param<int>("max_packets", 0, "stop after this many packets (0 = no limit)").at_least(0),
        param<bool>("progress", true, "show progress on stderr when it is a terminal"),
        param<double>("rate", 0.0,
                      "files: replay at most this many packets per second, like a live link (0: as fast "
                      "as possible); may change on a running graph")
            .range(0, 1e9)
            .live_change(),
    };
    bi.counters = {
        {"packets", "packets emitted"},
        {"bytes", "captured bytes emitted"},
        {"wire_bytes", "bytes of the emitted packets on the wire"},
        {"files_ok", "files read to their end"},
        {"files_failed", "files that could not be opened or ended in an error"},
        {"read_errors", "input errors reported (unopenable, truncated, corrupt)"},
        {"filtered", "offline packets dropped by the BPF filter"},
        {"kernel_drops", "live: packets dropped by the kernel (pcap_stats ps_drop)"},
        {"interface_drops", "live: packets dropped by the interface (pcap_stats ps_ifdrop)"},
        {"malformed", "packets whose headers lie about their length (kMalformed)"},
        {"truncated", "packets cut by the snap length (kTruncated)"},
        {"not_ip", "packets without an IP header the decoder understood"},
    };
    bi.threading = Threading::serial;
    bi.parallel_prepare = true;  // decoding runs on worker threads, see prepare()
    bi.description =
        "Offline: classic pcap (both byte orders, µs or ns) through libpcap, pcapng through "
        "libwiretap, gzip-compressed files of either kind decompressed on the fly, '-' for stdin. "
        "A damaged file yields every valid packet before the damage, then one error naming the "
        "file and the record; the next file of the list is read. Live: libpcap with a kernel "
        "BPF filter, drops from pcap_stats. iface = (file index % 256) << 8 | interface id.";
    return bi;
  }

  void configure(const Params& params, Context& ctx) override {
    ctx_ = &ctx;
    files_param_ = params.get_string("files");
    iface_param_ = params.get_string("interface");
    auto files = pcapio::split_file_list(files_param_);
    bool has_iface = iface_param_.find_first_not_of(" \t") != std::string::npos;
    if (files.empty() == !has_iface)
      throw ConfigError(files.empty() ? "set one of 'files' or 'interface'"
                                      : "set only one of 'files' and 'interface'");
    const std::string filter = params.get_string("filter");
    snaplen_ = static_cast<std::uint32_t>(params.get_int("snaplen"));
    max_packets_ = static_cast<std::uint64_t>(params.get_int("max_packets"));
    rate_ = params.get_real("rate");
    progress_ = params.get_bool("progress") && isatty(STDERR_FILENO);

    c_packets_ = &ctx.counter("packets");
    c_bytes_ = &ctx.counter("bytes");
    c_wire_ = &ctx.counter("wire_bytes");
    c_files_ok_ = &ctx.counter("files_ok");
    c_files_failed_ = &ctx.counter("files_failed");
    c_read_errors_ = &ctx.counter("read_errors");
    c_filtered_ = &ctx.counter("filtered");
    c_kdrops_ = &ctx.counter("kernel_drops");
    c_ifdrops_ = &ctx.counter("interface_drops");
    c_malformed_ = &ctx.counter("malformed");
    c_truncated_ = &ctx.counter("truncated");
    c_not_ip_ = &ctx.counter("not_ip");

    batch_size_ = std::max<std::size_t>(1, ctx.batch_size());
    byte_budget_ = std::max<std::size_t>(batch_size_ * 2048, 256 * 1024);

    if (has_iface) {
      pcapio::LiveOptions lo;
      lo.interface = iface_param_;
      lo.filter = filter;
      lo.snaplen = snaplen_;
      lo.promisc = params.get_bool("promisc");
      lo.buffer_size = static_cast<std::uint64_t>(params.get_size("buffer_size"));
      lo.immediate = params.get_bool("immediate");
      try {
        reader_ = pcapio::open_live(lo);
      } catch (const InputError& e) {
        throw ConfigError(e.what());  // a wrong interface name is a configuration error
      }
      live_ = true;
    } else {
      if (!filter.empty()) pcapio::BpfFilter::check(filter);
      pcapio::ReaderOptions ro;
      ro.filter = filter;
      ro.snaplen = snaplen_;
      auto seq = std::make_unique<pcapio::FileSequence>(std::move(files), ro);
      files_ = seq.get();
      n_files_ = files_->files().size();
      reader_ = std::move(seq);
    }
    start_ = last_report_ = std::chrono::steady_clock::now();
  }

  // Decoding is per packet and needs no state: the runtime runs it here, on
  // worker threads, so the reading thread only reads and copies.
  void prepare(PacketBatch& batch) override {
    std::uint64_t malformed = 0, truncated = 0, not_ip = 0;
    for (Packet& p : batch.packets) {
      decode::decode_packet(p);
      malformed += (p.flags & kMalformed) != 0;
      truncated += (p.flags & kTruncated) != 0;
      not_ip += !p.is_ip();
    }
    if (malformed) c_malformed_->add_shared(malformed);
    if (truncated) c_truncated_->add_shared(truncated);
    if (not_ip) c_not_ip_->add_shared(not_ip);
  }

  SourceStatus produce(Emit& emit) override {
    if (finished_) return SourceStatus::done;
    if (ctx_->stopping()) return finish();
    if (rate_ > 0 && !live_ && !pace()) return SourceStatus::idle;

    std::shared_ptr<PacketBatch> batch = fresh_batch();
    SourceStatus status = SourceStatus::more;
    bool fatal = false;
    std::string fatal_text;
    pcapio::RawRecord rec;

    for (;;) {
      std::size_t max = batch_size_;
      if (max_packets_) {
        const std::uint64_t left = max_packets_ - std::min(max_packets_, packets_ + batch->packets.size());
        max = std::min<std::uint64_t>(max, batch->packets.size() + left);
        if (left == 0) {
          status = SourceStatus::done;
          break;
        }
      }
      pcapio::ReadResult r;
      try {
        r = reader_->fill(*batch, max, rec);
      } catch (const InputError& e) {
        if (ctx_->stopping()) {
          // A stop request interrupted a blocked read (stdin, live): the
          // input ends here; that is not a damaged capture.
          ctx_->log(LogLevel::info, std::string("stopped while reading: ") + e.what());
          status = SourceStatus::done;
          break;
        }
        c_read_errors_->add();
        ctx_->log(LogLevel::error, e.what());
        sync_file_counters();
        if (live_) {  // a live capture does not recover: report after the valid part
          fatal = true;
          fatal_text = e.what();
          status = SourceStatus::done;
          break;
        }
        continue;  // the sequence goes on with the next file
      }
      if (r == pcapio::ReadResult::full) break;
      if (r == pcapio::ReadResult::end) {
        status = SourceStatus::done;
        break;
      }
      if (r == pcapio::ReadResult::idle) {
        status = SourceStatus::idle;
        break;
      }
      // A record that does not fit: close this batch (the record stays valid
      // meanwhile) and give it a fresh one, grown if the record needs it.
      if (!batch->packets.empty()) {
        send(batch, emit);
        batch = fresh_batch();
      }
      if (rec.caplen > batch->room()) batch->buffer.reserve(batch->buffer.size() + rec.caplen);
      pcapio::append_record(*batch, rec);
    }

    if (!batch->packets.empty()) {
      send(batch, emit);
    } else if (live_ && status == SourceStatus::idle) {
      // Idle link: advance the clock on wall time so packet-time timers fire.
      std::uint64_t now = wall_ns();
      if (now >= last_emit_wall_ + 1000000000ull) {
        clock_ns_ = std::max(clock_ns_, now);
        send(batch, emit);
      }
    }
    periodic();
    if (fatal) {
      finish();
      throw InputError(fatal_text);
    }
    if (status == SourceStatus::done) return finish();
    return status;
  }

  void set_param(std::string_view name, const ParamValue& value) override {
    if (name != "rate") return Block::set_param(name, value);
    rate_ = std::get<double>(value);
    pace_start_ = 0;  // the new rate counts from now
  }

  std::string summary() const override {
    std::string s;
    if (live_) {
      s = "interface " + iface_param_ + ": ";
    } else {
      s = std::to_string(n_files_) + " file(s), " + std::to_string(files_ok_) + " ok, " +
          std::to_string(files_failed_) + " failed; ";
    }
    s += std::to_string(c_packets_ ? c_packets_->value() : 0) + " packets, " +
         std::to_string(c_bytes_ ? c_bytes_->value() : 0) + " bytes";
    if (c_filtered_ && c_filtered_->value()) s += ", " + std::to_string(c_filtered_->value()) + " filtered";
    s += ", " + std::to_string(c_read_errors_ ? c_read_errors_->value() : 0) + " read errors";
    if (live_)
      s += ", drops " + std::to_string(c_kdrops_->value()) + " kernel / " +
           std::to_string(c_ifdrops_->value()) + " interface";
    return s;
  }

 private:
  std::shared_ptr<PacketBatch> fresh_batch() {
    auto b = ctx_->new_packet_batch();
    b->clear();
    b->buffer.reserve(byte_budget_);
    b->packets.reserve(batch_size_);
    return b;
  }

  void send(std::shared_ptr<PacketBatch>& batch, Emit& emit) {
    // Totals once per batch rather than per packet: this is the read loop.
    for (const Packet& p : batch->packets) {
      bytes_ += p.caplen;
      wire_bytes_ += p.wirelen;
      if (p.ts_ns > clock_ns_) clock_ns_ = p.ts_ns;
    }
    packets_ += batch->packets.size();
    c_packets_->set(packets_);
    c_bytes_->set(bytes_);
    c_wire_->set(wire_bytes_);
    batch->clock_ns = clock_ns_;
    batch->sequence = sequence_++;
    last_emit_wall_ = wall_ns();
    emit(0, std::move(batch));
  }

  void sync_file_counters() {
    if (!files_) return;
    files_ok_ = files_->files_ok();
    files_failed_ = files_->files_failed();
    c_files_ok_->set(files_ok_);
    c_files_failed_->set(files_failed_);
    c_filtered_->set(files_->filtered());
  }

  // Once a second: drops, file counters, progress line.
  void periodic() {
    auto now = std::chrono::steady_clock::now();
    if (now - last_report_ < std::chrono::seconds(1)) return;
    double dt = std::chrono::duration<double>(now - last_report_).count();
    last_report_ = now;
    sync_file_counters();
    if (live_) {
      auto d = reader_->drops();
      c_kdrops_->set(d.kernel);
      c_ifdrops_->set(d.interface);
    }
    if (progress_) {
      double pps = static_cast<double>(packets_ - last_packets_) / dt;
      last_packets_ = packets_;
      std::string line = "\r" + ctx_->block_id() + ": ";
      if (live_) {
        line += std::to_string(packets_) + " packets, " + std::to_string(static_cast<long>(pps)) +
                " pkt/s, drops " + std::to_string(c_kdrops_->value());
      } else {
        std::uint64_t done = reader_->bytes_done(), total = reader_->bytes_total();
        line += human_bytes(static_cast<double>(done));
        if (total) {
          char pct[16];
          std::snprintf(pct, sizeof pct, " (%.1f%%)",
                        100.0 * static_cast<double>(done) / static_cast<double>(total));
          line += " / " + human_bytes(static_cast<double>(total)) + pct;
        }
        line += ", " + std::to_string(packets_) + " packets, " + std::to_string(static_cast<long>(pps)) +
                " pkt/s";
      }
      line += "   ";
      std::fputs(line.c_str(), stderr);
      progress_shown_ = true;
    }
  }

  SourceStatus finish() {
    if (finished_) return SourceStatus::done;
    finished_ = true;
    sync_file_counters();
    if (live_) {
      auto d = reader_->drops();
      c_kdrops_->set(d.kernel);
      c_ifdrops_->set(d.interface);
    }
    if (progress_shown_) std::fputs("\n", stderr);
    files_ = nullptr;  // owned by reader_
    reader_.reset();   // close files / the interface now
    // Nothing at all could be read: the run fails.
    if (!live_ && files_ok_ == 0 && files_failed_ > 0 && packets_ == 0)
      throw InputError("no packets could be read (" + std::to_string(files_failed_) +
                       (files_failed_ == 1 ? " file" : " files") + " failed)");
    return SourceStatus::done;
  }

  Context* ctx_ = nullptr;
  std::unique_ptr<pcapio::PacketReader> reader_;
  pcapio::FileSequence* files_ = nullptr;  // reader_ when reading files, until finish()
  std::size_t n_files_ = 0, files_ok_ = 0, files_failed_ = 0;
  std::string files_param_, iface_param_;
  bool live_ = false, progress_ = false, progress_shown_ = false, finished_ = false;
  std::uint32_t snaplen_ = 262144;
  std::uint64_t max_packets_ = 0;
  // Paced replay (rate > 0): packets emitted since pace_start_ (wall ns) may
  // not run ahead of rate_ per second.
  double rate_ = 0;
  std::uint64_t pace_start_ = 0, pace_packets_ = 0;
  bool pace() {
    const std::uint64_t now = wall_ns();
    if (pace_start_ == 0) {
      pace_start_ = now;
      pace_packets_ = packets_;
    }
    const double due = static_cast<double>(packets_ - pace_packets_) / rate_ * 1e9;
    return static_cast<double>(now - pace_start_) >= due;
  }
  std::size_t batch_size_ = 256, byte_budget_ = 256 * 1024;
  std::uint64_t packets_ = 0, bytes_ = 0, wire_bytes_ = 0, last_packets_ = 0;
  std::uint64_t clock_ns_ = 0, sequence_ = 0, last_emit_wall_ = 0;
  std::chrono::steady_clock::time_point start_, last_report_;
  Counter *c_packets_ = nullptr, *c_bytes_ = nullptr, *c_wire_ = nullptr, *c_files_ok_ = nullptr,
          *c_files_failed_ = nullptr, *c_read_errors_ = nullptr, *c_filtered_ = nullptr, *c_kdrops_ = nullptr,
          *c_ifdrops_ = nullptr, *c_malformed_ = nullptr, *c_truncated_ = nullptr, *c_not_ip_ = nullptr;
};

}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::PcapSource)
