// Capture readers (netloom_pcapio): every corpus file against numbers taken
// from tshark (tests/data/capture_expected.csv, made by
// tests/data/make_capture_expected.sh), plus synthetic files for byte order,
// timestamp precision, gzip, stdin, file lists, truncation and garbage.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"
#include "loopback_port.hpp"
#include "pcapio.hpp"

namespace fs = std::filesystem;
using namespace netloom::pcapio;
using netloom::ConfigError;
using netloom::InputError;

namespace {

using netloom::test::corpus_root;

#define REQUIRE_CORPUS()                                                                          \
  do {                                                                                            \
    if (!fs::is_directory(corpus_root() / "formats") || !fs::is_directory(corpus_root() / "dev")) \
      GTEST_SKIP() << "capture corpus not found at " << corpus_root()                             \
                   << " (set NETLOOM_CORPUS to the directory holding formats/ and dev/)";         \
  } while (0)

struct Rec {
  std::uint64_t ts = 0;
  std::uint32_t caplen = 0, wirelen = 0;
  std::uint16_t linktype = 0, iface = 0;
  std::string bytes;
  bool operator==(const Rec&) const = default;
};

struct Result {
  std::vector<Rec> recs;
  std::vector<std::string> errors;
  std::uint64_t cap_bytes() const {
    std::uint64_t b = 0;
    for (const auto& r : recs) b += r.caplen;
    return b;
  }
  std::string error() const { return errors.empty() ? std::string() : errors.front(); }
};

// Reads to the end, collecting every InputError (a FileSequence goes on after one).
void drain(PacketReader& r, Result& out) {
  for (int guard = 0; guard < 100000; ++guard) {
    RawRecord rec;
    try {
      ReadResult s = r.next(rec);
      if (s == ReadResult::end) return;
      if (s == ReadResult::idle) continue;
      EXPECT_TRUE(rec.caplen == 0 || rec.data != nullptr);
      out.recs.push_back({rec.ts_ns, rec.caplen, rec.wirelen, rec.linktype, rec.iface,
                          std::string(reinterpret_cast<const char*>(rec.data), rec.caplen)});
    } catch (const InputError& e) {
      out.errors.push_back(e.what());
    }
  }
  ADD_FAILURE() << "reader did not end";
}

Result read_path(const std::string& path, const ReaderOptions& opts = {}) {
  Result out;
  std::unique_ptr<PacketReader> r;
  try {
    r = open_capture(path, opts);
  } catch (const InputError& e) {
    out.errors.push_back(e.what());
    return out;
  }
  drain(*r, out);
  return out;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& data) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

void gzip_file(const fs::path& in, const fs::path& out) {
  std::string data = slurp(in);
  gzFile gz = gzopen(out.c_str(), "wb");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, data.data(), static_cast<unsigned>(data.size())), static_cast<int>(data.size()));
  gzclose(gz);
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "netloom_capture_XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }

 private:
  fs::path path_;
};

// --- a tiny classic-pcap writer for synthetic files (both byte orders) -------
struct Synth {
  std::uint32_t sec, frac, wirelen;
  std::string bytes;
};

void put32(std::string& s, std::uint32_t v, bool be) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(be ? v >> (24 - 8 * i) : v >> (8 * i)));
}
void put16(std::string& s, std::uint16_t v, bool be) {
  for (int i = 0; i < 2; ++i) s.push_back(static_cast<char>(be ? v >> (8 - 8 * i) : v >> (8 * i)));
}

std::string pcap_header(bool be, bool nano, std::uint32_t linktype, std::uint32_t snaplen = 65535) {
  std::string s;
  put32(s, nano ? 0xa1b23c4d : 0xa1b2c3d4, be);
  put16(s, 2, be);
  put16(s, 4, be);
  put32(s, 0, be);
  put32(s, 0, be);
  put32(s, snaplen, be);
  put32(s, linktype, be);
  return s;
}

std::string make_pcap(bool be, bool nano, std::uint32_t linktype, const std::vector<Synth>& pkts) {
  std::string s = pcap_header(be, nano, linktype);
  for (const auto& p : pkts) {
    put32(s, p.sec, be);
    put32(s, p.frac, be);
    put32(s, static_cast<std::uint32_t>(p.bytes.size()), be);
    put32(s, p.wirelen, be);
    s += p.bytes;
  }
  return s;
}

std::vector<Synth> synth_packets(bool nano) {
  std::vector<Synth> v;
  for (std::uint32_t i = 0; i < 5; ++i) {
    std::string b(60 + 10 * i, '\0');
    for (std::size_t j = 0; j < b.size(); ++j) b[j] = static_cast<char>(i * 31 + j);
    v.push_back({1600000000 + i, nano ? 123456789u + i : 123456u + i, 1500, b});
  }
  return v;
}

// --- the corpus table ---------------------------------------------------------
struct Expected {
  std::string file;
  std::uint64_t packets = 0, cap_bytes = 0;
  bool ok = true;
  std::string error;
};

std::vector<Expected> load_expected() {
  std::vector<Expected> rows;
  std::ifstream in(std::string(NETLOOM_SOURCE_ROOT) + "/tests/data/capture_expected.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::stringstream ss(line);
    std::string cell;
    while (std::getline(ss, cell, ',')) f.push_back(cell);
    if (f.size() < 4) continue;
    Expected e;
    e.file = f[0];
    e.packets = std::stoull(f[1]);
    e.cap_bytes = std::stoull(f[2]);
    e.ok = f[3] == "ok";
    e.error = f.size() > 4 ? f[4] : "";
    rows.push_back(e);
  }
  return rows;
}

class CorpusFile : public ::testing::TestWithParam<Expected> {};

TEST_P(CorpusFile, CountsBytesAndErrorsMatchTshark) {
  REQUIRE_CORPUS();
  const Expected& e = GetParam();
  const std::string path = (corpus_root() / e.file).string();
  Result r = read_path(path);
  EXPECT_EQ(r.recs.size(), e.packets);
  EXPECT_EQ(r.cap_bytes(), e.cap_bytes);
  if (e.ok) {
    EXPECT_TRUE(r.errors.empty()) << r.error();
  } else {
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.error().rfind(path + ": ", 0), 0u) << r.error();
    EXPECT_NE(r.error().find(e.error), std::string::npos) << r.error();
    if (e.error != "not a pcap or pcapng capture") {  // damage after valid records
      EXPECT_NE(r.error().find(": record " + std::to_string(e.packets + 1) + ": "), std::string::npos)
          << r.error();
    }
  }
}

std::string row_name(const ::testing::TestParamInfo<Expected>& info) {
  std::string n = info.param.file;
  for (auto& c : n)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Tshark, CorpusFile, ::testing::ValuesIn(load_expected()), row_name);

TEST(CaptureTable, CoversTheCorpus) {
  REQUIRE_CORPUS();
  auto rows = load_expected();
  std::set<std::string> listed;
  for (const auto& r : rows) listed.insert(r.file);
  std::size_t n = 0;
  for (const char* dir : {"formats", "formats/pcapng/le", "formats/pcapng/be", "dev"}) {
    for (const auto& ent : fs::directory_iterator(corpus_root() / dir)) {
      auto ext = ent.path().extension();
      if (ext != ".pcap" && ext != ".pcapng") continue;
      ++n;
      EXPECT_TRUE(listed.count(std::string(dir) + "/" + ent.path().filename().string()))
          << ent.path() << " is missing from capture_expected.csv: rerun make_capture_expected.sh";
    }
  }
  EXPECT_GE(n, 100u);
}

// --- exact error texts ----------------------------------------------------------
TEST(CaptureErrors, ExactTexts) {
  REQUIRE_CORPUS();
  const std::string f = (corpus_root() / "formats").string();
  EXPECT_EQ(read_path(f + "/malformed.pcap").error(),
            f + "/malformed.pcap: not a pcap or pcapng capture (starts with 74 68 69 73)");
  EXPECT_EQ(read_path(f + "/truncated_dns_2.pcap").error(),
            f + "/truncated_dns_2.pcap: record 2: truncated (header needs 16 bytes, 7 left)");
  for (const char* order : {"le", "be"}) {
    std::string p = f + "/pcapng/" + order + "/test901.pcapng";
    EXPECT_EQ(read_path(p).error(), p + ": record 2: unsupported (pcapng: unknown SHB version 2.0)");
  }
  EXPECT_EQ(read_path(f + "/no_such_file.pcap").error(),
            f + "/no_such_file.pcap: cannot open: No such file or directory");
  EXPECT_EQ(read_path(f).error(), f + ": cannot open: Is a directory");
}

TEST(CaptureErrors, EmptyAndShortFiles) {
  TempDir tmp;
  spit(tmp / "empty.pcap", "");
  spit(tmp / "two.pcap", "\xd4\xc3");
  spit(tmp / "hdr.pcap", pcap_header(false, false, 1).substr(0, 10));
  EXPECT_EQ(read_path((tmp / "empty.pcap").string()).error(),
            (tmp / "empty.pcap").string() + ": not a pcap or pcapng capture (empty file)");
  EXPECT_EQ(read_path((tmp / "two.pcap").string()).error(),
            (tmp / "two.pcap").string() + ": not a pcap or pcapng capture (only 2 bytes)");
  std::string e = read_path((tmp / "hdr.pcap").string()).error();
  EXPECT_EQ(e.rfind((tmp / "hdr.pcap").string() + ": unreadable capture header (", 0), 0u) << e;
}

// --- metadata: link types, interfaces, timestamps (values from tshark/capinfos) -
TEST(CaptureMeta, LinkTypesTimestampsInterfaces) {
  REQUIRE_CORPUS();
  auto c = corpus_root();
  Result be = read_path((c / "formats/be.pcap").string());  // big-endian, µs
  ASSERT_EQ(be.recs.size(), 5u);
  EXPECT_EQ(be.recs.front().ts, 3064714590000ull);
  EXPECT_EQ(be.recs.front().caplen, 42u);
  EXPECT_EQ(be.recs.front().wirelen, 60u);
  EXPECT_EQ(be.recs.back().ts, 3064896929000ull);
  EXPECT_EQ(be.recs.front().linktype, DLT_EN10MB);

  EXPECT_EQ(read_path((c / "dev/dlt_ppp.pcap").string()).recs.at(0).linktype, DLT_PPP);
  EXPECT_EQ(read_path((c / "formats/test_loopback.pcap").string()).recs.at(0).linktype, DLT_NULL);

  Result q = read_path((c / "dev/quic_interop_V.pcapng").string());  // ns resolution
  ASSERT_EQ(q.recs.size(), 246u);
  EXPECT_EQ(q.recs.front().ts, 1603816434507204968ull);
  EXPECT_EQ(q.recs.back().ts, 1603816444721572231ull);
  EXPECT_EQ(q.recs.front().linktype, DLT_EN10MB);

  Result raw = read_path((c / "dev/ossfuzz_seed_fake_traces_4.pcapng").string());
  ASSERT_FALSE(raw.recs.empty());
  EXPECT_EQ(raw.recs.front().linktype, 228);  // LINKTYPE_IPV4 (capinfos: rawip4)
  EXPECT_EQ(raw.recs.front().ts, 1675108086330330000ull);

  // Two interfaces, Ethernet and NULL (tshark: interface_id, encap_type).
  Result m = read_path((c / "formats/pcapng/le/test006.pcapng").string());
  ASSERT_EQ(m.recs.size(), 5u);
  std::vector<std::uint16_t> ifaces, lts;
  std::vector<std::uint32_t> caps, wires;
  for (const auto& r : m.recs) {
    ifaces.push_back(r.iface);
    lts.push_back(r.linktype);
    caps.push_back(r.caplen);
    wires.push_back(r.wirelen);
  }
  EXPECT_EQ(ifaces, (std::vector<std::uint16_t>{0, 1, 0, 0, 0}));
  EXPECT_EQ(lts, (std::vector<std::uint16_t>{DLT_EN10MB, DLT_NULL, DLT_EN10MB, DLT_EN10MB, DLT_EN10MB}));
  EXPECT_EQ(caps, (std::vector<std::uint32_t>{96, 168, 96, 96, 96}));
  EXPECT_EQ(wires, (std::vector<std::uint32_t>{314, 168, 342, 314, 342}));
  EXPECT_EQ(m.recs[0].ts, 1340954905298858000ull);
  EXPECT_EQ(m.recs[1].ts, 1340954905299858000ull);
  // Both byte orders of the pcapng test set give the same records.
  EXPECT_EQ(read_path((c / "formats/pcapng/be/test006.pcapng").string()).recs, m.recs);
}

// --- synthetic classic pcap: byte orders and precisions -------------------------
TEST(CaptureSynthetic, ByteOrdersAndPrecisions) {
  TempDir tmp;
  for (bool be : {false, true}) {
    for (bool nano : {false, true}) {
      auto pkts = synth_packets(nano);
      auto path = tmp / ("s" + std::to_string(be) + std::to_string(nano) + ".pcap");
      spit(path, make_pcap(be, nano, DLT_EN10MB, pkts));
      Result r = read_path(path.string());
      SCOPED_TRACE(path.string());
      ASSERT_TRUE(r.errors.empty()) << r.error();
      ASSERT_EQ(r.recs.size(), pkts.size());
      for (std::size_t i = 0; i < pkts.size(); ++i) {
        std::uint64_t want = pkts[i].sec * 1000000000ull + pkts[i].frac * (nano ? 1ull : 1000ull);
        EXPECT_EQ(r.recs[i].ts, want);
        EXPECT_EQ(r.recs[i].bytes, pkts[i].bytes);
        EXPECT_EQ(r.recs[i].wirelen, 1500u);
        EXPECT_EQ(r.recs[i].linktype, DLT_EN10MB);
        EXPECT_EQ(r.recs[i].iface, 0);
      }
    }
  }
}

// The test's writer agrees with libpcap's own dumper (native order).
TEST(CaptureSynthetic, WriterMatchesPcapDump) {
  TempDir tmp;
  for (bool nano : {false, true}) {
    auto pkts = synth_packets(nano);
    auto path = tmp / "dump.pcap";
    pcap_t* dead = pcap_open_dead_with_tstamp_precision(
        DLT_EN10MB, 65535, nano ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO);
    pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
    ASSERT_NE(d, nullptr);
    for (const auto& p : pkts) {
      pcap_pkthdr h{};
      h.ts.tv_sec = p.sec;
      h.ts.tv_usec = p.frac;
      h.caplen = static_cast<bpf_u_int32>(p.bytes.size());
      h.len = p.wirelen;
      pcap_dump(reinterpret_cast<u_char*>(d), &h, reinterpret_cast<const u_char*>(p.bytes.data()));
    }
    pcap_dump_close(d);
    pcap_close(dead);
    EXPECT_EQ(slurp(path), make_pcap(false, nano, DLT_EN10MB, pkts));
  }
}

// --- gzip -------------------------------------------------------------------------
TEST(CaptureGzip, SameRecordsAsPlain) {
  REQUIRE_CORPUS();
  TempDir tmp;
  for (const char* name : {"dev/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap", "dev/quic_interop_V.pcapng",
                           "formats/be.pcap", "formats/pcapng/be/test006.pcapng"}) {
    SCOPED_TRACE(name);
    fs::path src = corpus_root() / name;
    fs::path gz = tmp / (src.filename().string() + ".anything");  // any extension
    gzip_file(src, gz);
    Result plain = read_path(src.string());
    Result packed = read_path(gz.string());
    EXPECT_TRUE(packed.errors.empty()) << packed.error();
    ASSERT_FALSE(plain.recs.empty());
    EXPECT_EQ(packed.recs, plain.recs);
  }
}

TEST(CaptureGzip, TruncatedAndGarbageStreams) {
  REQUIRE_CORPUS();
  TempDir tmp;
  fs::path src = corpus_root() / "dev/android.pcap";
  gzip_file(src, tmp / "full.gz");
  std::string gz = slurp(tmp / "full.gz");
  Result plain = read_path(src.string());
  spit(tmp / "cut.gz", gz.substr(0, gz.size() / 2));
  Result cut = read_path((tmp / "cut.gz").string());
  ASSERT_EQ(cut.errors.size(), 1u);
  EXPECT_NE(cut.error().find(": record " + std::to_string(cut.recs.size() + 1) + ": "), std::string::npos)
      << cut.error();
  ASSERT_LT(cut.recs.size(), plain.recs.size());
  EXPECT_TRUE(std::equal(cut.recs.begin(), cut.recs.end(), plain.recs.begin()));

  std::string bad = gz;  // corrupt the deflate stream in the middle
  for (std::size_t i = bad.size() / 3; i < bad.size() / 3 + 64; ++i)
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
  spit(tmp / "bad.gz", bad);
  Result b = read_path((tmp / "bad.gz").string());
  EXPECT_EQ(b.errors.size(), 1u);
  EXPECT_TRUE(std::equal(b.recs.begin(), b.recs.end(), plain.recs.begin()));

  spit(tmp / "text.gz", "");
  gzFile g = gzopen((tmp / "text.gz").c_str(), "wb");
  gzputs(g, "hello, this is not a capture");
  gzclose(g);
  EXPECT_EQ(read_path((tmp / "text.gz").string()).error(),
            (tmp / "text.gz").string() +
                ": not a pcap or pcapng capture (gzip-compressed, starts with 68 65 6c 6c)");
}

// --- file lists -------------------------------------------------------------------
TEST(CaptureList, SplitTrimsAndDropsEmpty) {
  EXPECT_EQ(split_file_list(" a.pcap ,b.pcapng,, \tc ,"),
            (std::vector<std::string>{"a.pcap", "b.pcapng", "c"}));
  EXPECT_TRUE(split_file_list("  ").empty());
  EXPECT_EQ(split_file_list("-"), (std::vector<std::string>{"-"}));
}

TEST(CaptureList, SequenceIsConcatenationWithFileIndexInIface) {
  REQUIRE_CORPUS();
  auto c = corpus_root();
  std::vector<std::string> files = {(c / "formats/dns_icmp.pcap").string(),
                                    (c / "formats/pcapng/le/test006.pcapng").string(),
                                    (c / "dev/quic_interop_V.pcapng").string()};
  std::vector<Rec> want;
  for (std::size_t i = 0; i < files.size(); ++i)
    for (auto r : read_path(files[i]).recs) {
      r.iface = static_cast<std::uint16_t>(r.iface + (i << 8));
      want.push_back(r);
    }
  FileSequence seq(files, {});
  Result got;
  drain(seq, got);
  EXPECT_TRUE(got.errors.empty()) << got.error();
  EXPECT_EQ(got.recs, want);
  EXPECT_EQ(seq.files_ok(), 3u);
  EXPECT_EQ(seq.files_failed(), 0u);
  std::uint64_t total = 0;
  for (const auto& f : files) total += fs::file_size(f);
  EXPECT_EQ(seq.bytes_total(), total);
  EXPECT_EQ(seq.bytes_done(), total);
}

TEST(CaptureList, BadFilesAreReportedAndSkipped) {
  REQUIRE_CORPUS();
  auto c = corpus_root();
  std::vector<std::string> files = {
      (c / "formats/truncated_dns_2.pcap").string(), (c / "formats/missing.pcap").string(),
      (c / "formats/malformed.pcap").string(), (c / "formats/be.pcap").string()};
  FileSequence seq(files, {});
  Result got;
  drain(seq, got);
  ASSERT_EQ(got.errors.size(), 3u);
  EXPECT_EQ(got.errors[0], files[0] + ": record 2: truncated (header needs 16 bytes, 7 left)");
  EXPECT_EQ(got.errors[1], files[1] + ": cannot open: No such file or directory");
  EXPECT_EQ(got.errors[2], files[2] + ": not a pcap or pcapng capture (starts with 74 68 69 73)");
  ASSERT_EQ(got.recs.size(), 1u + 5u);  // tshark: 1 valid record + be.pcap's 5
  EXPECT_EQ(got.recs[0].iface, 0);
  EXPECT_EQ(got.recs[1].iface, 3 << 8);
  EXPECT_EQ(seq.files_ok(), 1u);
  EXPECT_EQ(seq.files_failed(), 3u);
}

// --- stdin --------------------------------------------------------------------------
Result read_stdin_fed_with(const std::string& data) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  int saved = dup(STDIN_FILENO);
  dup2(fds[0], STDIN_FILENO);
  close(fds[0]);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < data.size()) {
      ssize_t n = write(fds[1], data.data() + off, data.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    close(fds[1]);
  });
  Result r;
  std::unique_ptr<PacketReader> reader;
  try {
    reader = open_capture("-");
  } catch (const InputError& e) {
    r.errors.push_back(e.what());
  }
  dup2(saved, STDIN_FILENO);  // the reader holds its own descriptor
  close(saved);
  if (reader) drain(*reader, r);
  reader.reset();
  writer.join();
  return r;
}

TEST(CaptureStdin, PlainGzipAndPcapng) {
  REQUIRE_CORPUS();
  TempDir tmp;
  fs::path src = corpus_root() / "dev/FAX-Call-t38-CA-TDM-SIP-FB-1.pcap";  // 283 kB > pipe buffer
  Result plain = read_path(src.string());
  Result s = read_stdin_fed_with(slurp(src));
  EXPECT_TRUE(s.errors.empty()) << s.error();
  EXPECT_EQ(s.recs, plain.recs);

  gzip_file(src, tmp / "x.gz");
  Result z = read_stdin_fed_with(slurp(tmp / "x.gz"));
  EXPECT_TRUE(z.errors.empty()) << z.error();
  EXPECT_EQ(z.recs, plain.recs);

  // pcapng on stdin goes through libpcap's own pcapng reader (one link type).
  fs::path ng = corpus_root() / "dev/quic_interop_V.pcapng";
  Result n = read_stdin_fed_with(slurp(ng));
  EXPECT_TRUE(n.errors.empty()) << n.error();
  EXPECT_EQ(n.recs, read_path(ng.string()).recs);

  Result bad = read_stdin_fed_with("this is not a capture at all");
  EXPECT_EQ(bad.error().rfind("stdin: not a pcap or pcapng capture (", 0), 0u) << bad.error();

  Result cut = read_stdin_fed_with(slurp(src).substr(0, 1000));
  ASSERT_EQ(cut.errors.size(), 1u);
  EXPECT_EQ(cut.error().rfind("stdin: record " + std::to_string(cut.recs.size() + 1) + ": truncated (", 0),
            0u)
      << cut.error();
}

// --- truncation at every record boundary and inside headers / bodies -----------------
TEST(CaptureTruncation, ClassicPcapEveryCut) {
  REQUIRE_CORPUS();
  TempDir tmp;
  fs::path src = corpus_root() / "dev/ftp_failed.pcap";
  const std::string data = slurp(src);
  // Record boundaries from libpcap itself (the independent oracle here).
  std::vector<std::size_t> off{24};
  std::vector<std::uint32_t> caps;
  {
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t* p = pcap_open_offline(src.c_str(), eb);
    ASSERT_NE(p, nullptr) << eb;
    pcap_pkthdr* h;
    const u_char* d;
    while (pcap_next_ex(p, &h, &d) == 1) {
      caps.push_back(h->caplen);
      off.push_back(off.back() + 16 + h->caplen);
    }
    pcap_close(p);
  }
  ASSERT_EQ(off.back(), data.size());
  const std::vector<Rec> full = read_path(src.string()).recs;
  ASSERT_EQ(full.size(), caps.size());
  const std::string path = (tmp / "cut.pcap").string();
  auto prefix_ok = [&](const Result& r, std::size_t k) {
    return r.recs.size() == k && std::equal(r.recs.begin(), r.recs.end(), full.begin());
  };
  for (std::size_t k = 0; k < off.size(); ++k) {
    SCOPED_TRACE("k=" + std::to_string(k));
    spit(path, data.substr(0, off[k]));  // clean boundary: no error
    Result r = read_path(path);
    EXPECT_TRUE(r.errors.empty()) << r.error();
    EXPECT_TRUE(prefix_ok(r, k));
    if (k == caps.size()) break;
    spit(path, data.substr(0, off[k] + 7));  // inside the record header
    r = read_path(path);
    EXPECT_TRUE(prefix_ok(r, k));
    EXPECT_EQ(r.error(),
              path + ": record " + std::to_string(k + 1) + ": truncated (header needs 16 bytes, 7 left)");
    std::uint32_t half = caps[k] / 2;
    spit(path, data.substr(0, off[k] + 16 + half));  // inside the packet data
    r = read_path(path);
    EXPECT_TRUE(prefix_ok(r, k));
    EXPECT_EQ(r.error(), path + ": record " + std::to_string(k + 1) + ": truncated (packet data needs " +
                             std::to_string(caps[k]) + " bytes, " + std::to_string(half) + " left)");
  }
}

TEST(CaptureTruncation, PcapngCutsKeepTheValidPrefix) {
  REQUIRE_CORPUS();
  TempDir tmp;
  fs::path src = corpus_root() / "dev/dtls_mid_sessions.pcapng";
  const std::string data = slurp(src);
  const std::vector<Rec> full = read_path(src.string()).recs;
  ASSERT_FALSE(full.empty());
  const std::string path = (tmp / "cut.pcapng").string();
  for (std::size_t cut = 4; cut < data.size(); cut += 211) {
    SCOPED_TRACE("cut=" + std::to_string(cut));
    spit(path, data.substr(0, cut));
    Result r = read_path(path);
    ASSERT_LE(r.recs.size(), full.size());
    EXPECT_TRUE(std::equal(r.recs.begin(), r.recs.end(), full.begin()));
    EXPECT_LE(r.errors.size(), 1u);
    if (!r.errors.empty() && r.error().find("capture header") == std::string::npos) {
      EXPECT_NE(r.error().find(path + ": record " + std::to_string(r.recs.size() + 1) + ": "),
                std::string::npos)
          << r.error();
    }
  }
}

// --- garbage never crashes -----------------------------------------------------------
TEST(CaptureGarbage, RandomBytesAfterValidHeaders) {
  REQUIRE_CORPUS();
  TempDir tmp;
  std::mt19937 rng(20240607);
  const std::string ng = slurp(corpus_root() / "formats/pcapng/le/test006.pcapng");
  const std::string ng_head = ng.substr(0, 200);  // SHB + IDBs
  const std::string path = (tmp / "g.bin").string();
  std::size_t errors = 0, records = 0;
  for (int i = 0; i < 400; ++i) {
    std::string s;
    switch (i % 4) {
      case 0:
        s = pcap_header(i & 8, i & 16, (i & 32) ? 101 : 1);
        break;
      case 1:
        s = pcap_header(false, false, 1, static_cast<std::uint32_t>(rng()));
        break;
      case 2:
        s = ng_head;
        break;
      case 3:
        s = "";
        break;  // pure garbage
    }
    std::size_t n = rng() % 5000;
    for (std::size_t j = 0; j < n; ++j) s.push_back(static_cast<char>(rng()));
    if (i % 4 == 1 && s.size() > 40) {  // plausible small header, absurd caplen
      std::uint32_t caps[] = {0xffffffffu, 0x7fffffffu, 262145u, 0u};
      std::memcpy(&s[24 + 8], &caps[i % 4], 4);
    }
    spit(path, s);
    Result r = read_path(path);
    errors += r.errors.size();
    records += r.recs.size();
    for (const auto& rec : r.recs) EXPECT_LE(rec.caplen, 0x40000u * 4);
    EXPECT_LE(r.errors.size(), 1u);
  }
  EXPECT_GT(errors, 0u);
  (void)records;
}

// --- BPF filters ---------------------------------------------------------------------
TEST(CaptureFilter, OfflineFilterCountsMatchTshark) {
  REQUIRE_CORPUS();
  auto c = corpus_root();
  struct Case {
    const char* file;
    const char* bpf;
    std::size_t want;  // tshark -Y equivalent (see comment)
    std::size_t total;
  } cases[] = {
      {"formats/dns_icmp.pcap", "icmp", 22, 32},  // tshark -Y ip.proto==1
      {"formats/dns_icmp.pcap", "udp", 10, 32},   // tshark -Y ip.proto==17
      {"dev/quic_interop_V.pcapng", "ip and udp", 139, 246},
      {"dev/quic_interop_V.pcapng", "ip6", 86, 246},  // tshark -Y ipv6
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(std::string(k.file) + " / " + k.bpf);
    ReaderOptions o;
    o.filter = k.bpf;
    auto r = open_capture((c / k.file).string(), o);
    Result got;
    drain(*r, got);
    EXPECT_TRUE(got.errors.empty()) << got.error();
    EXPECT_EQ(got.recs.size(), k.want);
    EXPECT_EQ(r->filtered(), k.total - k.want);
  }
  // Mixed link types in one pcapng: compiled per link type.
  ReaderOptions o;
  o.filter = "ip";
  auto r = open_capture((c / "formats/pcapng/le/test006.pcapng").string(), o);
  Result got;
  drain(*r, got);
  EXPECT_TRUE(got.errors.empty()) << got.error();
  EXPECT_EQ(got.recs.size() + r->filtered(), 5u);
}

TEST(CaptureFilter, BadExpressionIsAConfigError) {
  EXPECT_NO_THROW(BpfFilter::check("tcp port 80"));
  try {
    BpfFilter::check("tcp prot 80");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("filter 'tcp prot 80': ", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("syntax error"), std::string::npos) << e.what();
  }
}

TEST(CaptureLive, UnknownInterfaceIsReported) {
  LiveOptions o;
  o.interface = "netloom-no-such-if0";
  try {
    open_live(o);
    FAIL() << "opened a non-existent interface";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("netloom-no-such-if0: cannot open: ", 0), 0u) << e.what();
  }
}

TEST(CaptureLive, LoopbackCapturesWhenPermitted) {
  netloom::test::LoopbackPort port;
  LiveOptions o;
  o.interface = "lo";
  o.filter = "udp port " + std::to_string(port.port());
  o.immediate = true;
  std::unique_ptr<PacketReader> r;
  try {
    r = open_live(o);
  } catch (const InputError& e) {
    GTEST_SKIP() << "no live capture here: " << e.what();
  }
  port.send(3);  // to ourselves
  int got = 0;
  for (int i = 0; i < 40 && got < 3; ++i) {
    RawRecord rec;
    if (r->next(rec) == ReadResult::record) {
      ++got;
      EXPECT_GT(rec.ts_ns, 1600000000ull * 1000000000ull);
    }
  }
  EXPECT_EQ(got, 3);
  auto d = r->drops();
  EXPECT_EQ(d.kernel, 0u);
}

}  // namespace

// stdin is often a live stream: every record that has arrived is delivered
// while the writer keeps the pipe open, plain or gzip-compressed; a gzip
// stream cut short is one error naming the cause.
TEST(CaptureStdin, StreamsRecordsAsTheyArrive) {
  REQUIRE_CORPUS();
  TempDir tmp;
  fs::path src = corpus_root() / "dev/android.pcap";  // 500 records, 141 kB
  gzip_file(src, tmp / "a.gz");
  for (const std::string& data : {slurp(src), slurp(tmp / "a.gz")}) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    int saved = dup(STDIN_FILENO);
    dup2(fds[0], STDIN_FILENO);
    close(fds[0]);
    std::atomic<bool> release{false};
    std::thread writer([&] {
      std::size_t off = 0;
      while (off < data.size()) {
        ssize_t n = write(fds[1], data.data() + off, data.size() - off);
        if (n <= 0) break;
        off += static_cast<std::size_t>(n);
      }
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // no EOF yet
      close(fds[1]);
    });
    auto reader = open_capture("-");
    dup2(saved, STDIN_FILENO);
    close(saved);
    RawRecord rec;
    int got = 0;
    while (got < 500 && reader->next(rec) == ReadResult::record) ++got;
    EXPECT_EQ(got, 500);  // all of them, before the writer closes the pipe
    release = true;
    EXPECT_EQ(reader->next(rec), ReadResult::end);
    writer.join();
  }
  std::string gz = slurp(tmp / "a.gz");
  Result cut = read_stdin_fed_with(gz.substr(0, gz.size() / 2));
  ASSERT_EQ(cut.errors.size(), 1u);
  EXPECT_NE(cut.error().find("corrupt gzip stream (unexpected end of file)"), std::string::npos)
      << cut.error();
}
