// libpcap half of netloom_pcapio: classic pcap files (plain, gzip through a
// FILE* cookie, stdin), live interfaces, BPF filters, the file sequence.
#include "pcapio.hpp"

#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "pcapio_detail.hpp"

namespace netloom::pcapio {

namespace detail {
std::string record_prefix(const std::string& name, std::uint64_t record) {
  return name + ": record " + std::to_string(record) + ": ";
}
}  // namespace detail

namespace {

std::string hex_bytes(const unsigned char* b, std::size_t n) {
  std::string s;
  char tmp[4];
  for (std::size_t i = 0; i < n; ++i) {
    std::snprintf(tmp, sizeof tmp, i ? " %02x" : "%02x", b[i]);
    s += tmp;
  }
  return s;
}

bool is_pcap_magic(const unsigned char* m) {
  static const unsigned char magics[][4] = {
      {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4},  // µs, both byte orders
      {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d},  // ns
      {0x34, 0xcd, 0xb2, 0xa1}, {0xa1, 0xb2, 0xcd, 0x34},  // Kuznetzov's modified pcap
  };
  for (const auto& g : magics)
    if (std::memcmp(g, m, 4) == 0) return true;
  return false;
}

bool is_pcapng_magic(const unsigned char* m) {
  return m[0] == 0x0a && m[1] == 0x0d && m[2] == 0x0d && m[3] == 0x0a;
}

std::string not_a_capture(const std::string& name, const unsigned char* m, std::size_t n,
                          const char* what = "") {
  std::string detail;
  if (n == 0)
    detail = std::string(what) + "empty file";
  else if (n < 4)
    detail = std::string(what) + "only " + std::to_string(n) + (n == 1 ? " byte" : " bytes");
  else
    detail = std::string(what) + "starts with " + hex_bytes(m, 4);
  return name + ": not a pcap or pcapng capture (" + detail + ")";
}

// Unsigned numbers out of libpcap's "tried to read X ..., only got Y".
bool parse_truncation(const char* msg, const char* kind, unsigned long& want, unsigned long& got) {
  char fmt[96];
  std::snprintf(fmt, sizeof fmt, "truncated dump file; tried to read %%lu %s, only got %%lu", kind);
  return std::sscanf(msg, fmt, &want, &got) == 2;
}

// libpcap's per-record error text, rephrased.
std::string describe_pcap_error(const char* msg) {
  unsigned long want = 0, got = 0;
  if (parse_truncation(msg, "header bytes", want, got))
    return "truncated (header needs " + std::to_string(want) + " bytes, " + std::to_string(got) + " left)";
  if (parse_truncation(msg, "captured bytes", want, got))
    return "truncated (packet data needs " + std::to_string(want) + " bytes, " + std::to_string(got) +
           " left)";
  return std::string("corrupt (") + msg + ")";
}

// ---------------------------------------------------------------- gzip cookie
struct GzCookie {
  gzFile gz = nullptr;
  std::string error;  // first zlib error seen
};

ssize_t gz_cookie_read(void* c, char* buf, size_t n) {
  auto* ck = static_cast<GzCookie*>(c);
  if (n > INT_MAX) n = INT_MAX;
  int r = gzread(ck->gz, buf, static_cast<unsigned>(n));
  if (r < 0) {
    int code = 0;
    const char* m = gzerror(ck->gz, &code);
    if (ck->error.empty()) ck->error = m ? m : "gzip read error";
    errno = EIO;
    return -1;
  }
  if (r == 0 && ck->error.empty()) {
    // zlib reports a cut-short stream as an error after returning the data.
    int code = 0;
    const char* m = gzerror(ck->gz, &code);
    if (code != Z_OK && code != Z_STREAM_END && m && *m) ck->error = m;
  }
  return r;
}

int gz_cookie_close(void* c) {
  auto* ck = static_cast<GzCookie*>(c);
  int r = ck->gz ? gzclose(ck->gz) : Z_OK;
  delete ck;
  return r == Z_OK ? 0 : EOF;
}

FILE* gz_as_file(GzCookie* ck) {
  cookie_io_functions_t fns{};
  fns.read = gz_cookie_read;
  fns.close = gz_cookie_close;
  return fopencookie(ck, "r", fns);
}

// ------------------------------------------------------------ offline reader
class PcapFileReader final : public PacketReader {
 public:
  PcapFileReader(pcap_t* p, std::string name, std::uint64_t total, GzCookie* gz, const ReaderOptions& opts,
                 std::unique_ptr<char[]> iobuf)
      : iobuf_(std::move(iobuf)),
        p_(p),
        name_(std::move(name)),
        total_(total),
        gz_(gz),
        iface_(opts.iface_base) {
    int dlt = pcap_datalink(p_);
    linktype_ = (dlt < 0 || dlt > 0xFFFE) ? kUnknownLinktype : static_cast<std::uint16_t>(dlt);
    if (!opts.filter.empty()) filter_ = std::make_unique<BpfFilter>(opts.filter, opts.snaplen);
  }
  ~PcapFileReader() override { pcap_close(p_); }

  // The hot loop of offline reading: no virtual call or record copy per packet.
  ReadResult fill(PacketBatch& batch, std::size_t max, RawRecord& pending) override {
    if (filter_ || finished_) return PacketReader::fill(batch, max, pending);
    while (batch.packets.size() < max) {
      pcap_pkthdr* h = nullptr;
      const u_char* d = nullptr;
      if (int rc = pcap_next_ex(p_, &h, &d); rc != 1) return failed(rc);
      ++records_;
      const std::uint64_t ts = h->ts.tv_sec < 0 ? 0
                                                : static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ull +
                                                      static_cast<std::uint64_t>(h->ts.tv_usec);
      if (h->caplen > batch.room()) {
        pending = RawRecord{d, ts, h->caplen, h->len, linktype_, iface_};
        return ReadResult::record;
      }
      Packet& p = batch.append_raw(d, h->caplen);  // decode_packet() sets the rest
      p.ts_ns = ts;
      p.wirelen = h->len;
      p.linktype = linktype_;
      p.iface = iface_;
    }
    return ReadResult::full;
  }

  ReadResult next(RawRecord& rec) override {
    if (finished_) return ReadResult::end;
    for (;;) {
      pcap_pkthdr* h = nullptr;
      const u_char* d = nullptr;
      int rc = pcap_next_ex(p_, &h, &d);
      if (rc == 1) {
        ++records_;
        rec.data = d;
        rec.ts_ns = h->ts.tv_sec < 0 ? 0
                                     : static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ull +
                                           static_cast<std::uint64_t>(h->ts.tv_usec);
        rec.caplen = h->caplen;
        rec.wirelen = h->len;
        rec.linktype = linktype_;
        rec.iface = iface_;
        if (filter_ && !detail::passes_filter(*filter_, rec, name_, finished_, filtered_)) continue;
        return ReadResult::record;
      }
      return failed(rc);
    }
  }

  // pcap_next_ex returned rc != 1: the clean end, or the error after the
  // last valid record.
  ReadResult failed(int rc) {
    finished_ = true;
    if (rc == PCAP_ERROR_BREAK) {
      // libpcap ends cleanly, but zlib may have hit a damaged stream.
      if (gz_ && !gz_->error.empty())
        throw InputError(detail::record_prefix(name_, records_ + 1) + "corrupt gzip stream (" + gz_->error +
                         ")");
      return ReadResult::end;
    }
    std::string why = (gz_ && !gz_->error.empty()) ? "corrupt gzip stream (" + gz_->error + ")"
                                                   : describe_pcap_error(pcap_geterr(p_));
    throw InputError(detail::record_prefix(name_, records_ + 1) + why);
  }

  std::uint64_t bytes_done() const override {
    if (gz_ && gz_->gz) return static_cast<std::uint64_t>(gzoffset(gz_->gz));
    FILE* f = pcap_file(p_);
    long pos = f ? ftell(f) : -1;
    return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
  }
  std::uint64_t bytes_total() const override { return total_; }
  std::uint64_t filtered() const override { return filtered_; }

 private:
  std::unique_ptr<char[]> iobuf_;  // the FILE's buffer: freed after pcap_close closed it
  pcap_t* p_;
  std::string name_;
  std::uint64_t total_;
  GzCookie* gz_;  // owned by the FILE* that pcap_close closes
  std::uint16_t iface_;
  std::uint16_t linktype_ = 0;
  std::unique_ptr<BpfFilter> filter_;
  std::uint64_t records_ = 0, filtered_ = 0;
  bool finished_ = false;
};

// stdio's buffer for capture files. glibc ignores the size given to setvbuf
// without a buffer (it keeps st_blksize, 4 KiB: one read() per 4 KiB), so
// the reader supplies its own.
constexpr std::size_t kReadBuffer = 1 << 20;

std::unique_ptr<char[]> read_buffer(FILE* f) {
  auto buf = std::make_unique_for_overwrite<char[]>(kReadBuffer);
  setvbuf(f, buf.get(), _IOFBF, kReadBuffer);
  return buf;
}

// `iobuf`: the buffer already given to f (a stream that was read from);
// null: f is fresh and gets one here.
std::unique_ptr<PacketReader> open_pcap_stream(FILE* f, const std::string& name, std::uint64_t total,
                                               GzCookie* gz, const ReaderOptions& opts,
                                               bool unknown_is_not_capture,
                                               std::unique_ptr<char[]> iobuf = nullptr) {
  if (!iobuf) iobuf = read_buffer(f);
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf);
  if (!p) {
    fclose(f);
    std::string e = errbuf;
    if (unknown_is_not_capture || e.find("unknown file format") != std::string::npos ||
        e.find("tried to read 4 file header bytes") != std::string::npos)
      throw InputError(name + ": not a pcap or pcapng capture (" + e + ")");
    throw InputError(name + ": unreadable capture header (" + e + ")");
  }
  return std::make_unique<PcapFileReader>(p, name, total, gz, opts, std::move(iobuf));
}

std::unique_ptr<PacketReader> open_gzip(const std::string& path, std::uint64_t size,
                                        const ReaderOptions& opts) {
  gzFile gz = gzopen(path.c_str(), "rb");
  if (!gz) throw InputError(path + ": cannot open: " + std::strerror(errno ? errno : ENOMEM));
  gzbuffer(gz, 256 * 1024);
  unsigned char m[4] = {0};
  int n = gzread(gz, m, 4);
  if (n < 0) {
    int code = 0;
    std::string e = gzerror(gz, &code);
    gzclose(gz);
    throw InputError(path + ": not a pcap or pcapng capture (gzip-compressed, unreadable: " + e + ")");
  }
  if (n == 4 && is_pcapng_magic(m)) {
    gzclose(gz);
    return detail::open_wiretap(path, path, size, opts);  // libwiretap reads .gz itself
  }
  if (n < 4 || !is_pcap_magic(m)) {
    gzclose(gz);
    throw InputError(not_a_capture(path, m, static_cast<std::size_t>(n), "gzip-compressed, "));
  }
  gzrewind(gz);
  auto* ck = new GzCookie{gz, {}};
  FILE* f = gz_as_file(ck);
  if (!f) {
    gzclose(gz);
    delete ck;
    throw InputError(path + ": cannot open: " + std::strerror(errno));
  }
  return open_pcap_stream(f, path, size, ck, opts, false);
}

// ------------------------------------------------------------- stdin cookie
// stdin is often a live stream (tcpdump -w - | netloom ...): reads must hand
// over whatever has arrived instead of waiting to fill a buffer, and a signal
// that interrupts a blocked read (a stop request) ends the input.
struct FdCookie {
  int fd = -1;
  unsigned char prefix[2] = {0, 0};  // the bytes read to recognise gzip
  std::size_t prefix_len = 0, prefix_pos = 0;
};

ssize_t fd_cookie_read(void* c, char* buf, size_t n) {
  auto* ck = static_cast<FdCookie*>(c);
  if (ck->prefix_pos < ck->prefix_len) {
    std::size_t k = std::min(n, ck->prefix_len - ck->prefix_pos);
    std::memcpy(buf, ck->prefix + ck->prefix_pos, k);
    ck->prefix_pos += k;
    return static_cast<ssize_t>(k);
  }
  ssize_t r = ::read(ck->fd, buf, n);
  if (r < 0 && errno == EINTR) return 0;
  return r;
}

int fd_cookie_close(void* c) {
  auto* ck = static_cast<FdCookie*>(c);
  int r = ::close(ck->fd);
  delete ck;
  return r == 0 ? 0 : EOF;
}

// gzip on stdin, decompressed as it arrives (zlib's gzread would wait to
// fill its buffer). Concatenated gzip members are read as one stream.
struct InflateCookie {
  FdCookie src;
  z_stream zs{};
  unsigned char in[64 * 1024];
  bool in_member = false;  // inside a gzip member: EOF now means cut short
  GzCookie status;         // error text for the reader (status.gz stays null)
};

ssize_t inflate_cookie_read(void* c, char* buf, size_t n) {
  auto* ck = static_cast<InflateCookie*>(c);
  z_stream& zs = ck->zs;
  zs.next_out = reinterpret_cast<Bytef*>(buf);
  zs.avail_out = static_cast<uInt>(std::min<size_t>(n, UINT_MAX));
  const uInt want = zs.avail_out;
  while (zs.avail_out == want) {
    if (zs.avail_in == 0) {
      ssize_t r = fd_cookie_read(&ck->src, reinterpret_cast<char*>(ck->in), sizeof ck->in);
      if (r < 0) return -1;
      if (r == 0) {
        if (ck->in_member && ck->status.error.empty()) ck->status.error = "unexpected end of file";
        return 0;
      }
      zs.next_in = ck->in;
      zs.avail_in = static_cast<uInt>(r);
    }
    ck->in_member = true;
    int ret = inflate(&zs, Z_NO_FLUSH);
    if (ret == Z_STREAM_END) {
      ck->in_member = false;
      inflateReset(&zs);
    } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
      if (ck->status.error.empty()) ck->status.error = zs.msg ? zs.msg : "gzip data error";
      errno = EIO;
      return -1;
    }
  }
  return static_cast<ssize_t>(want - zs.avail_out);
}

int inflate_cookie_close(void* c) {
  auto* ck = static_cast<InflateCookie*>(c);
  inflateEnd(&ck->zs);
  int r = ::close(ck->src.fd);
  delete ck;
  return r == 0 ? 0 : EOF;
}

// A stream that cannot seek (stdin, a FIFO, a character device), read from
// `fd` (owned from here on): plain pcap, pcapng through libpcap's own reader,
// or gzip.
std::unique_ptr<PacketReader> open_stream(int fd, const std::string& name, const ReaderOptions& opts) {
  auto* raw = new FdCookie{fd, {0, 0}, 0, 0};
  while (raw->prefix_len < 2) {
    ssize_t r = ::read(fd, raw->prefix + raw->prefix_len, 2 - raw->prefix_len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    raw->prefix_len += static_cast<std::size_t>(r);
  }
  if (raw->prefix_len == 2 && raw->prefix[0] == 0x1f && raw->prefix[1] == 0x8b) {
    auto* ck = new InflateCookie;
    ck->src = *raw;
    delete raw;
    if (inflateInit2(&ck->zs, 16 + MAX_WBITS) != Z_OK) {
      close(ck->src.fd);
      delete ck;
      throw InputError(name + ": cannot open: out of memory");
    }
    cookie_io_functions_t fns{};
    fns.read = inflate_cookie_read;
    fns.close = inflate_cookie_close;
    FILE* f = fopencookie(ck, "r", fns);
    if (!f) {
      inflateEnd(&ck->zs);
      close(ck->src.fd);
      delete ck;
      throw InputError(name + ": cannot open: " + std::strerror(errno));
    }
    return open_pcap_stream(f, name, 0, &ck->status, opts, true);
  }
  cookie_io_functions_t fns{};
  fns.read = fd_cookie_read;
  fns.close = fd_cookie_close;
  FILE* f = fopencookie(raw, "r", fns);
  if (!f) {
    close(fd);
    delete raw;
    throw InputError(name + ": cannot open: " + std::strerror(errno));
  }
  return open_pcap_stream(f, name, 0, nullptr, opts, true);
}

std::unique_ptr<PacketReader> open_stdin(const ReaderOptions& opts) {
  int fd = dup(STDIN_FILENO);
  if (fd < 0) throw InputError(std::string("stdin: cannot open: ") + std::strerror(errno));
  return open_stream(fd, "stdin", opts);
}

// ---------------------------------------------------------------- live reader
class LiveReader final : public PacketReader {
 public:
  LiveReader(pcap_t* p, std::string name) : p_(p), name_(std::move(name)) {
    int dlt = pcap_datalink(p_);
    linktype_ = (dlt < 0 || dlt > 0xFFFE) ? kUnknownLinktype : static_cast<std::uint16_t>(dlt);
    nano_ = pcap_get_tstamp_precision(p_) == PCAP_TSTAMP_PRECISION_NANO;
    fd_ = pcap_get_selectable_fd(p_);
  }
  ~LiveReader() override { pcap_close(p_); }

  ReadResult next(RawRecord& rec) override {
    for (int attempt = 0; attempt < 2; ++attempt) {
      pcap_pkthdr* h = nullptr;
      const u_char* d = nullptr;
      int rc = pcap_next_ex(p_, &h, &d);
      if (rc == 1) {
        rec.data = d;
        std::uint64_t frac = static_cast<std::uint64_t>(h->ts.tv_usec) * (nano_ ? 1 : 1000);
        rec.ts_ns = h->ts.tv_sec < 0 ? 0 : static_cast<std::uint64_t>(h->ts.tv_sec) * 1000000000ull + frac;
        rec.caplen = h->caplen;
        rec.wirelen = h->len;
        rec.linktype = linktype_;
        rec.iface = 0;
        return ReadResult::record;
      }
      if (rc == PCAP_ERROR_BREAK) return ReadResult::end;
      if (rc < 0) throw InputError(name_ + ": " + pcap_geterr(p_));
      if (attempt == 0) {  // nothing queued: wait a little for the socket
        if (fd_ >= 0) {
          pollfd pfd{fd_, POLLIN, 0};
          poll(&pfd, 1, 50);
        } else {
          usleep(10000);
        }
      }
    }
    return ReadResult::idle;
  }
  DropStats drops() override {
    pcap_stat st{};
    if (pcap_stats(p_, &st) != 0) return last_;
    last_.kernel = st.ps_drop;
    last_.interface = st.ps_ifdrop;
    return last_;
  }

 private:
  pcap_t* p_;
  std::string name_;
  std::uint16_t linktype_ = 0;
  bool nano_ = false;
  int fd_ = -1;
  DropStats last_;
};

std::uint64_t file_size(const std::string& path) {
  struct stat st {};
  if (path == "-" || stat(path.c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

}  // namespace

// ------------------------------------------------------------------ BpfFilter
struct BpfFilter::Prog {
  int linktype = -1;
  bpf_program prog{};
  bool ok = false;
  std::string error;
  ~Prog() {
    if (ok) pcap_freecode(&prog);
  }
};

BpfFilter::BpfFilter(std::string expression, std::uint32_t snaplen)
    : expr_(std::move(expression)), snaplen_(snaplen) {}
BpfFilter::~BpfFilter() = default;

namespace {
bool compile_for(int linktype, std::uint32_t snaplen, const std::string& expr, bpf_program& prog,
                 std::string& error) {
  pcap_t* dead = pcap_open_dead(linktype, static_cast<int>(snaplen));
  if (!dead) {
    error = "cannot create a pcap handle";
    return false;
  }
  bool ok = pcap_compile(dead, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
  if (!ok) error = pcap_geterr(dead);
  pcap_close(dead);
  return ok;
}
}  // namespace

void BpfFilter::check(const std::string& expression) {
  bpf_program prog{};
  std::string error;
  if (!compile_for(DLT_EN10MB, 262144, expression, prog, error))
    throw ConfigError("filter '" + expression + "': " + error);
  pcap_freecode(&prog);
}

bool BpfFilter::match(const RawRecord& rec) {
  if (rec.linktype == kUnknownLinktype) return false;  // nothing to filter on
  Prog* p = last_;
  if (!p || p->linktype != rec.linktype) {
    p = nullptr;
    for (auto& q : progs_)
      if (q->linktype == rec.linktype) p = q.get();
    if (!p) {
      auto q = std::make_unique<Prog>();
      q->linktype = rec.linktype;
      q->ok = compile_for(rec.linktype, snaplen_, expr_, q->prog, q->error);
      p = q.get();
      progs_.push_back(std::move(q));
    }
    last_ = p;
  }
  if (!p->ok) {
    const char* lt = pcap_datalink_val_to_name(rec.linktype);
    throw InputError("filter '" + expr_ + "' cannot be used on link type " +
                     (lt ? std::string(lt) : std::to_string(rec.linktype)) + ": " + p->error);
  }
  pcap_pkthdr h{};
  h.caplen = rec.caplen;
  h.len = rec.wirelen;
  return pcap_offline_filter(&p->prog, &h, rec.data) != 0;
}

// --------------------------------------------------------------- open_capture
std::unique_ptr<PacketReader> open_capture(const std::string& path, const ReaderOptions& opts) {
  if (path == "-") return open_stdin(opts);
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) throw InputError(path + ": cannot open: " + std::strerror(EISDIR));
  if (!S_ISREG(st.st_mode)) {  // FIFO, <(process substitution), device: no seeking back
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InputError(path + ": cannot open: " + std::strerror(errno));
    return open_stream(fd, path, opts);
  }
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw InputError(path + ": cannot open: " + std::strerror(errno));
  std::unique_ptr<char[]> iobuf = read_buffer(f);
  unsigned char m[4] = {0};
  std::size_t n = std::fread(m, 1, 4, f);
  if (n < 4 && std::ferror(f)) {
    int e = errno;
    std::fclose(f);
    throw InputError(path + ": cannot read: " + std::strerror(e));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b) {
    std::fclose(f);
    return open_gzip(path, size, opts);
  }
  if (n == 4 && is_pcap_magic(m)) {
    if (std::fseek(f, 0, SEEK_SET) != 0) {
      int e = errno;
      std::fclose(f);
      throw InputError(path + ": cannot read: " + std::strerror(e));
    }
    return open_pcap_stream(f, path, size, nullptr, opts, false, std::move(iobuf));
  }
  std::fclose(f);
  if (n == 4 && is_pcapng_magic(m)) return detail::open_wiretap(path, path, size, opts);
  throw InputError(not_a_capture(path, m, n));
}

// ---------------------------------------------------------------- open_live
std::unique_ptr<PacketReader> open_live(const LiveOptions& o) {
  char errbuf[PCAP_ERRBUF_SIZE] = {0};
  const std::string name = o.interface;
  pcap_t* p = pcap_create(o.interface.c_str(), errbuf);
  if (!p) throw InputError(name + ": cannot open: " + errbuf);
  pcap_set_snaplen(p, static_cast<int>(o.snaplen));
  pcap_set_promisc(p, o.promisc ? 1 : 0);
  pcap_set_timeout(p, o.timeout_ms);
  pcap_set_buffer_size(p, static_cast<int>(std::min<std::uint64_t>(o.buffer_size, INT_MAX)));
  pcap_set_immediate_mode(p, o.immediate ? 1 : 0);
  pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);  // falls back to µs if refused
  int rc = pcap_activate(p);
  if (rc < 0) {
    std::string why = pcap_statustostr(rc);
    std::string detail = pcap_geterr(p);
    pcap_close(p);
    if (!detail.empty() && detail != why) why += ": " + detail;
    throw InputError(name + ": cannot open: " + why);
  }
  if (!o.filter.empty()) {
    bpf_program prog{};
    if (pcap_compile(p, &prog, o.filter.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
      std::string e = pcap_geterr(p);
      pcap_close(p);
      throw ConfigError("filter '" + o.filter + "': " + e);
    }
    int s = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (s != 0) {
      std::string e = pcap_geterr(p);
      pcap_close(p);
      throw InputError(name + ": cannot set filter: " + e);
    }
  }
  if (pcap_setnonblock(p, 1, errbuf) != 0) {
    pcap_close(p);
    throw InputError(name + ": cannot set nonblocking mode: " + errbuf);
  }
  return std::make_unique<LiveReader>(p, name);
}

// -------------------------------------------------------------- FileSequence
FileSequence::FileSequence(std::vector<std::string> files, ReaderOptions opts)
    : files_(std::move(files)), opts_(std::move(opts)) {
  for (const auto& f : files_) {
    sizes_.push_back(file_size(f));
    total_bytes_ += sizes_.back();
  }
}
FileSequence::~FileSequence() = default;

void FileSequence::close_current() {
  if (cur_) filtered_ += cur_->filtered();
  cur_.reset();
  done_bytes_ += sizes_[index_];
  ++index_;
}

ReadResult PacketReader::fill(PacketBatch& batch, std::size_t max, RawRecord& pending) {
  while (batch.packets.size() < max) {
    ReadResult r = next(pending);
    if (r != ReadResult::record) return r;
    if (pending.caplen > batch.room()) return ReadResult::record;
    append_record(batch, pending);
  }
  return ReadResult::full;
}

// Runs `read` on the current file, opening the next one as each ends; a
// file's error is counted and thrown once, and the sequence goes on after it.
template <class Read>
ReadResult FileSequence::advance(Read&& read) {
  for (;;) {
    if (!cur_) {
      if (index_ >= files_.size()) return ReadResult::end;
      ReaderOptions o = opts_;
      o.iface_base = static_cast<std::uint16_t>((index_ & 0xFF) << 8);
      try {
        cur_ = open_capture(files_[index_], o);
      } catch (const InputError&) {
        ++files_failed_;
        close_current();
        throw;
      }
    }
    ReadResult r;
    try {
      r = read(*cur_);
    } catch (const InputError&) {
      ++files_failed_;
      close_current();
      throw;
    }
    if (r != ReadResult::end) return r;
    ++files_ok_;
    close_current();
  }
}

ReadResult FileSequence::fill(PacketBatch& batch, std::size_t max, RawRecord& pending) {
  return advance([&](PacketReader& r) { return r.fill(batch, max, pending); });
}

ReadResult FileSequence::next(RawRecord& rec) {
  return advance([&](PacketReader& r) { return r.next(rec); });
}

std::uint64_t FileSequence::bytes_done() const {
  return done_bytes_ + (cur_ ? std::min(cur_->bytes_done(), sizes_[index_]) : 0);
}

std::uint64_t FileSequence::filtered() const { return filtered_ + (cur_ ? cur_->filtered() : 0); }

std::vector<std::string> split_file_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= list.size()) {
    std::size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = list.substr(pos, comma - pos);
    const char* ws = " \t\r\n";
    std::size_t b = item.find_first_not_of(ws);
    if (b != std::string_view::npos) {
      std::size_t e = item.find_last_not_of(ws);
      out.emplace_back(item.substr(b, e - b + 1));
    }
    pos = comma + 1;
  }
  return out;
}

}  // namespace netloom::pcapio
