// PDPI signature dictionary: the versioned text format (see
// blocks/classifiers/signatures/README.md), its parser, and the compiled
// Hyperscan block-mode database every signature of a dictionary lives in.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netloom/error.hpp"

struct hs_database;
struct hs_scratch;

namespace netloom::pdpi {

inline constexpr int kFormatVersion = 1;

enum class L4 : std::uint8_t { tcp, udp, any };
enum class Dir : std::uint8_t { any, c2s, s2c };

// "the 16-bit field at `offset` (byte order `little`) equals payload length + delta" for one of `deltas`.
struct LenField {
  std::uint16_t offset = 0;
  bool little = false;
  std::vector<int> deltas;
};

struct Signature {
  std::string name;  // unique in the dictionary
  std::string app;   // FlowLabels::app on a match
  L4 l4 = L4::any;
  Dir dir = Dir::any;
  // What a match sets (0 = nothing): UDP c_type/s_type, TCP con_t bits, ipp2p code*100+sub.
  std::uint16_t udp_type = 0;
  std::uint32_t con_type = 0;
  std::uint16_t p2p_type = 0;
  // Payload constraints checked after the pattern matched.
  std::uint32_t min_len = 0, max_len = 0xFFFFFFFFu;
  std::vector<std::uint32_t> lens;                 // exact payload lengths allowed (empty: any)
  std::vector<std::uint16_t> ports;                // one of the ports must be one of these (empty: any)
  std::vector<std::uint16_t> noports;              // neither port may be one of these
  std::uint32_t lenmod_base = 0, lenmod_step = 0;  // (len - base) % step == 0 when step != 0
  std::vector<LenField> lenfields;                 // all must hold
  std::string pattern;                             // Hyperscan expression over the payload
  unsigned hs_flags = 0;
  std::string flags_text;  // as written
  unsigned line = 0;       // source line
};

struct Dictionary {
  std::string file;             // for messages
  std::vector<Signature> sigs;  // table order: on several matches the first wins
};

// Parses dictionary text; `file` names it in errors ("FILE:LINE: what").
// Throws ConfigError. Does not compile the patterns (compile() does).
Dictionary parse(std::string_view text, const std::string& file);
Dictionary load(const std::string& path);

// Packet facts a signature may constrain, besides the payload.
struct PacketView {
  const std::uint8_t* payload = nullptr;
  std::uint32_t len = 0;
  bool udp = false;
  std::uint8_t dir = 0;  // 0 client->server, 1 server->client
  std::uint16_t sport = 0, dport = 0;
};

// The directory of the compiled-database cache for PDPI's `cache_dir`
// parameter: "none" -> "" (no cache); "" -> $NETLOOM_CACHE_DIR (its value
// "none" also disables), else $XDG_CACHE_HOME/netloom (absolute only), else
// $HOME/.cache/netloom, else "" (no cache); any other value as is.
std::string resolve_cache_dir(const std::string& param);

// What happened to the on-disk cache when a Database was built.
enum class CacheResult : std::uint8_t {
  off,               // no cache directory given
  loaded,            // the database was deserialized from the cache
  stored,            // compiled, and the cache entry written
  replaced_invalid,  // an entry existed but was not valid: compiled and rewritten
  unusable,          // the cache could not be used (refused or unwritable dir...): compiled
};

// One Hyperscan database for the whole dictionary. Thread-compatible: each
// thread scans with its own Scanner.
class Database {
 public:
  // Compiles every signature (hs_compile_multi); a pattern Hyperscan refuses
  // becomes ConfigError "FILE:LINE: signature 'NAME': <hyperscan message>".
  explicit Database(Dictionary dict);
  // The same, with an on-disk cache of the compiled database in `cache_dir`
  // (empty: no cache; see resolve_cache_dir and docs/pdpi.md): an entry keyed
  // by the SHA-256 of the expressions, flags, ids, mode, Hyperscan version and
  // platform is loaded instead of compiling; a missing or invalid entry is
  // (re)written after compiling. A cache that cannot be used never fails the
  // construction: it compiles, and cache_note() says why.
  Database(Dictionary dict, const std::string& cache_dir);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  const Dictionary& dictionary() const { return dict_; }
  const hs_database* raw() const { return db_; }
  // Whether signature i's non-regex constraints hold for the packet.
  bool constraints_hold(std::size_t i, const PacketView& p) const;

  CacheResult cache_result() const { return cache_result_; }
  bool from_cache() const { return cache_result_ == CacheResult::loaded; }
  // The cache entry loaded or written ("" when none).
  const std::string& cache_file() const { return cache_file_; }
  // Why an entry was replaced or the cache not used ("" otherwise).
  const std::string& cache_note() const { return cache_note_; }

 private:
  void compile();
  void use_cache(const std::string& dir);

  Dictionary dict_;
  hs_database* db_ = nullptr;
  CacheResult cache_result_ = CacheResult::off;
  std::string cache_file_, cache_note_;
};

class Scanner {
 public:
  explicit Scanner(std::shared_ptr<const Database> db);
  ~Scanner();
  Scanner(const Scanner&) = delete;
  Scanner& operator=(const Scanner&) = delete;
  // Index of the first signature (table order) matching the packet, or -1.
  int match(const PacketView& p);
  const Database& database() const { return *db_; }

 private:
  std::shared_ptr<const Database> db_;
  hs_scratch* scratch_ = nullptr;
  std::vector<unsigned> hits_;
};

}  // namespace netloom::pdpi
