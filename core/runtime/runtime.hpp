// Runs a validated composition: one block instance per composition block,
// one TBB flow-graph node per instance, sources on their own threads.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "composition/composition.hpp"
#include "runtime/registry.hpp"

namespace netloom::core {
namespace detail {
struct Node;
}

struct RunOptions {
  int threads = 0;  // 0: the composition's setting (0 there = all cores)
  std::function<void(LogLevel, const std::string&)> log;  // default: stderr
};

struct PortStats {
  std::string name;
  std::string type;
  std::uint64_t messages = 0;
  std::uint64_t items = 0;
  std::uint64_t unconnected = 0;  // outputs: items emitted with no consumer
};

struct BlockStats {
  std::string id;
  std::string type;
  std::vector<PortStats> inputs, outputs;
  std::vector<std::pair<std::string, std::uint64_t>> counters;
  std::uint64_t errors = 0;  // exceptions thrown by the block while running
  std::string summary;
  // Sources: the queue in front of the graph — batches emitted and not yet
  // released by every consumer (of at most max_in_flight), and how often the
  // source had to wait for one (back-pressure).
  bool source = false;
  std::uint64_t in_flight = 0, max_in_flight = 0, backpressure_waits = 0;
};

// What a reload did: applied or not, and one line per action or error.
struct ReloadReport {
  bool applied = false;
  std::vector<std::string> lines;  // "kept 'trk'", "rebuilt 'logs': parameter 'dir' cannot change live", ...
};

class Runtime {
 public:
  Runtime(const Registry& registry, const ValidatedComposition& comp, RunOptions opts = {});
  Runtime(const Registry& registry, std::shared_ptr<const ValidatedComposition> comp, RunOptions opts = {});
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // Instantiates and configures every block. Returns false and fills
  // `errors` (file:line: block 'id': message) if any block refuses.
  bool build(std::vector<std::string>& errors);
  // Runs until every source is done (or stop() is called), drains the graph
  // and flushes every block in topological order. Returns the number of
  // block errors logged while running (0 = clean run).
  std::uint64_t run();
  // Async-signal-safe: asks the sources to stop at the next batch boundary.
  void stop() noexcept;
  bool stopping() const noexcept;

  std::vector<BlockStats> stats() const;

  // ---- live control: callable from any thread, also while run() runs. Each
  // call is carried out by the run loop at a batch boundary, with the graph
  // drained and the sources paused (a live source's packets wait in the
  // capture buffer), and returns when done.

  // Replaces the running graph by `next` (validated against the same
  // registry): blocks whose type and parameters are unchanged are kept with
  // their state and counters; changed live parameters are set in place;
  // other changed blocks are rebuilt; removed blocks are flushed, then
  // destroyed; connections are rewired. When a new block cannot be
  // configured nothing changes and the report says why.
  ReloadReport reload(std::shared_ptr<const ValidatedComposition> next);
  // Sets a parameter declared live on a running block. False + `error` when
  // the block, parameter or value is wrong or the parameter is not live.
  bool set_param(const std::string& block, const std::string& name, const std::string& value,
                 std::string& error);
  // A block's current parameter value as text; false + `error` if unknown.
  bool get_param(const std::string& block, const std::string& name, std::string& value,
                 std::string& error) const;
  // The running graph in Graphviz DOT.
  std::string graph_dot() const;
  // Reloads applied / refused since the start.
  std::pair<std::uint64_t, std::uint64_t> reload_counts() const;

  struct Impl;  // internal; public only so the graph nodes can reach it

 private:
  void run_inline(const std::vector<detail::Node*>& sources);
  void run_threaded(const std::vector<detail::Node*>& sources);
  std::unique_ptr<Impl> impl_;
};

// Human-readable table of the stats (the exit summary and SIGUSR1 output).
std::string format_stats(const std::vector<BlockStats>& stats);

}  // namespace netloom::core
