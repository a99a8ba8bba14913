#include "pdpi_signatures.hpp"

#include <fcntl.h>
#include <hs.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace netloom::pdpi {
namespace {

[[noreturn]] void fail(const std::string& file, unsigned line, const std::string& what) {
  throw ConfigError(file + ":" + std::to_string(line) + ": " + what);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

template <class T>
bool to_num(std::string_view s, T& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

struct LineParser {
  const std::string& file;
  unsigned line;

  template <class T>
  T number(std::string_view text, std::string_view what, T lo, T hi) {
    T v{};
    if (!to_num(text, v) || v < lo || v > hi)
      fail(file, line,
           "bad " + std::string(what) + " '" + std::string(text) + "' (expected " + std::to_string(lo) +
               ".." + std::to_string(hi) + ")");
    return v;
  }

  void codes(std::string_view text, Signature& s) {
    if (text == "-") return;
    for (auto item : split(text, ',')) {
      auto eq = item.find('=');
      std::string_view key = item.substr(0, eq),
                       val = eq == std::string_view::npos ? "" : item.substr(eq + 1);
      if (key == "udp" && eq != std::string_view::npos)
        s.udp_type = number<std::uint16_t>(val, "udp type", 1, 31);
      else if (key == "con" && eq != std::string_view::npos)
        s.con_type = number<std::uint32_t>(val, "con_t bits", 1, 0x7FFFFFFF);
      else if (key == "p2p" && eq != std::string_view::npos)
        s.p2p_type = number<std::uint16_t>(val, "p2p type", 100, 9999);
      else
        fail(file, line, "unknown code '" + std::string(item) + "' (expected udp=N, con=N, p2p=N or -)");
    }
  }

  void option(std::string_view item, Signature& s) {
    auto eq = item.find('=');
    if (eq == std::string_view::npos) fail(file, line, "unknown option '" + std::string(item) + "'");
    std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "minlen") {
      s.min_len = number<std::uint32_t>(val, "minlen", 0, 65535);
    } else if (key == "maxlen") {
      s.max_len = number<std::uint32_t>(val, "maxlen", 0, 65535);
    } else if (key == "len") {
      for (auto v : split(val, '|')) s.lens.push_back(number<std::uint32_t>(v, "len", 0, 65535));
    } else if (key == "port") {
      for (auto v : split(val, '|')) s.ports.push_back(number<std::uint16_t>(v, "port", 0, 65535));
    } else if (key == "lenmod") {
      auto parts = split(val, ':');
      if (parts.size() != 2) fail(file, line, "lenmod must be BASE:STEP, not '" + std::string(val) + "'");
      s.lenmod_base = number<std::uint32_t>(parts[0], "lenmod base", 0, 65535);
      s.lenmod_step = number<std::uint32_t>(parts[1], "lenmod step", 1, 65535);
    } else if (key == "noport") {
      for (auto v : split(val, '|')) s.noports.push_back(number<std::uint16_t>(v, "port", 0, 65535));
    } else if (key == "lenfield") {
      // OFFSET:be|le:DELTA[|DELTA...]
      auto parts = split(val, ':');
      if (parts.size() != 3 || (parts[1] != "be" && parts[1] != "le"))
        fail(file, line, "lenfield must be OFFSET:be|le:DELTA[|DELTA...], not '" + std::string(val) + "'");
      LenField f;
      f.offset = number<std::uint16_t>(parts[0], "lenfield offset", 0, 65533);
      f.little = parts[1] == "le";
      for (auto d : split(parts[2], '|')) f.deltas.push_back(number<int>(d, "lenfield delta", -65535, 65535));
      s.lenfields.push_back(std::move(f));
    } else {
      fail(file, line, "unknown option '" + std::string(item) + "'");
    }
  }
};

}  // namespace

Dictionary parse(std::string_view text, const std::string& file) {
  Dictionary d;
  d.file = file;
  std::map<std::string, unsigned, std::less<>> names;
  unsigned lineno = 0;
  bool header = false;
  while (!text.empty() || !header) {
    auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++lineno;
    std::string_view line = trim(raw);
    if (!header) {
      // The first line names the format and its version.
      std::istringstream hs{std::string(line)};
      std::string magic, version, extra;
      hs >> magic >> version >> extra;
      int v = 0;
      if (magic != "netloom-signatures" || !to_num(std::string_view(version), v) || !extra.empty())
        fail(file, lineno, "expected header 'netloom-signatures " + std::to_string(kFormatVersion) + "'");
      if (v != kFormatVersion)
        fail(file, lineno,
             "unsupported signature format version " + version + " (this netloom reads " +
                 std::to_string(kFormatVersion) + ")");
      header = true;
      continue;
    }
    if (line.empty() || line.front() == '#') continue;

    // Fields before the pattern, separated by blanks; the pattern is the rest of the line.
    std::vector<std::string_view> fields;
    std::string_view rest = line, pattern;
    while (!rest.empty()) {
      if (rest.front() == '/') {
        pattern = rest;
        break;
      }
      std::size_t end = 0;
      while (end < rest.size() && !is_space(rest[end])) ++end;
      fields.push_back(rest.substr(0, end));
      rest = trim(rest.substr(end));
    }
    LineParser lp{file, lineno};
    if (fields.size() < 5) fail(file, lineno, "expected NAME APP L4 DIR CODES [OPTIONS] /REGEX/FLAGS");
    Signature s;
    s.line = lineno;
    s.name = fields[0];
    s.app = fields[1];
    if (auto it = names.find(s.name); it != names.end())
      fail(file, lineno,
           "duplicate signature name '" + s.name + "' (first on line " + std::to_string(it->second) + ")");
    if (fields[2] == "tcp")
      s.l4 = L4::tcp;
    else if (fields[2] == "udp")
      s.l4 = L4::udp;
    else if (fields[2] == "any")
      s.l4 = L4::any;
    else
      fail(file, lineno, "l4 must be tcp, udp or any, not '" + std::string(fields[2]) + "'");
    if (fields[3] == "any")
      s.dir = Dir::any;
    else if (fields[3] == "c2s")
      s.dir = Dir::c2s;
    else if (fields[3] == "s2c")
      s.dir = Dir::s2c;
    else
      fail(file, lineno, "direction must be any, c2s or s2c, not '" + std::string(fields[3]) + "'");
    lp.codes(fields[4], s);
    for (std::size_t i = 5; i < fields.size(); ++i) lp.option(fields[i], s);
    if (pattern.empty()) fail(file, lineno, "missing /REGEX/FLAGS");
    auto close = pattern.rfind('/');
    if (close == 0) fail(file, lineno, "pattern must end with /FLAGS");
    s.pattern = pattern.substr(1, close - 1);
    s.flags_text = pattern.substr(close + 1);
    if (s.pattern.empty()) fail(file, lineno, "empty pattern");
    s.hs_flags = HS_FLAG_SINGLEMATCH;
    for (char c : s.flags_text) {
      if (c == 'i')
        s.hs_flags |= HS_FLAG_CASELESS;
      else if (c == 's')
        s.hs_flags |= HS_FLAG_DOTALL;
      else if (c == 'm')
        s.hs_flags |= HS_FLAG_MULTILINE;
      else
        fail(file, lineno, std::string("unknown regex flag '") + c + "' (allowed: i, s, m)");
    }
    names.emplace(s.name, lineno);
    d.sigs.push_back(std::move(s));
  }
  if (d.sigs.empty()) fail(file, lineno, "no signatures");
  return d;
}

Dictionary load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot open signature file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path);
}

namespace {

// Exactly what hs_compile_multi gets; the cache key hashes the same arrays.
struct CompileInput {
  std::vector<const char*> exprs;
  std::vector<unsigned> flags, ids;
};

constexpr unsigned kMode = HS_MODE_BLOCK;

CompileInput compile_input(const Dictionary& d) {
  const std::size_t n = d.sigs.size();
  CompileInput in{std::vector<const char*>(n), std::vector<unsigned>(n), std::vector<unsigned>(n)};
  for (std::size_t i = 0; i < n; ++i) {
    in.exprs[i] = d.sigs[i].pattern.c_str();
    in.flags[i] = d.sigs[i].hs_flags;
    in.ids[i] = static_cast<unsigned>(i);
  }
  return in;
}

// ---- on-disk cache of the compiled database (docs/pdpi.md) ----
//
// File <dir>/pdpi-<hex key>.hsdb: an 80-byte header, then the bytes of
// hs_serialize_database. Header: "NLHS", format version (u32 LE), the key
// (32 bytes), payload length (u64 LE), SHA-256 of the payload (32 bytes).

using Digest = std::array<unsigned char, 32>;
constexpr char kCacheMagic[4] = {'N', 'L', 'H', 'S'};
constexpr std::uint32_t kCacheVersion = 1;
constexpr std::size_t kCacheHeader = 4 + 4 + 32 + 8 + 32;
constexpr std::uint64_t kCacheMaxPayload = std::uint64_t{1} << 30;

void put_le(unsigned char* out, std::uint64_t v, unsigned bytes) {
  for (unsigned i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(v >> (8 * i));
}

std::uint64_t get_le(const unsigned char* in, unsigned bytes) {
  std::uint64_t v = 0;
  for (unsigned i = 0; i < bytes; ++i) v |= std::uint64_t{in[i]} << (8 * i);
  return v;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!ctx_ || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1)
      throw std::runtime_error("OpenSSL SHA-256 unavailable");
  }
  Sha256& bytes(const void* p, std::size_t n) {
    if (n && EVP_DigestUpdate(ctx_.get(), p, n) != 1) throw std::runtime_error("OpenSSL SHA-256 failed");
    return *this;
  }
  Sha256& u64(std::uint64_t v) {
    unsigned char b[8];
    put_le(b, v, 8);
    return bytes(b, sizeof b);
  }
  // Length-prefixed, so that concatenations cannot collide.
  Sha256& str(std::string_view s) { return u64(s.size()).bytes(s.data(), s.size()); }
  Digest done() {
    Digest d{};
    unsigned len = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), d.data(), &len) != 1 || len != d.size())
      throw std::runtime_error("OpenSSL SHA-256 failed");
    return d;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx_;
};

// Every input of hs_compile_multi, the mode, the Hyperscan version and the
// platform the database is compiled for.
Digest cache_key(const CompileInput& in) {
  hs_platform_info_t plat{};
  if (hs_populate_platform(&plat) != HS_SUCCESS) throw std::runtime_error("hs_populate_platform failed");
  Sha256 h;
  h.str("netloom-pdpi-hsdb").u64(kCacheVersion);
  h.u64(in.exprs.size());
  for (std::size_t i = 0; i < in.exprs.size(); ++i) h.str(in.exprs[i]).u64(in.flags[i]).u64(in.ids[i]);
  h.u64(kMode).str(hs_version());
  h.u64(plat.tune).u64(plat.cpu_features).u64(plat.reserved1).u64(plat.reserved2);
  return h.done();
}

std::string hex(const Digest& d) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (unsigned char c : d) {
    s += kDigits[c >> 4];
    s += kDigits[c & 15];
  }
  return s;
}

std::string errno_text(int e) { return std::strerror(e); }

// Whether `dir` may hold the cache: created 0700 when missing, then it must
// be a directory owned by the effective user and not writable by group or
// others (Hyperscan runs whatever database it is given). "" when usable.
std::string prepare_dir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return "cannot access cache directory '" + dir + "': " + errno_text(errno);
    for (std::size_t pos = 0; pos != std::string::npos;) {
      pos = dir.find('/', pos + 1);
      const std::string prefix = dir.substr(0, pos);
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
        return "cannot create cache directory '" + prefix + "': " + errno_text(errno);
    }
    if (::stat(dir.c_str(), &st) != 0)
      return "cannot access cache directory '" + dir + "': " + errno_text(errno);
  }
  if (!S_ISDIR(st.st_mode)) return "cache directory '" + dir + "' is not a directory";
  if (st.st_uid != ::geteuid()) return "refused cache directory '" + dir + "': not owned by the current user";
  if (st.st_mode & (S_IWGRP | S_IWOTH))
    return "refused cache directory '" + dir + "': writable by group or others";
  return {};
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

// The database of a valid entry, or nullptr: `why` is empty when there is
// no entry, else what is wrong with it.
hs_database_t* load_entry(const std::string& path, const Digest& key, std::string& why) {
  Fd f{::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno != ENOENT) why = "cannot open: " + errno_text(errno);
    return nullptr;
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) {
    why = "cannot stat: " + errno_text(errno);
    return nullptr;
  }
  if (!S_ISREG(st.st_mode) || st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    why = "not a regular file of the current user, writable by it only";
    return nullptr;
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < kCacheHeader + 1 || size > kCacheHeader + kCacheMaxPayload) {
    why = "bad file size " + std::to_string(size);
    return nullptr;
  }
  std::vector<unsigned char> buf(size);
  for (std::size_t got = 0; got < buf.size();) {
    const ssize_t r = ::read(f.fd, buf.data() + got, buf.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      why = "short read";
      return nullptr;
    }
    got += static_cast<std::size_t>(r);
  }
  const unsigned char* h = buf.data();
  const std::uint64_t len = get_le(h + 40, 8);
  if (std::memcmp(h, kCacheMagic, 4) != 0) {
    why = "bad magic";
  } else if (get_le(h + 4, 4) != kCacheVersion) {
    why = "format version " + std::to_string(get_le(h + 4, 4)) + " (this netloom writes " +
          std::to_string(kCacheVersion) + ")";
  } else if (std::memcmp(h + 8, key.data(), key.size()) != 0) {
    why = "key mismatch";
  } else if (len != size - kCacheHeader) {
    why = "length " + std::to_string(len) + " does not match the file size";
  } else if (const Digest sum = Sha256().bytes(h + kCacheHeader, len).done();
             std::memcmp(sum.data(), h + 48, sum.size()) != 0) {
    why = "checksum mismatch";
  }
  if (!why.empty()) return nullptr;
  const char* payload = reinterpret_cast<const char*>(h + kCacheHeader);
  std::size_t want = 0, got = 0;
  hs_database_t* db = nullptr;
  if (hs_serialized_database_size(payload, len, &want) != HS_SUCCESS ||
      hs_deserialize_database(payload, len, &db) != HS_SUCCESS || !db) {
    why = "rejected by hs_deserialize_database";
    return nullptr;
  }
  char* info = nullptr;
  const bool ok = hs_database_size(db, &got) == HS_SUCCESS && got == want &&
                  hs_database_info(db, &info) == HS_SUCCESS && info && std::strstr(info, "Mode: BLOCK");
  std::free(info);  // NOLINT: Hyperscan's default misc allocator is malloc
  if (!ok) {
    hs_free_database(db);
    why = "not a block-mode database of the expected size";
    return nullptr;
  }
  return db;
}

bool write_all(int fd, const void* p, std::size_t n) {
  const auto* b = static_cast<const unsigned char*>(p);
  while (n) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    b += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

// Writes the entry atomically (temp file in `dir`, then rename). "" on success.
std::string store_entry(const std::string& dir, const std::string& path, const Digest& key,
                        const hs_database_t* db) {
  char* raw = nullptr;
  std::size_t len = 0;
  if (hs_serialize_database(db, &raw, &len) != HS_SUCCESS || !raw) return "hs_serialize_database failed";
  std::unique_ptr<char, void (*)(void*)> bytes(raw, &std::free);
  unsigned char h[kCacheHeader];
  std::memcpy(h, kCacheMagic, 4);
  put_le(h + 4, kCacheVersion, 4);
  std::memcpy(h + 8, key.data(), key.size());
  put_le(h + 40, len, 8);
  const Digest sum = Sha256().bytes(bytes.get(), len).done();
  std::memcpy(h + 48, sum.data(), sum.size());

  std::string tmp = dir + "/.pdpi-tmp-XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return "cannot create a file in cache directory '" + dir + "': " + errno_text(errno);
  bool ok = write_all(fd, h, sizeof h) && write_all(fd, bytes.get(), len);
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(tmp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(tmp.c_str());
    return "cannot write cache entry '" + path + "': " + errno_text(err);
  }
  return {};
}

}  // namespace

std::string resolve_cache_dir(const std::string& param) {
  if (param == "none") return {};
  if (!param.empty()) return param;
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read at configure time
    return v ? v : "";
  };
  if (std::string v = env("NETLOOM_CACHE_DIR"); !v.empty()) return v == "none" ? std::string() : v;
  if (std::string v = env("XDG_CACHE_HOME"); !v.empty() && v.front() == '/') return v + "/netloom";
  if (std::string v = env("HOME"); !v.empty()) return v + "/.cache/netloom";
  return {};
}

Database::Database(Dictionary dict) : Database(std::move(dict), std::string()) {}

Database::Database(Dictionary dict, const std::string& cache_dir) : dict_(std::move(dict)) {
  try {
    if (cache_dir.empty())
      compile();
    else
      use_cache(cache_dir);
  } catch (...) {
    if (db_) hs_free_database(db_);
    throw;
  }
}

void Database::compile() {
  const std::size_t n = dict_.sigs.size();
  CompileInput in = compile_input(dict_);
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(in.exprs.data(), in.flags.data(), in.ids.data(), static_cast<unsigned>(n), kMode,
                       nullptr, &db_, &err) != HS_SUCCESS) {
    std::string msg = err && err->message ? err->message : "compile failed";
    int at = err ? err->expression : -1;
    if (err) hs_free_compile_error(err);
    if (at >= 0 && static_cast<std::size_t>(at) < n)
      fail(dict_.file, dict_.sigs[at].line, "signature '" + dict_.sigs[at].name + "': " + msg);
    throw ConfigError(dict_.file + ": " + msg);
  }
}

void Database::use_cache(const std::string& dir) {
  // The cache never fails the construction: any problem compiles as without it.
  Digest key{};
  std::string path, why;
  try {
    key = cache_key(compile_input(dict_));
    if (std::string refused = prepare_dir(dir); !refused.empty()) {
      cache_result_ = CacheResult::unusable;
      cache_note_ = std::move(refused);
    } else {
      path = dir + "/pdpi-" + hex(key) + ".hsdb";
      db_ = load_entry(path, key, why);
    }
  } catch (const std::exception& e) {
    cache_result_ = CacheResult::unusable;
    cache_note_ = std::string("signature cache: ") + e.what();
  }
  if (db_) {
    cache_result_ = CacheResult::loaded;
    cache_file_ = path;
    return;
  }
  compile();
  if (cache_result_ == CacheResult::unusable) return;
  std::string werr;
  try {
    werr = store_entry(dir, path, key, db_);
  } catch (const std::exception& e) {
    werr = std::string("signature cache: ") + e.what();
  }
  if (!werr.empty()) {
    cache_result_ = CacheResult::unusable;
    cache_note_ = std::move(werr);
    return;
  }
  cache_file_ = path;
  if (why.empty()) {
    cache_result_ = CacheResult::stored;
  } else {
    cache_result_ = CacheResult::replaced_invalid;
    cache_note_ = "cache entry '" + path + "' was not valid (" + why + "): recompiled and rewritten";
  }
}

Database::~Database() {
  if (db_) hs_free_database(db_);
}

bool Database::constraints_hold(std::size_t i, const PacketView& p) const {
  const Signature& s = dict_.sigs[i];
  if (s.l4 == L4::tcp && p.udp) return false;
  if (s.l4 == L4::udp && !p.udp) return false;
  if (s.dir == Dir::c2s && p.dir != 0) return false;
  if (s.dir == Dir::s2c && p.dir != 1) return false;
  if (p.len < s.min_len || p.len > s.max_len) return false;
  if (!s.lens.empty() && std::find(s.lens.begin(), s.lens.end(), p.len) == s.lens.end()) return false;
  if (!s.ports.empty() && std::find(s.ports.begin(), s.ports.end(), p.sport) == s.ports.end() &&
      std::find(s.ports.begin(), s.ports.end(), p.dport) == s.ports.end())
    return false;
  if (s.lenmod_step && (p.len < s.lenmod_base || (p.len - s.lenmod_base) % s.lenmod_step != 0)) return false;
  for (auto port : s.noports)
    if (p.sport == port || p.dport == port) return false;
  for (const LenField& f : s.lenfields) {
    if (static_cast<std::uint32_t>(f.offset) + 2 > p.len) return false;
    const std::uint8_t* b = p.payload + f.offset;
    const int v = f.little ? (b[0] | b[1] << 8) : (b[0] << 8 | b[1]);
    bool ok = false;
    for (int d : f.deltas) ok = ok || v == static_cast<int>(p.len) + d;
    if (!ok) return false;
  }
  return true;
}

Scanner::Scanner(std::shared_ptr<const Database> db) : db_(std::move(db)) {
  if (hs_alloc_scratch(db_->raw(), &scratch_) != HS_SUCCESS)
    throw ConfigError("hyperscan: cannot allocate scratch");
}

Scanner::~Scanner() {
  if (scratch_) hs_free_scratch(scratch_);
}

int Scanner::match(const PacketView& p) {
  if (p.len == 0) return -1;
  hits_.clear();
  auto on_match = [](unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) -> int {
    static_cast<std::vector<unsigned>*>(ctx)->push_back(id);
    return 0;
  };
  hs_scan(db_->raw(), reinterpret_cast<const char*>(p.payload), p.len, 0, scratch_, on_match, &hits_);
  int best = -1;
  for (unsigned id : hits_)
    if ((best < 0 || static_cast<int>(id) < best) && db_->constraints_hold(id, p))
      best = static_cast<int>(id);
  return best;
}

}  // namespace netloom::pdpi
