// Capture readers behind the PcapSource block: classic pcap (libpcap), gzip
// (zlib, streamed), pcapng (Wireshark's libwiretap), stdin, live interfaces.
// Usable without the runtime (tests link this library directly).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netloom/error.hpp"
#include "netloom/packet.hpp"

namespace netloom::pcapio {

// Link type given to records whose encapsulation has no DLT_* value.
inline constexpr std::uint16_t kUnknownLinktype = 0xFFFF;

// One captured frame. `data` points into the reader and stays valid only
// until the next call on that reader.
struct RawRecord {
  const std::uint8_t* data = nullptr;
  std::uint64_t ts_ns = 0;     // ns since the epoch
  std::uint32_t caplen = 0;    // bytes at data
  std::uint32_t wirelen = 0;   // bytes on the wire
  std::uint16_t linktype = 0;  // DLT_* (as pcap_datalink() would say)
  std::uint16_t iface = 0;     // (file index % 256) << 8 | (interface id % 256)
};

enum class ReadResult {
  record,  // `rec` is filled (fill(): the pending record did not fit the batch)
  idle,    // live capture: nothing right now
  end,     // end of input
  full,    // fill(): the batch holds the requested number of packets
};

// A BPF filter applied by the reader to offline records (compiled once per
// link type met in the input).
class BpfFilter {
 public:
  BpfFilter(std::string expression, std::uint32_t snaplen);
  ~BpfFilter();
  BpfFilter(const BpfFilter&) = delete;
  BpfFilter& operator=(const BpfFilter&) = delete;

  // Throws ConfigError with pcap's text if `expression` does not compile
  // (checked for Ethernet).
  static void check(const std::string& expression);

  // True if the record passes. Throws InputError if the expression cannot
  // be compiled for the record's link type.
  bool match(const RawRecord& rec);
  const std::string& expression() const { return expr_; }

 private:
  struct Prog;
  std::string expr_;
  std::uint32_t snaplen_;
  std::vector<std::unique_ptr<Prog>> progs_;
  Prog* last_ = nullptr;
};

struct ReaderOptions {
  std::string filter;              // BPF expression; empty = none
  std::uint32_t snaplen = 262144;  // used to compile the filter
  std::uint16_t iface_base = 0;    // added to the record's interface id
};

struct DropStats {
  std::uint64_t kernel = 0;     // pcap_stats ps_drop
  std::uint64_t interface = 0;  // pcap_stats ps_ifdrop
};

// Copies a record into a batch with the fields the reader knows; every other
// field is the decoder's job (decode_packet() sets them all).
inline Packet& append_record(PacketBatch& batch, const RawRecord& r) {
  Packet& p = batch.append_raw(r.data, r.caplen);
  p.ts_ns = r.ts_ns;
  p.wirelen = r.wirelen;
  p.linktype = r.linktype;
  p.iface = r.iface;
  return p;
}

class PacketReader {
 public:
  virtual ~PacketReader() = default;
  // The next record. When the input is damaged, every valid record before
  // the damage is returned first, then InputError is thrown once, with a
  // message naming the input and the record number ("x.pcap: record 2: ...").
  virtual ReadResult next(RawRecord& rec) = 0;
  // The read loop: appends records to `batch` (copying their bytes) until it
  // holds `max` packets (full), the next record does not fit in its buffer
  // (record: it is left in `pending`, valid until the next call), or the input
  // is idle or ends. Errors as next(), after the valid records were appended.
  virtual ReadResult fill(PacketBatch& batch, std::size_t max, RawRecord& pending);
  // Input bytes consumed so far and the input size (0 when unknown); for a
  // gzip file both are compressed bytes.
  virtual std::uint64_t bytes_done() const { return 0; }
  virtual std::uint64_t bytes_total() const { return 0; }
  // Records dropped by the offline BPF filter.
  virtual std::uint64_t filtered() const { return 0; }
  // Live capture only: drops reported by pcap_stats.
  virtual DropStats drops() { return {}; }
};

// Opens one capture file; "-" reads stdin. Chooses the reader by magic
// number (gzip is looked through). Throws InputError
// "PATH: cannot open: REASON" / "PATH: not a pcap or pcapng capture (...)",
// ConfigError for a filter that does not compile.
std::unique_ptr<PacketReader> open_capture(const std::string& path, const ReaderOptions& opts = {});

// A list of files read in order as one trace. A file that cannot be opened,
// or that is damaged, makes next() throw its InputError once; the following
// call goes on with the next file.
class FileSequence final : public PacketReader {
 public:
  FileSequence(std::vector<std::string> files, ReaderOptions opts);
  ~FileSequence() override;
  ReadResult next(RawRecord& rec) override;
  ReadResult fill(PacketBatch& batch, std::size_t max, RawRecord& pending) override;
  std::uint64_t bytes_done() const override;
  std::uint64_t bytes_total() const override { return total_bytes_; }
  std::uint64_t filtered() const override;

  std::size_t files_ok() const { return files_ok_; }          // read to a clean end
  std::size_t files_failed() const { return files_failed_; }  // unopenable or damaged
  const std::vector<std::string>& files() const { return files_; }

 private:
  template <class Read>
  ReadResult advance(Read&& read);
  void close_current();
  std::vector<std::string> files_;
  std::vector<std::uint64_t> sizes_;
  ReaderOptions opts_;
  std::size_t index_ = 0;
  std::unique_ptr<PacketReader> cur_;
  std::uint64_t done_bytes_ = 0, total_bytes_ = 0, filtered_ = 0;
  std::size_t files_ok_ = 0, files_failed_ = 0;
};

struct LiveOptions {
  std::string interface;
  std::string filter;
  std::uint32_t snaplen = 262144;
  bool promisc = true;
  std::uint64_t buffer_size = 64ull << 20;
  bool immediate = false;
  int timeout_ms = 100;
};

// Opens and activates a live interface (nonblocking). Throws ConfigError for
// a filter that does not compile, InputError when the interface cannot be
// opened (with pcap's reason).
std::unique_ptr<PacketReader> open_live(const LiveOptions& opts);

// "a.pcap, b.pcap" -> {"a.pcap", "b.pcap"}: split on commas, trimmed, empty
// items dropped.
std::vector<std::string> split_file_list(std::string_view list);

}  // namespace netloom::pcapio
