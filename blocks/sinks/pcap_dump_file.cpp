#include "pcap_dump_file.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <netloom/error.hpp>

namespace netloom::pcapdump {

// What the FILE writes into: a descriptor, or a gzip stream that owns it.
// Errors are remembered here because stdio only keeps a flag.
struct DumpFile::Stream {
  int fd = -1;
  gzFile gz = nullptr;
  int err = 0;           // errno of the first failure
  std::string zlib_err;  // zlib's message when errno says nothing
  bool closed = false;

  void fail_gz() {
    int zerr = 0;
    const char* m = gzerror(gz, &zerr);
    if (zerr == Z_ERRNO && errno)
      err = errno;
    else if (zlib_err.empty())
      zlib_err = m ? m : "zlib error";
    if (!err && zlib_err.empty()) zlib_err = "zlib error";
  }

  static ssize_t write_fn(void* cookie, const char* buf, size_t n) {
    auto* s = static_cast<Stream*>(cookie);
    if (s->err || !s->zlib_err.empty()) return 0;
    size_t done = 0;
    while (done < n) {
      if (s->gz) {
        const size_t chunk = n - done > (1u << 30) ? (1u << 30) : n - done;
        const int w = gzwrite(s->gz, buf + done, static_cast<unsigned>(chunk));
        if (w <= 0) {
          s->fail_gz();
          return 0;
        }
        done += static_cast<size_t>(w);
      } else {
        const ssize_t w = ::write(s->fd, buf + done, n - done);
        if (w < 0) {
          if (errno == EINTR) continue;
          s->err = errno;
          return 0;
        }
        done += static_cast<size_t>(w);
      }
    }
    return static_cast<ssize_t>(done);
  }

  static int close_fn(void* cookie) {
    auto* s = static_cast<Stream*>(cookie);
    s->closed = true;
    if (s->gz) {
      errno = 0;
      const int rc = gzclose(s->gz);  // flushes deflate, writes the trailer, closes fd
      s->gz = nullptr;
      s->fd = -1;
      if (rc != Z_OK && !s->err && s->zlib_err.empty()) {
        if (rc == Z_ERRNO && errno)
          s->err = errno;
        else
          s->zlib_err = "cannot finish the gzip stream";
      }
    } else if (s->fd >= 0) {
      if (::close(s->fd) != 0 && !s->err) s->err = errno;
      s->fd = -1;
    }
    return s->err || !s->zlib_err.empty() ? EOF : 0;
  }
};

std::string DumpFile::describe(const char* what) const {
  std::string m = std::string(what) + " '" + path_ + "'";
  if (stream_ && stream_->err)
    m += std::string(": ") + std::strerror(stream_->err);
  else if (stream_ && !stream_->zlib_err.empty())
    m += " (zlib: " + stream_->zlib_err + ")";
  return m;
}

void DumpFile::open(const std::string& path, int linktype, bool gzip, bool nanoseconds) {
  close_quietly();
  path_ = path;
  error_.clear();
  failed_ = false;
  nano_ = nanoseconds;
  stream_ = new Stream;
  stream_->fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (stream_->fd < 0) {
    stream_->err = errno;
    error_ = describe("cannot create");
    release();
    throw InputError(error_);
  }
  if (gzip) {
    stream_->gz = gzdopen(stream_->fd, "wb");  // owns the descriptor from here on
    if (!stream_->gz) {
      stream_->err = errno ? errno : ENOMEM;
      ::close(stream_->fd);
      stream_->fd = -1;
      error_ = describe("cannot start a gzip stream for");
      release();
      throw InputError(error_);
    }
    gzbuffer(stream_->gz, 128 * 1024);
  }
  cookie_io_functions_t io{};
  io.write = &Stream::write_fn;
  io.close = &Stream::close_fn;
  std::FILE* f = fopencookie(stream_, "w", io);
  if (!f) {
    stream_->err = errno;
    error_ = describe("cannot open a stream for");
    Stream::close_fn(stream_);
    release();
    throw InputError(error_);
  }
  constexpr std::size_t kBuffer = 256 * 1024;
  if (!iobuf_) iobuf_ = std::make_unique_for_overwrite<char[]>(kBuffer);
  std::setvbuf(f, iobuf_.get(), _IOFBF, kBuffer);
  pcap_ = pcap_open_dead_with_tstamp_precision(
      linktype, static_cast<int>(kMaxCaplen),
      nanoseconds ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
  if (pcap_) dumper_ = pcap_dump_fopen(pcap_, f);  // writes the file header
  if (!dumper_) {
    error_ = "cannot start pcap file '" + path_ + "'" +
             (pcap_ ? std::string(": ") + pcap_geterr(pcap_) : std::string(": out of memory"));
    std::fclose(f);
    release();
    throw InputError(error_);
  }
}

bool DumpFile::write(std::uint64_t ts_ns, const std::uint8_t* data, std::uint32_t caplen, std::uint32_t len) {
  if (failed_ || !dumper_) return false;
  pcap_pkthdr h{};
  h.ts.tv_sec = static_cast<time_t>(ts_ns / 1'000'000'000ull);
  const auto frac = static_cast<suseconds_t>(ts_ns % 1'000'000'000ull);
  h.ts.tv_usec = nano_ ? frac : frac / 1000;  // a nanosecond file holds ns in this field
  h.caplen = caplen;
  h.len = len;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &h, data);
  if (ferror_unlocked(pcap_dump_file(dumper_))) {
    failed_ = true;
    error_ = describe("cannot write");
    return false;
  }
  return true;
}

void DumpFile::close() {
  if (!dumper_) {
    release();
    return;
  }
  const bool flushed = pcap_dump_flush(dumper_) == 0 && !failed_;
  pcap_dump_close(dumper_);  // fclose: Stream::close_fn finishes the file
  dumper_ = nullptr;
  const bool ok = flushed && stream_->err == 0 && stream_->zlib_err.empty();
  if (!ok && error_.empty()) error_ = describe("cannot write");
  release();
  if (!ok) throw InputError(error_);
}

void DumpFile::close_quietly() noexcept {
  if (dumper_) pcap_dump_close(dumper_);
  dumper_ = nullptr;
  release();
}

void DumpFile::release() noexcept {
  if (pcap_) pcap_close(pcap_);
  pcap_ = nullptr;
  if (stream_ && !stream_->closed) {
    // Never handed to a FILE (or the FILE failed to open): close by hand.
    if (stream_->gz) gzclose(stream_->gz);
    if (stream_->fd >= 0 && !stream_->gz) ::close(stream_->fd);
  }
  delete stream_;
  stream_ = nullptr;
}

}  // namespace netloom::pcapdump
