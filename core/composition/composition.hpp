// Compositions: the XML that names blocks, their parameters and connections.
// parse_composition_* turn the text into plain data (with ${var} substitution
// and file:line for everything); validate_composition checks that data against
// the blocks' self-descriptions (BlockInfo) before anything runs.
// docs/composition.md is the user-facing reference for both.
#pragma once
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "netloom/block.hpp"
#include "netloom/params.hpp"

namespace netloom::core {

using netloom::BlockInfo;
using netloom::Params;
using netloom::ParamSpec;
using netloom::ParamType;
using netloom::ParamValue;

struct SourceLoc {
  std::string file;
  int line = 0;  // 1-based; 0 = unknown / whole file
};

// One error, formatted by str() as "FILE:LINE: block 'ID': MESSAGE"
// (":LINE" omitted when line is 0, "block 'ID': " omitted when block_id is empty).
struct Diagnostic {
  SourceLoc loc;
  std::string block_id;
  std::string message;
  std::string str() const;
};

struct VarDecl {
  std::string name;
  std::string default_value;
  bool has_default = false;
  std::string doc;
  SourceLoc loc;
};

struct ParamEntry {
  std::string name;
  std::string value;  // ${vars} already substituted
  SourceLoc loc;
};

struct BlockDecl {
  std::string id, type;
  std::vector<ParamEntry> params;
  std::string replicas;  // "" if absent; "N" or "auto" (after ${var} substitution)
  SourceLoc loc;
};

struct Endpoint {
  std::string block, port;
};

struct Connection {
  Endpoint from, to;
  SourceLoc loc;
};

struct Composition {
  std::string name;
  std::string file;
  SourceLoc loc;
  std::vector<VarDecl> vars;
  std::vector<BlockDecl> blocks;
  std::vector<Connection> connections;
  int threads = 0;  // 0 = auto (hardware concurrency)
  std::size_t batch_size = 256;
  std::size_t max_in_flight = 64;  // batches in flight per source (back-pressure bound)
};

// Limits of the <composition> attributes (inclusive).
inline constexpr int kMaxThreads = 1024;
inline constexpr std::size_t kMinBatch = 1, kMaxBatch = 65536;
inline constexpr std::size_t kMinInFlight = 2, kMaxInFlight = 4096;
inline constexpr int kMaxReplicas = 1024;
// Blocks in one composition: bounds the validator's work and the depth of its
// cycle search (a 50000-block cycle overflowed the stack).
inline constexpr std::size_t kMaxBlocks = 4096;

// Parse; `defines` are the -D name=value from the command line (override var
// defaults). Errors are appended to `errors` (never thrown); the return value
// is what could be parsed.
Composition parse_composition_file(const std::string& path, const std::map<std::string, std::string>& defines,
                                   std::vector<Diagnostic>& errors);
Composition parse_composition_string(const std::string& xml, const std::string& file_name_for_errors,
                                     const std::map<std::string, std::string>& defines,
                                     std::vector<Diagnostic>& errors);

// Parameter text -> typed value, checked against the spec (type, range,
// choices). Throws netloom::ConfigError with a one-line message such as
// "parameter 'snaplen': '70000' is above the maximum 65535".
// Values: bool -> bool; int, duration (ns), size (bytes) -> int64_t;
// real -> double; string, choice -> std::string.
ParamValue parse_param_value(const ParamSpec& spec, std::string_view text);
// Canonical text that parse_param_value reads back to the same value
// (durations "300s"/"250ms", sizes "64MiB" or "1000B").
std::string format_param_value(const ParamSpec& spec, const ParamValue& v);
// "bool", "int", "real", "string", "duration", "size", "choice".
std::string param_type_name(ParamType);

// Validation against block self-descriptions. lookup returns nullptr for an
// unknown type.
using InfoLookup = std::function<const BlockInfo*(std::string_view type)>;

// Connected blocks with per-flow state (Threading::replicable): the runtime
// runs them as one chain per batch and, with `replicas` N > 1, N copies of
// the chain, each fed the flows of its share of the symmetric flow hash,
// merging what leaves them.
struct ReplicaGroup {
  std::vector<std::string> members;  // block ids, in topological order
  std::string replicas;              // "1", "N" or "auto"
  Endpoint entry;                    // the one input port fed from outside the group
};

struct ValidatedComposition {
  Composition comp;
  std::vector<ReplicaGroup> groups;
  std::map<std::string, Params> params;           // block id -> full params (defaults filled, typed)
  std::map<std::string, const BlockInfo*> infos;  // block id -> info
  std::vector<std::string> topo_order;            // block ids, sources first
};

// Returns true when no errors; appends every error found (does not stop at the
// first one).
bool validate_composition(const Composition& c, const InfoLookup& lookup, ValidatedComposition& out,
                          std::vector<Diagnostic>& errors);

// True for [A-Za-z_][A-Za-z0-9_-]* (block ids and variable names).
bool is_valid_identifier(std::string_view s);

}  // namespace netloom::core
