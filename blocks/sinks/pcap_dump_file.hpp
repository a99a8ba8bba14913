// One pcap output file written through libpcap's dump API: pcap_dump_fopen()
// on a FILE* of our own. The FILE is a fopencookie() stream over either a
// plain file descriptor or a zlib gzip stream, so that write and close errors
// of both reach us (pcap_dump() and pcap_dump_close() report none).
#pragma once
#include <pcap/pcap.h>

#include <cstdint>
#include <memory>
#include <string>

namespace netloom::pcapdump {

// Larger captured lengths make libpcap's reader reject a record.
inline constexpr std::uint32_t kMaxCaplen = 262144;

class DumpFile {
 public:
  DumpFile() = default;
  DumpFile(const DumpFile&) = delete;
  DumpFile& operator=(const DumpFile&) = delete;
  ~DumpFile() { close_quietly(); }

  // Creates or truncates `path` and writes the pcap file header (linktype,
  // snaplen kMaxCaplen, microsecond or nanosecond magic). Throws InputError.
  void open(const std::string& path, int linktype, bool gzip, bool nanoseconds);
  // Appends one record. False when the stream reported an error (the file is
  // then failed: later writes return false at once); error() says why.
  bool write(std::uint64_t ts_ns, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t len);
  // Flushes and closes; throws InputError if anything could not be written.
  void close();
  // For destructors and error paths.
  void close_quietly() noexcept;

  bool is_open() const { return dumper_ != nullptr; }
  const std::string& path() const { return path_; }
  const std::string& error() const { return error_; }

 private:
  struct Stream;  // the cookie behind the FILE
  void release() noexcept;
  std::string describe(const char* what) const;

  // stdio's buffer, ours: glibc ignores a size given to setvbuf without a
  // buffer and writes 4 KiB at a time. Outlives the FILE (destroyed last).
  std::unique_ptr<char[]> iobuf_;
  pcap_t* pcap_ = nullptr;
  pcap_dumper_t* dumper_ = nullptr;
  Stream* stream_ = nullptr;
  bool nano_ = false, failed_ = false;
  std::string path_, error_;
};

}  // namespace netloom::pcapdump
