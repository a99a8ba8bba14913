// PDPI's on-disk cache of the compiled Hyperscan database: an entry is
// written once and loaded after, scans the same way, is keyed by every
// compile input, is never trusted when corrupt, is refused in a directory
// others can write to, and is off with cache_dir=none.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "pdpi_signatures.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

using Bytes = std::vector<std::uint8_t>;

// A fresh directory (0700), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "netloom-pdpi-cache-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, ec);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  fs::path path_;
};

// Sets an environment variable for a scope, restoring it after.
class EnvVar {
 public:
  EnvVar(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value, 1);
    else
      ::unsetenv(name);
  }
  ~EnvVar() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  EnvVar(const EnvVar&) = delete;
  EnvVar& operator=(const EnvVar&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::vector<fs::path> entries(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

std::vector<fs::path> hsdb_files(const fs::path& dir) {
  static const std::regex kName("pdpi-[0-9a-f]{64}\\.hsdb");
  std::vector<fs::path> out;
  for (const auto& p : entries(dir))
    if (std::regex_match(p.filename().string(), kName)) out.push_back(p);
  return out;
}

Bytes slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

void spit(const fs::path& p, const Bytes& b) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

pdpi::Dictionary shipped() { return pdpi::load(NETLOOM_PDPI_SIGNATURES); }

// Real payloads and the shipped signature each must hit ("-": none).
struct Probe {
  const char* what;
  Bytes payload;
  bool udp;
  const char* expect;
};

Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// `head` then `fill` up to n bytes.
Bytes padded(const Bytes& head, std::size_t n, std::uint8_t fill) {
  Bytes b(std::max(n, head.size()), fill);
  std::copy(head.begin(), head.end(), b.begin());
  return b;
}

std::vector<Probe> probes() {
  const Bytes dns = {0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0,   0, 0, 0, 0, 0, 3,
                     'w',  'w',  'w',  3,    'c',  'o',  'm', 0, 0, 1, 0, 1};
  const Bytes bt = padded(bytes(std::string("\x13") + "BitTorrent protocol"), 68, 0);
  const Bytes stun = padded({0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xa4, 0x42}, 28, 0x55);
  const Bytes quic = padded({0xc3, 0x00, 0x00, 0x00, 0x01, 0x08}, 1250, 0x9c);
  return {{"DNS query", dns, true, "dns"},
          {"BitTorrent handshake", bt, false, "bt-handshake"},
          {"STUN binding request", stun, true, "stun"},
          {"QUIC v1 Initial", quic, true, "quic-initial"},
          {"noise", bytes("hello, nothing to see here"), true, "-"}};
}

std::string hit(const std::shared_ptr<const pdpi::Database>& db, const Bytes& payload, bool udp) {
  pdpi::Scanner s(db);
  pdpi::PacketView v{payload.data(), static_cast<std::uint32_t>(payload.size()), udp, 0, 40000, 40001};
  const int i = s.match(v);
  return i < 0 ? "-" : db->dictionary().sigs[static_cast<std::size_t>(i)].name;
}

// Every probe hits what it should.
void expect_scans_right(const std::shared_ptr<const pdpi::Database>& db) {
  for (const Probe& p : probes()) EXPECT_EQ(hit(db, p.payload, p.udp), p.expect) << p.what;
}

std::shared_ptr<const pdpi::Database> build(pdpi::Dictionary d, const std::string& dir) {
  return std::make_shared<const pdpi::Database>(std::move(d), dir);
}

constexpr std::size_t kHeader = 80;  // magic, version, key, length, SHA-256 (pdpi_signatures.cpp)

}  // namespace

// 1. ------------------------------------------------ written once, then loaded

TEST(PdpiCache, FirstBuildWritesOneEntrySecondLoadsItAndScansTheSame) {
  TempDir dir;
  auto compiled = build(shipped(), dir.str());
  EXPECT_EQ(compiled->cache_result(), pdpi::CacheResult::stored) << compiled->cache_note();
  EXPECT_FALSE(compiled->from_cache());
  const auto files = hsdb_files(dir.path());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(entries(dir.path()).size(), 1u) << "a temporary file was left behind";
  EXPECT_EQ(fs::path(compiled->cache_file()), files[0]);
  const Bytes file = slurp(files[0]);
  ASSERT_GT(file.size(), kHeader);
  EXPECT_EQ(std::string(file.begin(), file.begin() + 4), "NLHS");

  auto loaded = build(shipped(), dir.str());
  EXPECT_TRUE(loaded->from_cache()) << loaded->cache_note();
  EXPECT_EQ(loaded->cache_file(), compiled->cache_file());
  EXPECT_EQ(hsdb_files(dir.path()).size(), 1u);
  EXPECT_EQ(slurp(files[0]), file) << "a loaded entry must not be rewritten";

  auto uncached = std::make_shared<const pdpi::Database>(shipped());
  EXPECT_EQ(uncached->cache_result(), pdpi::CacheResult::off);
  EXPECT_TRUE(uncached->cache_file().empty());
  for (const auto& db : {compiled, loaded, uncached}) expect_scans_right(db);
  // The whole dictionary, not only the probes: the same verdict everywhere.
  for (const Probe& p : probes()) EXPECT_EQ(hit(loaded, p.payload, p.udp), hit(uncached, p.payload, p.udp));
}

TEST(PdpiCache, MissingDirectoryIsCreatedPrivate) {
  TempDir top;
  const fs::path dir = top.path() / "a" / "netloom";
  auto db = build(shipped(), dir.string());
  EXPECT_EQ(db->cache_result(), pdpi::CacheResult::stored) << db->cache_note();
  ASSERT_TRUE(fs::is_directory(dir));
  EXPECT_EQ(fs::status(dir).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(hsdb_files(dir).size(), 1u);
}

// 2. ------------------------------------------------- keyed by every input

TEST(PdpiCache, AnyChangedSignatureIsANewEntryAndIsCompiled) {
  TempDir dir;
  const std::string head = "netloom-signatures 1\n";
  const std::string a = head + "a A udp any - /^abc/\nb B udp any - /^xyz/\n";
  const std::string edited = head + "a A udp any - /^abc/\nb B udp any - /^xyw/\n";  // one pattern
  const std::string flags = head + "a A udp any - /^abc/i\nb B udp any - /^xyz/\n";  // one flag
  const std::string order = head + "b B udp any - /^xyz/\na A udp any - /^abc/\n";   // the ids

  auto first = build(pdpi::parse(a, "a.sig"), dir.str());
  EXPECT_EQ(first->cache_result(), pdpi::CacheResult::stored);
  EXPECT_TRUE(build(pdpi::parse(a, "a.sig"), dir.str())->from_cache());

  auto changed = build(pdpi::parse(edited, "a.sig"), dir.str());
  EXPECT_EQ(changed->cache_result(), pdpi::CacheResult::stored) << "an edited dictionary must be compiled";
  EXPECT_NE(changed->cache_file(), first->cache_file());
  EXPECT_EQ(hsdb_files(dir.path()).size(), 2u);
  EXPECT_EQ(hit(changed, bytes("xyw..."), true), "b");
  EXPECT_EQ(hit(changed, bytes("xyz..."), true), "-");
  EXPECT_EQ(hit(build(pdpi::parse(a, "a.sig"), dir.str()), bytes("xyz..."), true), "b");

  auto caseless = build(pdpi::parse(flags, "a.sig"), dir.str());
  EXPECT_EQ(caseless->cache_result(), pdpi::CacheResult::stored);
  EXPECT_EQ(hit(caseless, bytes("ABC"), true), "a");
  auto reordered = build(pdpi::parse(order, "a.sig"), dir.str());
  EXPECT_EQ(reordered->cache_result(), pdpi::CacheResult::stored);
  EXPECT_EQ(hit(reordered, bytes("abc"), true), "a");
  EXPECT_EQ(hsdb_files(dir.path()).size(), 4u);

  // The file name is not the key's only guard: another dictionary's entry
  // under this one's name is refused (its header holds another key).
  fs::copy_file(changed->cache_file(), first->cache_file(), fs::copy_options::overwrite_existing);
  auto again = build(pdpi::parse(a, "a.sig"), dir.str());
  EXPECT_EQ(again->cache_result(), pdpi::CacheResult::replaced_invalid);
  EXPECT_NE(again->cache_note().find("key mismatch"), std::string::npos) << again->cache_note();
  EXPECT_EQ(hit(again, bytes("xyz..."), true), "b");
}

// 3. ----------------------------------------------- corrupt entries

namespace {

Bytes sha256(const std::uint8_t* p, std::size_t n) {
  Bytes d(32);
  unsigned len = 0;
  EVP_Digest(p, n, d.data(), &len, EVP_sha256(), nullptr);
  return d;
}

struct Corruption {
  const char* name;
  void (*apply)(const fs::path& entry, const Bytes& good);
};

const Corruption kCorruptions[] = {
    {"truncated to half", [](const fs::path& f, const Bytes& g) { fs::resize_file(f, g.size() / 2); }},
    {"truncated to its header", [](const fs::path& f, const Bytes&) { fs::resize_file(f, kHeader); }},
    {"empty", [](const fs::path& f, const Bytes&) { fs::resize_file(f, 0); }},
    {"one byte appended",
     [](const fs::path& f, const Bytes& g) {
       Bytes b = g;
       b.push_back(0);
       spit(f, b);
     }},
    {"bytes flipped in the middle",
     [](const fs::path& f, const Bytes& g) {
       Bytes b = g;
       for (std::size_t i = b.size() / 2; i < b.size() / 2 + 8; ++i) b[i] ^= 0xff;
       spit(f, b);
     }},
    {"one header byte flipped (format version)",
     [](const fs::path& f, const Bytes& g) {
       Bytes b = g;
       b[4] ^= 0x01;
       spit(f, b);
     }},
    {"garbage with the right name",
     [](const fs::path& f, const Bytes& g) {
       Bytes b(g.size());
       std::uint32_t x = 2463534242u;
       for (auto& c : b) {
         x ^= x << 13, x ^= x >> 17, x ^= x << 5;
         c = static_cast<std::uint8_t>(x);
       }
       spit(f, b);
     }},
    {"valid header and checksum over a garbage payload (Hyperscan must refuse it)",
     [](const fs::path& f, const Bytes& g) {
       Bytes b = g;
       for (std::size_t i = kHeader; i < b.size(); ++i) b[i] = static_cast<std::uint8_t>(i * 31 + 7);
       const Bytes sum = sha256(b.data() + kHeader, b.size() - kHeader);
       std::copy(sum.begin(), sum.end(), b.begin() + 48);
       spit(f, b);
     }},
    {"a symlink to a valid entry elsewhere",
     [](const fs::path& f, const Bytes& g) {
       const fs::path elsewhere = f.parent_path() / "elsewhere.bin";
       spit(elsewhere, g);
       fs::remove(f);
       fs::create_symlink(elsewhere, f);
     }},
};

}  // namespace

TEST(PdpiCache, CorruptEntryIsNeverTrustedAndIsRewritten) {
  for (const Corruption& c : kCorruptions) {
    SCOPED_TRACE(c.name);
    TempDir dir;
    const std::string entry = build(shipped(), dir.str())->cache_file();
    ASSERT_FALSE(entry.empty());
    const Bytes good = slurp(entry);
    c.apply(entry, good);

    auto db = build(shipped(), dir.str());
    EXPECT_EQ(db->cache_result(), pdpi::CacheResult::replaced_invalid);
    EXPECT_FALSE(db->from_cache());
    EXPECT_FALSE(db->cache_note().empty());
    expect_scans_right(db);

    // Rewritten as a valid regular file, which the next build loads.
    EXPECT_FALSE(fs::is_symlink(entry));
    EXPECT_EQ(fs::file_size(entry), good.size());
    auto next = build(shipped(), dir.str());
    EXPECT_TRUE(next->from_cache()) << next->cache_note();
    expect_scans_right(next);
    EXPECT_EQ(hsdb_files(dir.path()).size(), 1u);
  }
}

// 4. ------------------------------------ a directory others can write to

TEST(PdpiCache, DirectoryWritableByOthersIsRefused) {
  for (auto extra :
       {fs::perms::group_write, fs::perms::others_write, fs::perms::group_all | fs::perms::others_all}) {
    TempDir dir;
    fs::permissions(dir.path(), fs::perms::owner_all | extra);
    auto db = build(shipped(), dir.str());
    EXPECT_EQ(db->cache_result(), pdpi::CacheResult::unusable);
    EXPECT_NE(db->cache_note().find("refused"), std::string::npos) << db->cache_note();
    EXPECT_TRUE(db->cache_file().empty());
    EXPECT_TRUE(entries(dir.path()).empty()) << "nothing may be written to a refused directory";
    expect_scans_right(db);
  }
}

TEST(PdpiCache, PlantedEntryInARefusedDirectoryIsNotLoaded) {
  TempDir good, shared;
  const fs::path entry = build(shipped(), good.str())->cache_file();
  fs::copy_file(entry, shared.path() / entry.filename());
  fs::permissions(shared.path(), fs::perms::owner_all | fs::perms::others_write);
  auto db = build(shipped(), shared.str());
  EXPECT_FALSE(db->from_cache());
  EXPECT_EQ(db->cache_result(), pdpi::CacheResult::unusable);
}

TEST(PdpiCache, UnusableDirectoryCompilesInstead) {
  TempDir top;
  const fs::path file = top.path() / "a-file";
  spit(file, bytes("x"));
  auto db = build(shipped(), file.string());  // not a directory
  EXPECT_EQ(db->cache_result(), pdpi::CacheResult::unusable);
  EXPECT_FALSE(db->cache_note().empty());
  expect_scans_right(db);
  if (::geteuid() != 0) {  // root writes anyway
    TempDir ro;
    fs::permissions(ro.path(), fs::perms::owner_read | fs::perms::owner_exec);
    auto db2 = build(shipped(), ro.str());
    EXPECT_EQ(db2->cache_result(), pdpi::CacheResult::unusable);
    EXPECT_NE(db2->cache_note().find("cannot create"), std::string::npos) << db2->cache_note();
    expect_scans_right(db2);
  }
}

// 5. -------------------------------------- where, and cache_dir=none

TEST(PdpiCache, ResolvesTheDirectory) {
  EnvVar n("NETLOOM_CACHE_DIR", nullptr), x("XDG_CACHE_HOME", nullptr), h("HOME", nullptr);
  EXPECT_EQ(pdpi::resolve_cache_dir("none"), "");
  EXPECT_EQ(pdpi::resolve_cache_dir("/some/dir"), "/some/dir");
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "");  // nothing set: no cache
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "/home/u/.cache/netloom");
  ::setenv("XDG_CACHE_HOME", "relative", 1);  // ignored (XDG: absolute only)
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "/home/u/.cache/netloom");
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "/xdg/netloom");
  ::setenv("NETLOOM_CACHE_DIR", "/nl", 1);
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "/nl");
  EXPECT_EQ(pdpi::resolve_cache_dir("none"), "");
  EXPECT_EQ(pdpi::resolve_cache_dir("/p"), "/p");
  ::setenv("NETLOOM_CACHE_DIR", "none", 1);
  EXPECT_EQ(pdpi::resolve_cache_dir(""), "");
}

namespace {

test::PluginFile& pdpi_plugin() {
  static test::PluginFile p("netloom_pdpi.so");
  return p;
}

}  // namespace

TEST(PdpiCacheBlock, CacheDirNoneWritesNothing) {
  TempDir dir;
  EnvVar env("NETLOOM_CACHE_DIR", dir.str().c_str());
  {
    test::FakeContext ctx;
    auto b = test::make_block(pdpi_plugin().factory(), ctx, {{"cache_dir", std::string("none")}});
    EXPECT_TRUE(entries(dir.path()).empty());
    EXPECT_TRUE(ctx.logs.empty());
  }
  // The same block with the default uses $NETLOOM_CACHE_DIR: once written, then loaded, silently.
  for (int run = 0; run < 2; ++run) {
    test::FakeContext ctx;
    auto b = test::make_block(pdpi_plugin().factory(), ctx);
    EXPECT_EQ(hsdb_files(dir.path()).size(), 1u);
    EXPECT_TRUE(ctx.logs.empty()) << ctx.logs.front();
  }
}

TEST(PdpiCacheBlock, RefusedDirectoryIsLoggedOnceAndTheRunGoesOn) {
  TempDir dir;
  fs::permissions(dir.path(), fs::perms::owner_all | fs::perms::others_all);
  test::FakeContext ctx;
  auto b = test::make_block(pdpi_plugin().factory(), ctx, {{"cache_dir", dir.str()}});
  ASSERT_EQ(ctx.logs.size(), 1u);
  EXPECT_NE(ctx.logs[0].find("refused"), std::string::npos) << ctx.logs[0];
  EXPECT_TRUE(entries(dir.path()).empty());
}
