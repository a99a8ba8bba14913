// Internals of the runtime shared by its files: the graph node wrapping
// each block instance (it is the block's Context) and the runtime's state.
#pragma once
#include <oneapi/tbb/flow_graph.h>
#include <oneapi/tbb/task_arena.h>
#include <pthread.h>

#include <array>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>

#include "runtime/batch_pool.hpp"
#include "runtime/heap_prefault.hpp"
#include "runtime/runtime.hpp"

namespace netloom::core {
namespace flow = tbb::flow;
namespace detail {

struct Envelope {
  unsigned port = 0;
  MessagePtr msg;
  std::size_t seq = 0;  // emission order, for sources with a parallel prepare stage
};
using FunctionNode = flow::function_node<Envelope, flow::continue_msg, flow::queueing>;
using PrepareNode = flow::function_node<Envelope, Envelope, flow::queueing>;
using SequencerNode = flow::sequencer_node<Envelope>;

struct Node;
struct Target {
  Node* node;
  unsigned port;
};

struct PortCounters {
  Counter messages, items, unconnected;
};

struct Timer {
  unsigned id;
  std::uint64_t period;
  std::uint64_t next = 0;  // 0: not aligned to the clock yet
};

inline const char* level_name(LogLevel l) {
  switch (l) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
  }
  return "?";
}

struct Node;
class ShardGroup;
}  // namespace detail
using namespace detail;

struct Runtime::Impl {
  const Registry& registry;
  std::shared_ptr<const ValidatedComposition> comp;  // the running generation's
  RunOptions opts;
  std::atomic<bool> stop_flag{false};
  HeapPrefaulter prefault;  // a 1-thread run populates the heap in bulk
  std::unique_ptr<tbb::task_arena> arena;
  int threads = 1;
  unsigned flow_slots_used = 0;
  // Source threads stop() may interrupt (threaded mode), published once they run.
  std::array<pthread_t, 64> wake{};
  std::atomic<std::size_t> wake_count{0};
  std::unique_ptr<flow::graph> graph;
  std::vector<std::unique_ptr<Node>> nodes;  // stable addresses; a replicated block's first instance
  std::vector<std::unique_ptr<ShardGroup>> groups;
  std::map<std::string, Node*, std::less<>> by_id;
  std::mutex log_mu;

  // Live control (reload, set_param): requests queued for the run loop,
  // which carries them out at a batch boundary with the graph drained.
  struct Request {
    std::function<void()> work;
    std::promise<void> done;
  };
  std::mutex req_mu;
  std::vector<std::shared_ptr<Request>> requests;
  std::atomic<bool> has_request{false};
  bool running = false;                // under req_mu: the run loop takes requests
  std::mutex exec_mu;                  // one graph change (or the final flush) at a time
  mutable std::shared_mutex graph_mu;  // nodes: shared for readers, unique for changes
  std::uint64_t reloads_applied = 0, reloads_refused = 0;

  ~Impl();
  Impl(const Registry& r, std::shared_ptr<const ValidatedComposition> c, RunOptions o)
      : registry(r), comp(std::move(c)), opts(std::move(o)) {}
  Node* make_node(const std::string& id, std::vector<std::string>& errors);
  std::unique_ptr<Node> make_instance(const std::string& id, Node* primary, unsigned replica,
                                      unsigned replicas, std::vector<std::string>& errors);
  void make_groups();
  void wire();
  void submit(std::function<void()> work);
  void process_requests();
  bool apply_reload(const std::shared_ptr<const ValidatedComposition>& next, ReloadReport& report);
  void log(LogLevel level, const std::string& text) {
    if (opts.log) {
      opts.log(level, text);
      return;
    }
    std::lock_guard lock(log_mu);
    std::fprintf(stderr, "netloom: %s: %s\n", level_name(level), text.c_str());
  }
};

namespace detail {

class NodeEmit final : public Emit {
 public:
  explicit NodeEmit(Node& n) : node_(n) {}
  void operator()(unsigned out_port, MessagePtr msg) override;

 private:
  Node& node_;
};

struct Node final : Context {
  Runtime::Impl* rt = nullptr;
  std::string id;
  const BlockInfo* info = nullptr;
  const BlockDecl* decl = nullptr;
  Params params;      // current values (live changes included)
  bool done = false;  // a source whose input has ended
  BlockHandle handle;
  bool concurrent = false;  // stateless: messages delivered in parallel
  std::vector<std::vector<Target>> outs;
  std::unique_ptr<PortCounters[]> in_ctr, out_ctr;
  std::vector<std::pair<std::string, std::unique_ptr<Counter>>> counters;
  std::unique_ptr<FunctionNode> fnode;
  // Sources with parallel_prepare: emit -> prepare (concurrent) -> sequencer
  // (restores emission order) -> dispatch (serial fan-out to the targets).
  std::unique_ptr<PrepareNode> prepare_node;
  std::unique_ptr<SequencerNode> sequencer;
  std::unique_ptr<FunctionNode> dispatch_node;
  std::size_t next_seq = 0;
  std::vector<Timer> timers;
  std::uint64_t clock = 0;
  Counter errors;
  std::shared_ptr<BatchPool> pool;  // sources only
  NodeEmit emit{*this};
  std::thread source_thread;
  // Replicated blocks: instance `replica` of `replicas`; the first instance
  // (in Impl::nodes) owns the others, the wiring and the flow slots.
  ShardGroup* group = nullptr;
  unsigned replica = 0, replicas = 1;
  Node* primary = this;
  std::vector<std::unique_ptr<Node>> others;  // instances 1..replicas-1
  std::vector<unsigned> slots;                // flow slots taken (first instance)
  std::size_t slot_calls = 0;
  // Where messages for this block are put: its function node, or the
  // group's entry for the block that takes a replicated group's input.
  flow::receiver<Envelope>* input = nullptr;

  Block& block() { return *handle.block; }
  void fan_out(unsigned out_port, MessagePtr msg);
  void make_prepare_stage(flow::graph& g);
  SourceStatus produce_guarded() {
    try {
      return block().produce(emit);
    } catch (const std::exception& e) {
      count_error("produce", e.what());
    } catch (...) {
      count_error("produce", "unknown exception");
    }
    return SourceStatus::done;
  }
  void unbounded_pool() {
    if (!pool) pool = std::make_shared<BatchPool>(rt->comp->comp.max_in_flight);
    pool->cancel();
  }
  bool is_source() const { return info->inputs.empty(); }

  // Context
  const std::string& block_id() const override { return id; }
  Counter& counter(std::string_view name) override {
    for (auto& [n, c] : counters)
      if (n == name) return *c;
    throw ConfigError("counter '" + std::string(name) + "' is not declared in the block's description");
  }
  std::shared_ptr<PacketBatch> new_packet_batch() override {
    if (!pool) pool = std::make_shared<BatchPool>(rt->comp->comp.max_in_flight);
    return pool->acquire();
  }
  std::size_t batch_size() const override { return rt->comp->comp.batch_size; }
  void add_timer(unsigned timer_id, std::uint64_t period_ns) override {
    if (period_ns == 0) throw ConfigError("timer period must be positive");
    if (concurrent) throw ConfigError("a stateless block cannot have timers");
    timers.push_back({timer_id, period_ns});
  }
  void log(LogLevel level, std::string_view text) override {
    rt->log(level, "block '" + id + "': " + std::string(text));
  }
  bool stopping() const override { return rt->stop_flag.load(std::memory_order_relaxed); }
  bool output_connected(unsigned port) const override {
    return port < primary->outs.size() && !primary->outs[port].empty();
  }
  unsigned replica_index() const override { return replica; }
  unsigned replica_count() const override { return replicas; }
  unsigned flow_slot() override {
    // Instances of one replicated block see disjoint flows: they share slots.
    if (primary != this) {
      if (slot_calls < primary->slots.size()) return primary->slots[slot_calls++];
      ++slot_calls;
    }
    if (rt->flow_slots_used >= kFlowSlots)
      throw ConfigError("no flow state slot left: at most " + std::to_string(kFlowSlots) +
                        " instances of blocks with per-flow state per run (reloads included: slots are "
                        "not reused); restart netloom to apply this composition");
    if (primary == this) slots.push_back(rt->flow_slots_used);
    return rt->flow_slots_used++;
  }
  // Items a message carries for this instance (a replica's share of a batch).
  std::size_t items_of(const Message& m) const;

  void count_error(const char* where, const char* what) {
    errors.add_shared();
    const auto n = errors.value();
    if (n <= 10 || n % 1000 == 0) {
      rt->log(LogLevel::error,
              "block '" + id + "' (" + info->type + "): " + where + ": " + what +
                  (n == 10 ? " (further errors of this block are logged every 1000th)" : ""));
    }
  }

  // Fires the packet-time timers due before a message starting at `t`.
  void advance_clock(std::uint64_t t) {
    if (t <= clock) return;
    clock = t;
    for (auto& tm : timers) {
      if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
      // After a long silence, jump instead of firing millions of times.
      if (t >= tm.next && (t - tm.next) / tm.period > 100000)
        tm.next += ((t - tm.next) / tm.period - 1) * tm.period;
      while (tm.next <= t) {
        block().on_timer(tm.id, tm.next, emit);
        tm.next += tm.period;
      }
    }
  }

  // `exclusive`: the sender knows nobody else will read the message (the
  // previous block of a replica's chain, which forwarded it and is done).
  void deliver(const Envelope& e, bool exclusive = false) {
    const MessagePtr* msg = &e.msg;
    MessagePtr own;
    // Copy-on-write: a block that writes into its input gets a private copy
    // whenever anyone else may still hold the message.
    if (info->inputs[e.port].mutates && !exclusive && e.msg.use_count() > 1) {
      own = e.msg->clone();
      msg = &own;
    }
    in_ctr[e.port].messages.add_shared(1);
    in_ctr[e.port].items.add_shared(items_of(**msg));
    try {
      if (!concurrent) {
        std::uint64_t start = (*msg)->clock_ns;
        if ((*msg)->type_name() == PacketBatch::kType) {
          auto& b = (*msg)->as<PacketBatch>();
          if (!b.packets.empty()) start = b.packets.front().ts_ns;
        }
        if (!timers.empty() || start > clock) advance_clock(start);
      }
      block().receive(e.port, *msg, emit);
    } catch (const std::exception& ex) {
      count_error("receive", ex.what());
    } catch (...) {
      count_error("receive", "unknown exception");
    }
  }
};

}  // namespace detail
}  // namespace netloom::core
