#include "runtime/runtime_impl.hpp"
#include "runtime/shard_group.hpp"

namespace netloom::core {
using namespace detail;
namespace detail {

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

std::size_t Node::items_of(const Message& m) const { return group ? group->items_of(replica, m) : m.items(); }

void Node::fan_out(unsigned out_port, MessagePtr msg) {
  const auto items = items_of(*msg);
  auto& ctr = out_ctr[out_port];
  ctr.messages.add_shared(1);
  ctr.items.add_shared(items);
  auto& targets = primary->outs[out_port];
  if (targets.empty()) {
    ctr.unconnected.add_shared(items);
    return;
  }
  if (group) {
    group->route(*this, out_port, std::move(msg));
    return;
  }
  for (std::size_t i = 0; i + 1 < targets.size(); ++i)
    targets[i].node->input->try_put(Envelope{targets[i].port, msg});
  // The last consumer takes our reference, so an exclusive message stays
  // exclusive and copy-on-write does not copy needlessly.
  targets.back().node->input->try_put(Envelope{targets.back().port, std::move(msg)});
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

namespace {
// Instances of block `id`: its replica group's count, else 1.
unsigned replicas_of(const ValidatedComposition& c, const std::string& id) {
  for (const auto& g : c.groups)
    for (const auto& m : g.members)
      if (m == id) {
        if (g.replicas == "auto") return std::max(1u, std::thread::hardware_concurrency());
        return static_cast<unsigned>(std::stoul(g.replicas));
      }
  return 1;
}
}  // namespace

// One node for block `id` of the current composition: instantiated,
// configured, with its TBB node(s), and its other instances if replicated.
// nullptr (and a line in `errors`) when the block refuses its configuration.
Node* Runtime::Impl::make_node(const std::string& id, std::vector<std::string>& errors) {
  const unsigned replicas = replicas_of(*comp, id);
  std::unique_ptr<Node> owned = make_instance(id, nullptr, 0, replicas, errors);
  if (!owned) return nullptr;
  for (unsigned k = 1; k < replicas; ++k) {
    auto other = make_instance(id, owned.get(), k, replicas, errors);
    if (!other) return nullptr;
    owned->others.push_back(std::move(other));
  }
  Node* np = owned.get();
  const auto& decl_replicas = np->decl->replicas;
  if (replicas == 1 && !decl_replicas.empty() && decl_replicas != "1")
    log(LogLevel::info, "block '" + id + "': replicas=" + decl_replicas +
                            (np->concurrent ? ": a stateless block runs concurrently anyway, as one instance"
                                            : ": one instance on this machine"));
  nodes.push_back(std::move(owned));
  by_id[id] = np;
  return np;
}

std::unique_ptr<Node> Runtime::Impl::make_instance(const std::string& id, Node* primary, unsigned replica,
                                                   unsigned replicas, std::vector<std::string>& errors) {
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
  n.replica = replica;
  n.replicas = replicas;
  if (primary) n.primary = primary;
  n.outs.resize(n.info->outputs.size());
  n.in_ctr = std::make_unique<PortCounters[]>(n.info->inputs.size());
  n.out_ctr = std::make_unique<PortCounters[]>(n.info->outputs.size());
  for (const auto& cs : n.info->counters) n.counters.emplace_back(cs.name, std::make_unique<Counter>());
  const std::string prefix = n.decl->loc.file + ":" + std::to_string(n.decl->loc.line) + ": block '" + id +
                             (replicas > 1 ? "' (replica " + std::to_string(replica) + ")" : "'") + ": ";
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
  if (primary) return owned;  // other instances are called directly by their group
  Node* np = &n;
  const std::size_t concurrency = n.concurrent ? flow::unlimited : flow::serial;
  arena->execute([&] {
    if (n.is_source() && n.info->parallel_prepare) n.make_prepare_stage(*graph);
    n.fnode = std::make_unique<FunctionNode>(*graph, concurrency, [np](const Envelope& e) {
      np->deliver(e);
      return flow::continue_msg();
    });
  });
  n.input = n.fnode.get();
  return owned;
}

// The replica groups of the current composition, over nodes already made.
void Runtime::Impl::make_groups() {
  for (auto& n : nodes) {
    n->group = nullptr;
    for (auto& o : n->others) o->group = nullptr;
    n->input = n->fnode.get();
  }
  groups.clear();
  for (const auto& g : comp->groups) {
    const unsigned n = replicas_of(*comp, g.members.front());
    // One instance on one thread: the blocks already run one batch at a time.
    if (n <= 1 && threads <= 1) continue;
    std::vector<Node*> members;
    for (const auto& id : g.members) members.push_back(by_id.at(id));
    Node* entry = by_id.at(g.entry.block);
    const unsigned port = port_index(entry->info->inputs, g.entry.port);
    arena->execute([&] { groups.push_back(std::make_unique<ShardGroup>(*this, members, n, entry, port)); });
    ShardGroup* grp = groups.back().get();
    for (Node* m : members) {
      m->group = grp;
      for (auto& o : m->others) o->group = grp;
    }
    entry->input = &grp->input();
  }
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
    // Replicas are there to use the cores: every one of them.
    for (const auto& g : c.groups)
      if (replicas_of(c, g.members.front()) > 1)
        threads = std::max(threads, static_cast<int>(std::thread::hardware_concurrency()));
  }
  im.threads = threads;
  im.arena = std::make_unique<tbb::task_arena>(threads);
  im.arena->execute([&] { im.graph = std::make_unique<flow::graph>(); });
  for (const auto& id : c.topo_order) {
    im.make_node(id, errors);
    im.prefault.poll();
  }
  if (!errors.empty()) return false;
  im.make_groups();
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
        im.prefault.poll();
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
    if (n->group && !n->group->is_first_member(n.get())) continue;  // flushed with its group
    im.arena->execute([&] {
      if (n->group) {
        n->group->flush();
      } else {
        try {
          n->block().flush(n->emit);
        } catch (const std::exception& e) {
          n->count_error("flush", e.what());
        }
      }
      im.graph->wait_for_all();
    });
  }
  std::uint64_t errs = 0;
  for (auto& n : im.nodes) {
    errs += n->errors.value();
    for (auto& o : n->others) errs += o->errors.value();
  }
  for (auto& g : im.groups) errs += g->misaligned();
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

  // Replicated groups keep their instances (and the flows they hold) only
  // when nothing about them changes but live parameters.
  auto groups_text = [](const ValidatedComposition& c) {
    std::string t;
    for (const auto& g : c.groups) {
      if (g.replicas == "1") continue;  // one instance: nothing to keep but the blocks
      t += g.replicas + ":" + g.entry.block + "." + g.entry.port + ":";
      for (const auto& m : g.members) t += m + ",";
      t += ";";
    }
    return t;
  };
  if (groups_text(*comp) != groups_text(*next)) {
    report.lines.push_back(
        "reload refused: replicated groups differ (members, replicas or input); restart "
        "netloom to apply");
    return false;
  }
  for (const auto& p : plans)
    if (p.old && p.old->replicas > 1 && p.fate == Fate::rebuild) {
      report.lines.push_back("reload refused: '" + p.id +
                             "' is replicated and would be rebuilt; only its live parameters can change "
                             "without a restart");
      return false;
    }

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
        for (auto& o : p.old->others) o->block().set_param(name, want.at(name));
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
    make_groups();  // the new generation's chains
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
      for (auto& o : n.others) o->block().set_param(name, v);
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
    os << "  \"" << n->id << "\" [shape=box, label=\"" << n->id << "\\n"
       << n->info->type << (n->replicas > 1 ? " x" + std::to_string(n->replicas) : std::string()) << "\"];\n";
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
    // A replicated block's figures are the sums over its instances.
    std::vector<const Node*> inst{&n};
    for (const auto& o : n.others) inst.push_back(o.get());
    auto sum = [&](auto get) {
      std::uint64_t v = 0;
      for (const Node* x : inst) v += get(*x);
      return v;
    };
    for (std::size_t i = 0; i < n.info->inputs.size(); ++i)
      s.inputs.push_back({n.info->inputs[i].name, n.info->inputs[i].type,
                          sum([&](const Node& x) { return x.in_ctr[i].messages.value(); }),
                          sum([&](const Node& x) { return x.in_ctr[i].items.value(); }), 0});
    for (std::size_t i = 0; i < n.info->outputs.size(); ++i)
      s.outputs.push_back({n.info->outputs[i].name, n.info->outputs[i].type,
                           sum([&](const Node& x) { return x.out_ctr[i].messages.value(); }),
                           sum([&](const Node& x) { return x.out_ctr[i].items.value(); }),
                           sum([&](const Node& x) { return x.out_ctr[i].unconnected.value(); })});
    for (std::size_t c = 0; c < n.counters.size(); ++c)
      s.counters.emplace_back(n.counters[c].first,
                              sum([&](const Node& x) { return x.counters[c].second->value(); }));
    s.errors = sum([](const Node& x) { return x.errors.value(); });
    for (const Node* x : inst) {
      if (!x->handle.block) continue;
      std::string one = x->handle.block->summary();
      if (one.empty()) continue;
      if (inst.size() > 1) one = "replica " + std::to_string(x->replica) + ": " + one;
      s.summary += (s.summary.empty() ? "" : "; ") + one;
    }
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
