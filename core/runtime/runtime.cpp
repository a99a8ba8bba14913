#include "runtime/runtime.hpp"

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

const char* level_name(LogLevel l) {
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
}  // namespace detail
using namespace detail;

struct Runtime::Impl {
  const Registry& registry;
  std::shared_ptr<const ValidatedComposition> comp;  // the running generation's
  RunOptions opts;
  std::atomic<bool> stop_flag{false};
  std::unique_ptr<tbb::task_arena> arena;
  int threads = 1;
  unsigned flow_slots_used = 0;
  // Source threads stop() may interrupt (threaded mode), published once they run.
  std::array<pthread_t, 64> wake{};
  std::atomic<std::size_t> wake_count{0};
  std::unique_ptr<flow::graph> graph;
  std::vector<std::unique_ptr<Node>> nodes;  // stable addresses
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
  bool output_connected(unsigned port) const override { return port < outs.size() && !outs[port].empty(); }
  unsigned flow_slot() override {
    if (rt->flow_slots_used >= kFlowSlots)
      throw ConfigError("no flow state slot left: at most " + std::to_string(kFlowSlots) +
                        " instances of blocks with per-flow state per run (reloads included: slots are "
                        "not reused); restart netloom to apply this composition");
    return rt->flow_slots_used++;
  }

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

  void deliver(const Envelope& e) {
    const MessagePtr* msg = &e.msg;
    MessagePtr own;
    // Copy-on-write: a block that writes into its input gets a private copy
    // whenever anyone else may still hold the message.
    if (info->inputs[e.port].mutates && e.msg.use_count() > 1) {
      own = e.msg->clone();
      msg = &own;
    }
    in_ctr[e.port].messages.add_shared(1);
    in_ctr[e.port].items.add_shared((*msg)->items());
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

void NodeEmit::operator()(unsigned out_port, MessagePtr msg) {
  if (out_port >= node_.outs.size() || !msg) {
    node_.count_error("emit", out_port >= node_.outs.size() ? "no such output port" : "null message");
    return;
  }
  if (msg->clock_ns == 0) msg->clock_ns = node_.clock;
  if (node_.prepare_node) {
    node_.prepare_node->try_put(Envelope{out_port, std::move(msg), node_.next_seq++});
    return;
  }
  node_.fan_out(out_port, std::move(msg));
}

void Node::fan_out(unsigned out_port, MessagePtr msg) {
  const auto items = msg->items();
  auto& ctr = out_ctr[out_port];
  ctr.messages.add_shared(1);
  ctr.items.add_shared(items);
  auto& targets = outs[out_port];
  if (targets.empty()) {
    ctr.unconnected.add_shared(items);
    return;
  }
  for (std::size_t i = 0; i + 1 < targets.size(); ++i)
    targets[i].node->fnode->try_put(Envelope{targets[i].port, msg});
  // The last consumer takes our reference, so an exclusive message stays
  // exclusive and copy-on-write does not copy needlessly.
  targets.back().node->fnode->try_put(Envelope{targets.back().port, std::move(msg)});
}

void Node::make_prepare_stage(flow::graph& g) {
  Node* self = this;
  prepare_node = std::make_unique<PrepareNode>(g, flow::unlimited, [self](const Envelope& e) {
    if (e.msg->type_name() == PacketBatch::kType) {
      try {
        self->block().prepare(e.msg->as<PacketBatch>());
      } catch (const std::exception& ex) {
        self->count_error("prepare", ex.what());
      }
    }
    return e;
  });
  sequencer = std::make_unique<SequencerNode>(g, [](const Envelope& e) { return e.seq; });
  dispatch_node = std::make_unique<FunctionNode>(g, flow::serial, [self](const Envelope& e) {
    self->fan_out(e.port, e.msg);
    return flow::continue_msg();
  });
  flow::make_edge(*prepare_node, *sequencer);
  flow::make_edge(*sequencer, *dispatch_node);
}

}  // namespace detail

Runtime::Impl::~Impl() = default;

namespace {
unsigned port_index(const std::vector<PortSpec>& ports, const std::string& name) {
  for (unsigned i = 0; i < ports.size(); ++i)
    if (ports[i].name == name) return i;
  return ~0u;
}
}  // namespace

Runtime::Runtime(const Registry& registry, const ValidatedComposition& comp, RunOptions opts)
    : Runtime(registry, std::make_shared<const ValidatedComposition>(comp), std::move(opts)) {}

Runtime::Runtime(const Registry& registry, std::shared_ptr<const ValidatedComposition> comp, RunOptions opts)
    : impl_(std::make_unique<Impl>(registry, std::move(comp), std::move(opts))) {}

Runtime::~Runtime() {
  stop();
  for (auto& n : impl_->nodes)
    if (n->source_thread.joinable()) n->source_thread.join();
  if (impl_->graph) impl_->arena->execute([&] { impl_->graph->wait_for_all(); });
  impl_->nodes.clear();  // blocks go before the graph that delivered to them
}

// One node for block `id` of the current composition: instantiated,
// configured, with its TBB node(s). nullptr (and a line in `errors`) when the
// block refuses its configuration.
Node* Runtime::Impl::make_node(const std::string& id, std::vector<std::string>& errors) {
  const auto& c = *comp;
  auto owned = std::make_unique<Node>();
  Node& n = *owned;
  n.rt = this;
  n.id = id;
  n.info = c.infos.at(id);
  for (const auto& b : c.comp.blocks)
    if (b.id == id) n.decl = &b;
  n.params = c.params.at(id);
  n.concurrent = n.info->threading == Threading::stateless;
  n.outs.resize(n.info->outputs.size());
  n.in_ctr = std::make_unique<PortCounters[]>(n.info->inputs.size());
  n.out_ctr = std::make_unique<PortCounters[]>(n.info->outputs.size());
  for (const auto& cs : n.info->counters) n.counters.emplace_back(cs.name, std::make_unique<Counter>());
  const std::string prefix =
      n.decl->loc.file + ":" + std::to_string(n.decl->loc.line) + ": block '" + id + "': ";
  const BlockType* type = registry.find(n.info->type);
  if (type == nullptr) {
    errors.push_back(prefix + "block type '" + n.info->type + "' is not loaded");
    return nullptr;
  }
  try {
    n.handle = registry.create(*type);
    n.block().configure(n.params, n);
  } catch (const std::exception& e) {
    errors.push_back(prefix + e.what());
    return nullptr;
  }
  if (!n.decl->replicas.empty() && n.decl->replicas != "1") {
    log(LogLevel::info, "block '" + id + "': replicas=" + n.decl->replicas +
                            " requested; sharded execution is not available yet, running one instance");
  }
  Node* np = &n;
  const std::size_t concurrency = n.concurrent ? flow::unlimited : flow::serial;
  arena->execute([&] {
    if (n.is_source() && n.info->parallel_prepare) n.make_prepare_stage(*graph);
    n.fnode = std::make_unique<FunctionNode>(*graph, concurrency, [np](const Envelope& e) {
      np->deliver(e);
      return flow::continue_msg();
    });
  });
  nodes.push_back(std::move(owned));
  by_id[id] = np;
  return np;
}

// Output port -> input port targets, from the current composition's connections.
void Runtime::Impl::wire() {
  for (auto& n : nodes)
    for (auto& targets : n->outs) targets.clear();
  for (const auto& conn : comp->comp.connections) {
    Node* from = by_id.at(conn.from.block);
    Node* to = by_id.at(conn.to.block);
    unsigned op = port_index(from->info->outputs, conn.from.port);
    unsigned ip = port_index(to->info->inputs, conn.to.port);
    from->outs.at(op).push_back(Target{to, ip});
  }
}

bool Runtime::build(std::vector<std::string>& errors) {
  auto& im = *impl_;
  const auto& c = *im.comp;
  int threads = im.opts.threads > 0 ? im.opts.threads : c.comp.threads;
  if (threads <= 0) {
    // auto: every core, minus one per source, since each source reads on a
    // thread of its own; oversubscribed cores slow the reader down.
    int sources = 0;
    for (const auto& [id, info] : c.infos) sources += info->inputs.empty();
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) - sources);
  }
  im.threads = threads;
  im.arena = std::make_unique<tbb::task_arena>(threads);
  im.arena->execute([&] { im.graph = std::make_unique<flow::graph>(); });
  for (const auto& id : c.topo_order) im.make_node(id, errors);
  if (!errors.empty()) return false;
  im.wire();
  return true;
}

// One thread: the calling thread reads a batch, then carries it through the
// whole graph before reading the next. No hand-off between cores and no idle
// worker spinning for work: on a small machine this is the fastest mode, and
// netloom's overhead over a bare read loop is just the blocks' own work.
// Returns when every source is done, on stop, or when a control request
// (reload, set_param) waits: the graph is drained then.
void Runtime::run_inline(const std::vector<detail::Node*>& sources) {
  auto& im = *impl_;
  for (Node* s : sources) s->unbounded_pool();  // nothing can drain a full pool meanwhile
  im.arena->execute([&] {
    std::vector<Node*> active = sources;
    while (!active.empty() && !im.has_request.load(std::memory_order_relaxed)) {
      bool all_idle = true;
      for (std::size_t i = 0; i < active.size();) {
        Node* s = active[i];
        SourceStatus st = SourceStatus::done;
        if (!s->stopping()) st = s->produce_guarded();
        im.graph->wait_for_all();
        if (st == SourceStatus::done) {
          if (!s->stopping()) s->done = true;
          active.erase(active.begin() + static_cast<std::ptrdiff_t>(i));
          continue;
        }
        all_idle = all_idle && st == SourceStatus::idle;
        ++i;
      }
      if (all_idle && !active.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
}

// Several threads: each source reads on a thread of its own and the graph's
// blocks run on the TBB arena's threads, pipelined.
namespace {
// Sent to a source thread by stop(): interrupts a read it is blocked in
// (stdin, a FIFO) with EINTR, so a stop does not wait for the next data.
constexpr int kWakeSignal = SIGURG;
void on_wake(int) {}
}  // namespace

void Runtime::run_threaded(const std::vector<detail::Node*>& sources) {
  auto& im = *impl_;
  struct sigaction sa {};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_wake;  // no SA_RESTART: the blocked read returns EINTR
  sigaction(kWakeSignal, &sa, nullptr);
  im.arena->execute([&] {
    for (std::size_t i = 0; i < sources.size(); ++i) im.graph->reserve_wait();
  });
  for (Node* s : sources) {
    s->source_thread = std::thread([s, &im] {
      for (;;) {
        // A waiting control request pauses the source at this batch boundary.
        if (s->stopping() || im.has_request.load(std::memory_order_relaxed)) break;
        SourceStatus st = s->produce_guarded();
        if (st == SourceStatus::done) {
          if (!s->stopping()) s->done = true;
          break;
        }
        if (st == SourceStatus::idle) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      im.graph->release_wait();
    });
  }
  {
    std::size_t n = 0;
    for (Node* s : sources)
      if (n < im.wake.size()) im.wake[n++] = s->source_thread.native_handle();
    im.wake_count.store(n);
  }
  if (stopping()) stop();  // a stop that came while the threads were starting
  im.arena->execute([&] { im.graph->wait_for_all(); });
  im.wake_count.store(0);
  for (Node* s : sources) s->source_thread.join();
}

std::uint64_t Runtime::run() {
  auto& im = *impl_;
  {
    std::lock_guard exec(im.exec_mu);
    std::lock_guard lock(im.req_mu);
    im.running = true;
  }
  // Generations: the sources run until they are done, stopped, or a control
  // request waits; requests are then carried out on the drained graph and
  // the (possibly new) sources resume.
  for (;;) {
    std::vector<Node*> sources;
    for (auto& n : im.nodes)
      if (n->is_source() && !n->done) sources.push_back(n.get());
    if (!sources.empty() && !stopping()) {
      if (im.threads == 1)
        run_inline(sources);
      else
        run_threaded(sources);
    }
    if (im.has_request.load()) {
      im.process_requests();
      if (!stopping()) continue;
    }
    bool all_done = true;
    for (auto& n : im.nodes)
      if (n->is_source() && !n->done) all_done = false;
    if (all_done || stopping()) break;
  }
  {
    std::lock_guard exec(im.exec_mu);
    std::lock_guard lock(im.req_mu);
    im.running = false;
  }
  im.process_requests();  // requests that came in at the very end

  // End of stream: flush in topological order, draining after each block so
  // a block flushes only after everything upstream has reached it.
  std::lock_guard exec(im.exec_mu);
  for (auto& n : im.nodes) {
    im.arena->execute([&] {
      try {
        n->block().flush(n->emit);
      } catch (const std::exception& e) {
        n->count_error("flush", e.what());
      }
      im.graph->wait_for_all();
    });
  }
  std::uint64_t errs = 0;
  for (auto& n : im.nodes) errs += n->errors.value();
  return errs;
}

// ---- live control ------------------------------------------------------------

void Runtime::Impl::submit(std::function<void()> work) {
  auto r = std::make_shared<Request>();
  r->work = std::move(work);
  std::future<void> done = r->done.get_future();
  {
    // exec_mu first: run() flips `running` only while holding it, so a
    // request is either queued for the run loop or carried out here while
    // no run loop can start.
    std::unique_lock exec(exec_mu);
    std::unique_lock lock(req_mu);
    if (!running) {
      lock.unlock();
      if (graph) arena->execute([&] { graph->wait_for_all(); });
      r->work();
      return;
    }
    requests.push_back(r);
    has_request.store(true);
  }
  // Sources are not interrupted: a source blocked in a read (stdin, a quiet
  // FIFO) pauses when its read returns; live captures return within their
  // buffer timeout.
  done.get();  // rethrows what the work threw
}

void Runtime::Impl::process_requests() {
  std::vector<std::shared_ptr<Request>> todo;
  {
    std::lock_guard lock(req_mu);
    todo.swap(requests);
    has_request.store(false);
  }
  std::lock_guard exec(exec_mu);
  for (auto& r : todo) {
    try {
      r->work();
      r->done.set_value();
    } catch (...) {
      r->done.set_exception(std::current_exception());
    }
  }
}

// On the drained graph (run thread, or no run): the diff, then the swap.
bool Runtime::Impl::apply_reload(const std::shared_ptr<const ValidatedComposition>& next,
                                 ReloadReport& report) {
  enum class Fate { keep, set_live, rebuild, add };
  struct Plan {
    std::string id;
    Fate fate;
    Node* old = nullptr;
    std::vector<std::string> live;  // parameters to set in place
  };
  std::vector<Plan> plans;
  for (const auto& id : next->topo_order) {
    Plan p{id, Fate::add, nullptr, {}};
    auto it = by_id.find(id);
    if (it != by_id.end()) {
      p.old = it->second;
      const BlockInfo* info = next->infos.at(id);
      const Params& want = next->params.at(id);
      if (info != p.old->info) {
        p.fate = Fate::rebuild;
        report.lines.push_back("rebuilt '" + id + "': type " + p.old->info->type + " -> " + info->type);
      } else if (want.all() == p.old->params.all()) {
        p.fate = Fate::keep;
      } else {
        p.fate = Fate::set_live;
        for (const auto& [name, value] : want.all()) {
          if (p.old->params.at(name) == value) continue;
          const ParamSpec* spec = nullptr;
          for (const auto& ps : info->params)
            if (ps.name == name) spec = &ps;
          if (!spec || !spec->live) {
            p.fate = Fate::rebuild;
            report.lines.push_back("rebuilt '" + id + "': parameter '" + name + "' cannot change live");
            break;
          }
          p.live.push_back(name);
        }
      }
    }
    plans.push_back(std::move(p));
  }
  std::set<std::string> next_ids(next->topo_order.begin(), next->topo_order.end());

  // 1. New instances first: if one refuses its configuration, nothing changed.
  auto old_comp = comp;
  comp = next;
  std::vector<std::string> errors;
  std::map<std::string, Node*> fresh;
  std::vector<std::unique_ptr<Node>> old_nodes;
  old_nodes.swap(nodes);
  auto old_by_id = by_id;
  for (auto& p : plans) {
    if (p.fate != Fate::rebuild && p.fate != Fate::add) continue;
    if (Node* n = make_node(p.id, errors)) fresh[p.id] = n;
  }
  if (!errors.empty()) {
    for (auto& n : nodes) n->handle.block.reset();
    nodes.clear();  // the refused generation's nodes (nothing was delivered to them)
    nodes.swap(old_nodes);
    by_id = old_by_id;
    comp = old_comp;
    report.lines.insert(report.lines.end(), errors.begin(), errors.end());
    report.lines.push_back("reload refused: the running graph is unchanged");
    return false;
  }

  // 2. Live parameters of kept blocks.
  for (auto& p : plans) {
    if (p.fate != Fate::set_live) continue;
    const Params& want = next->params.at(p.id);
    for (const auto& name : p.live) {
      try {
        p.old->block().set_param(name, want.at(name));
        p.old->params.set(name, want.at(name));
        report.lines.push_back("set '" + p.id + "'." + name + " live");
      } catch (const std::exception& e) {
        report.lines.push_back("'" + p.id + "'." + name + " not changed: " + e.what());
      }
    }
  }

  // 3. Removed and replaced blocks flush through the old wiring, then go.
  auto new_nodes = std::move(nodes);
  nodes = std::move(old_nodes);
  by_id = old_by_id;
  std::vector<Node*> leaving;
  for (auto& n : nodes) {
    bool replaced = fresh.count(n->id) > 0;
    if (!next_ids.count(n->id) || replaced) leaving.push_back(n.get());
  }
  for (Node* n : leaving) {
    arena->execute([&] {
      try {
        n->block().flush(n->emit);
      } catch (const std::exception& e) {
        n->count_error("flush", e.what());
      }
      graph->wait_for_all();
    });
    if (!next_ids.count(n->id)) report.lines.push_back("removed '" + n->id + "' (flushed)");
  }

  // 4. The new generation: kept nodes in the new order, fresh ones added.
  std::vector<std::unique_ptr<Node>> gen;
  for (const auto& id : next->topo_order) {
    if (auto f = fresh.find(id); f != fresh.end()) {
      for (auto& n : new_nodes)
        if (n.get() == f->second) gen.push_back(std::move(n));
      if (!old_by_id.count(id)) report.lines.push_back("added '" + id + "'");
      continue;
    }
    for (auto& n : nodes)
      if (n && n->id == id) {
        for (const auto& b : next->comp.blocks)
          if (b.id == id) n->decl = &b;
        gen.push_back(std::move(n));
      }
  }
  {
    std::unique_lock lock(graph_mu);
    std::vector<std::unique_ptr<Node>> gone = std::move(nodes);  // destroyed below, outside readers
    nodes = std::move(gen);
    by_id.clear();
    for (auto& n : nodes) by_id[n->id] = n.get();
    wire();
    lock.unlock();
    gone.clear();
  }
  std::size_t kept = 0;
  for (auto& p : plans) kept += p.fate == Fate::keep || p.fate == Fate::set_live;
  report.lines.push_back("reload applied: " + std::to_string(kept) + " blocks kept, " +
                         std::to_string(fresh.size()) + " built");
  return true;
}

ReloadReport Runtime::reload(std::shared_ptr<const ValidatedComposition> next) {
  auto& im = *impl_;
  ReloadReport report;
  im.submit([&] {
    report.applied = im.apply_reload(next, report);
    (report.applied ? im.reloads_applied : im.reloads_refused)++;
  });
  for (const auto& l : report.lines)
    im.log(report.applied ? LogLevel::info : LogLevel::error, "reload: " + l);
  return report;
}

bool Runtime::set_param(const std::string& block, const std::string& name, const std::string& value,
                        std::string& error) {
  auto& im = *impl_;
  bool ok = false;
  im.submit([&] {
    auto it = im.by_id.find(block);
    if (it == im.by_id.end()) {
      error = "no block '" + block + "' in the running graph";
      return;
    }
    Node& n = *it->second;
    const ParamSpec* spec = nullptr;
    for (const auto& ps : n.info->params)
      if (ps.name == name) spec = &ps;
    if (!spec) {
      error = "block '" + block + "' (" + n.info->type + ") has no parameter '" + name + "'";
      return;
    }
    if (!spec->live) {
      error = "parameter '" + name + "' of block '" + block +
              "' cannot change live (reload a composition instead)";
      return;
    }
    try {
      ParamValue v = parse_param_value(*spec, value);
      n.block().set_param(name, v);
      n.params.set(name, std::move(v));
      ok = true;
    } catch (const std::exception& e) {
      error = e.what();
    }
  });
  if (ok) im.log(LogLevel::info, "block '" + block + "': parameter '" + name + "' set to " + value);
  return ok;
}

bool Runtime::get_param(const std::string& block, const std::string& name, std::string& value,
                        std::string& error) const {
  const auto& im = *impl_;
  std::shared_lock lock(im.graph_mu);
  auto it = im.by_id.find(block);
  if (it == im.by_id.end()) {
    error = "no block '" + block + "' in the running graph";
    return false;
  }
  const Node& n = *it->second;
  for (const auto& ps : n.info->params)
    if (ps.name == name) {
      value = format_param_value(ps, n.params.at(name));
      return true;
    }
  error = "block '" + block + "' (" + n.info->type + ") has no parameter '" + name + "'";
  return false;
}

std::string Runtime::graph_dot() const {
  const auto& im = *impl_;
  std::shared_lock lock(im.graph_mu);
  std::ostringstream os;
  os << "digraph \"" << im.comp->comp.name << "\" {\n  rankdir=LR;\n";
  for (const auto& n : im.nodes)
    os << "  \"" << n->id << "\" [shape=box, label=\"" << n->id << "\\n" << n->info->type << "\"];\n";
  for (const auto& n : im.nodes)
    for (std::size_t p = 0; p < n->outs.size(); ++p)
      for (const auto& t : n->outs[p])
        os << "  \"" << n->id << "\" -> \"" << t.node->id << "\" [label=\"" << n->info->outputs[p].name
           << " -> " << t.node->info->inputs[t.port].name << "\"];\n";
  os << "}\n";
  return os.str();
}

std::pair<std::uint64_t, std::uint64_t> Runtime::reload_counts() const {
  std::lock_guard lock(impl_->exec_mu);
  return {impl_->reloads_applied, impl_->reloads_refused};
}

// Async-signal-safe (called from the SIGINT handler): an atomic store and
// pthread_kill.
void Runtime::stop() noexcept {
  impl_->stop_flag.store(true, std::memory_order_relaxed);
  const std::size_t n = impl_->wake_count.load();
  for (std::size_t i = 0; i < n; ++i) pthread_kill(impl_->wake[i], kWakeSignal);
}

bool Runtime::stopping() const noexcept { return impl_->stop_flag.load(std::memory_order_relaxed); }

std::vector<BlockStats> Runtime::stats() const {
  std::shared_lock lock(impl_->graph_mu);
  std::vector<BlockStats> v;
  for (const auto& np : impl_->nodes) {
    const Node& n = *np;
    BlockStats s;
    s.id = n.id;
    s.type = n.info->type;
    for (std::size_t i = 0; i < n.info->inputs.size(); ++i)
      s.inputs.push_back({n.info->inputs[i].name, n.info->inputs[i].type, n.in_ctr[i].messages.value(),
                          n.in_ctr[i].items.value(), 0});
    for (std::size_t i = 0; i < n.info->outputs.size(); ++i)
      s.outputs.push_back({n.info->outputs[i].name, n.info->outputs[i].type, n.out_ctr[i].messages.value(),
                           n.out_ctr[i].items.value(), n.out_ctr[i].unconnected.value()});
    for (const auto& [name, c] : n.counters) s.counters.emplace_back(name, c->value());
    s.errors = n.errors.value();
    if (n.handle.block) s.summary = n.handle.block->summary();
    if (n.is_source()) {
      s.source = true;
      s.max_in_flight = impl_->comp->comp.max_in_flight;
      if (n.pool) {
        s.in_flight = n.pool->in_flight();
        s.backpressure_waits = n.pool->waits();
      }
    }
    v.push_back(std::move(s));
  }
  return v;
}

std::string format_stats(const std::vector<BlockStats>& stats) {
  std::ostringstream os;
  for (const auto& b : stats) {
    os << b.id << " (" << b.type << ")";
    for (const auto& p : b.inputs) os << "  in." << p.name << "=" << p.items;
    for (const auto& p : b.outputs) {
      os << "  out." << p.name << "=" << p.items;
      if (p.unconnected) os << " (unconnected " << p.unconnected << ")";
    }
    if (b.errors) os << "  errors=" << b.errors;
    os << "\n";
    bool any = false;
    for (const auto& [name, value] : b.counters) {
      if (value == 0) continue;
      os << (any ? " " : "    ") << name << "=" << value;
      any = true;
    }
    if (any) os << "\n";
    if (!b.summary.empty()) os << "    " << b.summary << "\n";
  }
  return os.str();
}

}  // namespace netloom::core
