// Target: the capture readers (blocks/capture/pcapio: libpcap for pcap,
// libwiretap for pcapng, zlib for gzip) on a whole input file. Each input is
// read twice, the two ways netloom meets files:
//  - as a regular file (open_capture on /proc/self/fd/N of a memfd): the
//    seekable path, gzip through zlib's gzread;
//  - as a stream on stdin (a pipe holding the input): the non-seekable path
//    with netloom's own incremental gunzip.
// A quarter of the inputs are also read through an offline BPF filter.
// Every record goes into a small PacketBatch through fill() (so records that
// do not fit are left pending, as in PcapSource) and is decoded. A damaged
// file must end with one InputError, never a crash, and never go on after it.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "decode/decode.hpp"
#include "fuzz_check.hpp"
#include "pcapio.hpp"

namespace pcapio = netloom::pcapio;

namespace {

int g_memfd = -1;
std::string g_path;

void write_all(int fd, const std::uint8_t* data, std::size_t size) {
  while (size > 0) {
    const ssize_t w = ::write(fd, data, size);
    if (w <= 0) {
      std::perror("fuzz_capture: write");
      std::abort();
    }
    data += w;
    size -= static_cast<std::size_t>(w);
  }
}

// Reads everything: batches of at most 8 packets and 4 KiB of frames, the
// way PcapSource's loop does (a record that does not fit starts the next batch).
void read_all(pcapio::PacketReader& r, const std::string& name) {
  netloom::PacketBatch batch;
  pcapio::RawRecord pending;
  bool carry = false;  // `pending` did not fit the last batch: it opens the next one
  for (int round = 0; round < 1000000; ++round) {
    batch.clear();
    batch.buffer.reserve(4096);
    if (carry) {
      batch.buffer.reserve(pending.caplen);
      pcapio::append_record(batch, pending);
      carry = false;
    }
    pcapio::ReadResult res;
    try {
      res = r.fill(batch, 8, pending);
    } catch (const netloom::InputError& e) {
      // Names the file (and the record, except for a filter that cannot
      // apply to a link type: that names the filter and the link type).
      const std::string m = e.what();
      FUZZ_CHECK(m.rfind(name + ": record ", 0) == 0 || m.rfind(name + ": filter '", 0) == 0);
      // One error per damaged file: the reader has nothing more after it.
      pcapio::RawRecord rec;
      FUZZ_CHECK(r.next(rec) == pcapio::ReadResult::end);
      res = pcapio::ReadResult::end;
    }
    FUZZ_CHECK(res != pcapio::ReadResult::idle);  // files are never idle
    if (res == pcapio::ReadResult::record) {
      FUZZ_CHECK(pending.caplen > batch.room());
      carry = true;
    }
    for (netloom::Packet& p : batch.packets) {
      FUZZ_CHECK(p.caplen == 0 || p.data != nullptr);
      netloom::decode::decode_packet(p);
    }
    if (res == pcapio::ReadResult::end) return;
  }
  FUZZ_CHECK(!"a file that never ends");
}

void read_file(const std::string& path, const pcapio::ReaderOptions& opts = {}) {
  const std::string name = path == "-" ? "stdin" : path;
  std::unique_ptr<pcapio::PacketReader> r;
  try {
    r = pcapio::open_capture(path, opts);
  } catch (const netloom::InputError& e) {
    FUZZ_CHECK(std::string(e.what()).rfind(name + ": ", 0) == 0);  // the message names the input
    return;
  }
  read_all(*r, name);
}

void read_stdin(const std::uint8_t* data, std::size_t size) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) std::abort();
  (void)fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);  // may be refused: the default 64 KiB then
  const int capacity = fcntl(fds[1], F_GETPIPE_SZ);
  if (capacity < 0 || size > static_cast<std::size_t>(capacity)) {
    ::close(fds[0]);  // too big to hold without a writer thread: regular path only
    ::close(fds[1]);
    return;
  }
  write_all(fds[1], data, size);
  ::close(fds[1]);
  if (dup2(fds[0], STDIN_FILENO) < 0) std::abort();
  ::close(fds[0]);
  read_file("-");
}

}  // namespace

// libwiretap 4.0 (Debian 12) leaks 2 KiB buffers inside wtap_read() on some
// corrupt pcapng option lists: allocated and lost by its own pcapng reader,
// nothing netloom can free. The fast unwinder stops at glib's g_malloc (glib
// has no frame pointers), so the suppression names glib: netloom never
// allocates through glib itself, only libwiretap and libwsutil do. (The
// normal-path frees of netloom's wiretap reader stay covered by LeakSanitizer
// in the ASan test suite, test_capture.)
extern "C" const char* __lsan_default_suppressions() { return "leak:libglib-2.0.so\n"; }

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_memfd = memfd_create("fuzz_capture", MFD_CLOEXEC);
  if (g_memfd < 0) {
    std::perror("fuzz_capture: memfd_create");
    std::abort();
  }
  g_path = "/proc/self/fd/" + std::to_string(g_memfd);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (ftruncate(g_memfd, 0) != 0 || lseek(g_memfd, 0, SEEK_SET) != 0) std::abort();
  write_all(g_memfd, data, size);
  read_file(g_path);
  read_stdin(data, size);
  // A quarter of the inputs (by their last byte) also go through an offline
  // BPF filter: compiled per link type met, refused for link types it cannot
  // apply to (one error naming the file and record).
  if (size > 0 && (data[size - 1] & 3) == 0) {
    pcapio::ReaderOptions opts;
    opts.filter = "tcp or (udp and not port 53)";
    read_file(g_path, opts);
  }
  return 0;
}
