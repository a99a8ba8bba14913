// Composition data checked against the blocks' self-descriptions: ids, types,
// parameters, ports, port types, cycles, unconnected inputs, replicas.
#include <algorithm>
#include <charconv>
#include <deque>
#include <functional>
#include <set>

#include "composition/composition.hpp"

namespace netloom::core {

namespace {

std::string join_names(const std::vector<PortSpec>& ports) {
  std::string s;
  for (const auto& p : ports) s += (s.empty() ? "" : ", ") + p.name;
  return s;
}

const PortSpec* find_port(const std::vector<PortSpec>& ports, std::string_view name) {
  for (const auto& p : ports)
    if (p.name == name) return &p;
  return nullptr;
}

bool valid_replicas(const std::string& r) {
  if (r == "auto") return true;
  if (r.empty() || r[0] < '0' || r[0] > '9') return false;
  int n = 0;
  auto res = std::from_chars(r.data(), r.data() + r.size(), n);
  return res.ec == std::errc() && res.ptr == r.data() + r.size() && n >= 1 && n <= kMaxReplicas;
}

class Validator {
 public:
  Validator(const Composition& c, const InfoLookup& lookup, ValidatedComposition& out,
            std::vector<Diagnostic>& errors)
      : c_(c), lookup_(lookup), out_(out), errors_(errors) {}

  bool run() {
    std::size_t before = errors_.size();
    out_ = ValidatedComposition{};
    out_.comp = c_;
    if (c_.blocks.size() > kMaxBlocks) {
      error(c_.loc, "",
            std::to_string(c_.blocks.size()) + " blocks: a composition holds at most " +
                std::to_string(kMaxBlocks));
      return false;
    }
    check_settings();
    check_blocks();
    check_connections();
    check_inputs();
    order();
    if (errors_.size() == before) check_groups();
    return errors_.size() == before;
  }

 private:
  void error(const SourceLoc& loc, std::string block_id, std::string msg) {
    errors_.push_back({loc, std::move(block_id), std::move(msg)});
  }

  void check_settings() {
    if (c_.threads < 0 || c_.threads > kMaxThreads)
      error(c_.loc, "",
            "threads=" + std::to_string(c_.threads) + ": expected 0 (auto) or 1 to " +
                std::to_string(kMaxThreads));
    if (c_.batch_size < kMinBatch || c_.batch_size > kMaxBatch)
      error(c_.loc, "",
            "batch=" + std::to_string(c_.batch_size) + ": expected an integer from " +
                std::to_string(kMinBatch) + " to " + std::to_string(kMaxBatch));
    if (c_.max_in_flight < kMinInFlight || c_.max_in_flight > kMaxInFlight)
      error(c_.loc, "",
            "max-in-flight=" + std::to_string(c_.max_in_flight) + ": expected an integer from " +
                std::to_string(kMinInFlight) + " to " + std::to_string(kMaxInFlight));
  }

  // ---- blocks and their parameters ----
  void check_blocks() {
    std::map<std::string, int> first_line;
    for (const BlockDecl& b : c_.blocks) {
      if (!is_valid_identifier(b.id)) {
        error(b.loc, "",
              "invalid block id '" + b.id +
                  "': ids start with a letter or '_' and contain only letters, digits, '_' and '-'");
        continue;
      }
      if (auto [it, fresh] = first_line.emplace(b.id, b.loc.line); !fresh) {
        error(b.loc, b.id, "duplicate block id (first declared at line " + std::to_string(it->second) + ")");
        continue;
      }
      decls_[b.id] = &b;
      order_.push_back(b.id);
      const BlockInfo* info = lookup_ ? lookup_(b.type) : nullptr;
      if (!info) {
        error(b.loc, b.id,
              "unknown block type '" + b.type + "' (`netloom inspect` lists the available types)");
        continue;
      }
      out_.infos[b.id] = info;
      check_replicas(b, *info);
      out_.params[b.id] = check_params(b, *info);
    }
  }

  void check_replicas(const BlockDecl& b, const BlockInfo& info) {
    if (b.replicas.empty()) return;
    if (!valid_replicas(b.replicas)) {
      error(b.loc, b.id,
            "replicas='" + b.replicas + "': expected 'auto' or an integer from 1 to " +
                std::to_string(kMaxReplicas));
      return;
    }
    if (info.threading == Threading::serial && b.replicas != "1")
      error(b.loc, b.id, info.type + " is serial and cannot be replicated (replicas='" + b.replicas + "')");
  }

  Params check_params(const BlockDecl& b, const BlockInfo& info) {
    Params p;
    std::map<std::string, int> given;  // name -> line of first occurrence
    for (const ParamEntry& e : b.params) {
      auto spec = std::find_if(info.params.begin(), info.params.end(),
                               [&](const ParamSpec& s) { return s.name == e.name; });
      if (spec == info.params.end()) {
        std::string names;
        for (const auto& s : info.params) names += (names.empty() ? "" : ", ") + s.name;
        error(e.loc, b.id,
              "unknown parameter '" + e.name + "' for " + info.type +
                  (names.empty() ? " (it takes no parameters)" : " (parameters: " + names + ")"));
        continue;
      }
      if (auto [it, fresh] = given.emplace(e.name, e.loc.line); !fresh) {
        error(e.loc, b.id,
              "parameter '" + e.name + "' given twice (first at line " + std::to_string(it->second) + ")");
        continue;
      }
      try {
        p.set(e.name, parse_param_value(*spec, e.value));
      } catch (const ConfigError& ex) {
        error(e.loc, b.id, ex.what());
      }
    }
    for (const ParamSpec& s : info.params) {
      if (given.count(s.name)) continue;
      if (s.required()) {
        error(b.loc, b.id, "missing required parameter '" + s.name + "' (" + param_type_name(s.type) + ")");
        continue;
      }
      try {
        p.set(s.name, parse_param_value(s, *s.default_text));
      } catch (const ConfigError& ex) {
        error(b.loc, b.id, info.type + " declares an invalid default: " + ex.what());
      }
    }
    return p;
  }

  // ---- connections ----
  // Resolves one endpoint; nullptr (after reporting, when it is the
  // composition's fault) if the connection cannot be checked further.
  const PortSpec* resolve(const Connection& k, const Endpoint& ep, bool output) {
    const char* attr = output ? "from" : "to";
    if (ep.port.empty()) {
      error(k.loc, "",
            std::string("connect ") + attr + "='" + ep.block + "': malformed endpoint, expected BLOCK.PORT");
      return nullptr;
    }
    std::string text = ep.block + "." + ep.port;
    auto d = decls_.find(ep.block);
    if (d == decls_.end()) {
      error(k.loc, "",
            std::string("connect ") + attr + "='" + text + "': no block with id '" + ep.block + "'");
      return nullptr;
    }
    auto inf = out_.infos.find(ep.block);
    if (inf == out_.infos.end()) return nullptr;  // unknown type, already reported
    const BlockInfo& info = *inf->second;
    const auto& ports = output ? info.outputs : info.inputs;
    if (const PortSpec* p = find_port(ports, ep.port)) return p;
    std::string dir = output ? "output" : "input";
    error(k.loc, "",
          std::string("connect ") + attr + "='" + text + "': block '" + ep.block + "' (" + info.type +
              ") has no " + dir + " port '" + ep.port + "' " +
              (ports.empty() ? "(it has no " + dir + "s)" : "(" + dir + "s: " + join_names(ports) + ")"));
    return nullptr;
  }

  void check_connections() {
    std::map<std::tuple<std::string, std::string, std::string, std::string>, int> seen;
    for (const Connection& k : c_.connections) {
      const PortSpec* from = resolve(k, k.from, true);
      const PortSpec* to = resolve(k, k.to, false);
      // the input counts as connected even when the connection is wrong
      // elsewhere: one mistake, one error
      if (to) connected_inputs_.insert({k.to.block, k.to.port});
      if (!from || !to) continue;
      auto key = std::make_tuple(k.from.block, k.from.port, k.to.block, k.to.port);
      if (auto [it, fresh] = seen.emplace(key, k.loc.line); !fresh) {
        error(k.loc, "",
              "connection " + k.from.block + "." + k.from.port + " -> " + k.to.block + "." + k.to.port +
                  " is given twice (first at line " + std::to_string(it->second) + ")");
        continue;
      }
      if (from->type != "*" && to->type != "*" && from->type != to->type) {
        error(k.loc, "",
              k.from.block + "." + k.from.port + " (" + from->type + ") cannot feed " + k.to.block + "." +
                  k.to.port + " (" + to->type + ")");
        continue;
      }
      edges_.push_back(&k);
    }
  }

  void check_inputs() {
    for (const std::string& id : order_) {
      auto inf = out_.infos.find(id);
      if (inf == out_.infos.end()) continue;
      for (const PortSpec& p : inf->second->inputs)
        if (p.required && !connected_inputs_.count({id, p.name}))
          error(decls_[id]->loc, id,
                "required input port '" + p.name + "' (" + p.type + ") is not connected");
    }
  }

  // ---- replica groups ----
  bool per_flow(const std::string& id) const {
    auto inf = out_.infos.find(id);
    return inf != out_.infos.end() && inf->second->threading == Threading::replicable;
  }
  static std::string replicas_of(const BlockDecl& d) { return d.replicas.empty() ? "1" : d.replicas; }

  // Groups are the connected components of blocks whose state is per flow
  // (a tracker and its classifiers): they run as one chain per batch, so no
  // block reads a flow another one is updating for a later batch. Replicated,
  // a group needs one replica count (blocks without `replicas` take the
  // group's) and one way in, a packet stream to split by flow. A group that
  // is not replicated and has another shape simply runs block by block.
  void check_groups() {
    std::map<std::string, std::size_t> group_of;
    std::vector<ReplicaGroup> found;
    for (const std::string& id : out_.topo_order) {
      if (!per_flow(id) || group_of.count(id)) continue;
      const std::size_t g = found.size();
      found.push_back({});
      std::vector<std::string> todo{id};
      group_of[id] = g;
      while (!todo.empty()) {
        std::string cur = todo.back();
        todo.pop_back();
        for (const Connection* k : edges_) {
          const std::string* other = k->from.block == cur ? &k->to.block
                                     : k->to.block == cur ? &k->from.block
                                                          : nullptr;
          if (!other || !per_flow(*other) || group_of.count(*other)) continue;
          group_of[*other] = g;
          todo.push_back(*other);
        }
      }
    }
    for (const std::string& id : out_.topo_order)
      if (auto it = group_of.find(id); it != group_of.end()) found[it->second].members.push_back(id);
    for (std::size_t g = 0; g < found.size(); ++g) {
      ReplicaGroup& grp = found[g];
      const BlockDecl* first = nullptr;  // the first member that gives replicas
      for (const auto& m : grp.members)
        if (!first && !decls_.at(m)->replicas.empty()) first = decls_.at(m);
      grp.replicas = first ? replicas_of(*first) : "1";
      const bool replicated = grp.replicas != "1";
      std::string names;
      for (const auto& m : grp.members) names += (names.empty() ? "" : ", ") + m;
      bool ok = true;
      for (const auto& m : grp.members) {
        const BlockDecl* d = decls_.at(m);
        if (!d->replicas.empty() && replicas_of(*d) != grp.replicas) {
          error(d->loc, m,
                "replicas='" + d->replicas + "' differs from replicas='" + first->replicas + "' of '" +
                    first->id + "', which it is connected to (blocks with per-flow state that feed each " +
                    "other form one group: " + names + ")");
          ok = false;
        }
      }
      std::vector<const Connection*> entries;
      for (const Connection* k : edges_)
        if (group_of.count(k->to.block) && group_of[k->to.block] == g &&
            !(group_of.count(k->from.block) && group_of[k->from.block] == g))
          entries.push_back(k);
      const PortSpec* in = entries.size() == 1
                               ? find_port(out_.infos.at(entries[0]->to.block)->inputs, entries[0]->to.port)
                               : nullptr;
      const bool packets = in && in->type == PacketBatch::kType;
      if (!replicated) {
        if (entries.size() == 1 && packets) {
          grp.entry = entries[0]->to;
          out_.groups.push_back(grp);
        }
        continue;
      }
      if (entries.size() != 1) {
        error(first->loc, first->id,
              "the replicated group (" + names + ") has " + std::to_string(entries.size()) +
                  " inputs from outside it; it needs exactly one, a PacketBatch stream to split by flow");
        ok = false;
      } else if (!packets) {
        error(entries[0]->loc, "",
              "the replicated group (" + names + ") is fed through " + entries[0]->to.block + "." +
                  entries[0]->to.port +
                  ", which does not take PacketBatch: only packet streams can be split by flow");
        ok = false;
      }
      if (ok) {
        grp.entry = entries[0]->to;
        out_.groups.push_back(grp);
      }
    }
  }

  // ---- cycles and topological order ----
  void order() {
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < order_.size(); ++i) index[order_[i]] = i;
    std::size_t n = order_.size();
    std::vector<std::vector<std::pair<std::size_t, const Connection*>>> succ(n);
    std::vector<int> indeg(n, 0);
    std::set<std::pair<std::size_t, std::size_t>> unique_edges;
    for (const Connection* k : edges_) {
      std::size_t a = index.at(k->from.block), b = index.at(k->to.block);
      succ[a].push_back({b, k});
      if (unique_edges.insert({a, b}).second) ++indeg[b];
    }
    // Kahn with a FIFO seeded by every source in declaration order: sources first.
    std::deque<std::size_t> ready;
    for (std::size_t i = 0; i < n; ++i)
      if (indeg[i] == 0) ready.push_back(i);
    std::set<std::pair<std::size_t, std::size_t>> done_edges;
    std::vector<bool> emitted(n, false);
    while (!ready.empty()) {
      std::size_t v = ready.front();
      ready.pop_front();
      emitted[v] = true;
      if (out_.infos.count(order_[v])) out_.topo_order.push_back(order_[v]);
      for (auto [w, k] : succ[v])
        if (done_edges.insert({v, w}).second && --indeg[w] == 0) ready.push_back(w);
    }
    if (std::all_of(emitted.begin(), emitted.end(), [](bool e) { return e; })) return;
    report_cycles(succ, emitted);
  }

  // One error per strongly connected component that holds a cycle, naming
  // the blocks along one shortest cycle through its first-declared block.
  void report_cycles(const std::vector<std::vector<std::pair<std::size_t, const Connection*>>>& succ,
                     const std::vector<bool>& emitted) {
    std::size_t n = succ.size();
    // Tarjan's SCC over the blocks Kahn could not order.
    std::vector<int> idx(n, -1), low(n, 0), comp(n, -1);
    std::vector<bool> on_stack(n, false);
    std::vector<std::size_t> stack;
    int counter = 0, ncomp = 0;
    std::function<void(std::size_t)> strong = [&](std::size_t v) {
      idx[v] = low[v] = counter++;
      stack.push_back(v);
      on_stack[v] = true;
      for (auto [w, k] : succ[v]) {
        if (emitted[w]) continue;
        if (idx[w] < 0) {
          strong(w);
          low[v] = std::min(low[v], low[w]);
        } else if (on_stack[w]) {
          low[v] = std::min(low[v], idx[w]);
        }
      }
      if (low[v] == idx[v]) {
        for (;;) {
          std::size_t w = stack.back();
          stack.pop_back();
          on_stack[w] = false;
          comp[w] = ncomp;
          if (w == v) break;
        }
        ++ncomp;
      }
    };
    for (std::size_t v = 0; v < n; ++v)
      if (!emitted[v] && idx[v] < 0) strong(v);

    std::vector<bool> reported(static_cast<std::size_t>(ncomp), false);
    for (std::size_t start = 0; start < n; ++start) {  // declaration order
      if (emitted[start] || reported[static_cast<std::size_t>(comp[start])]) continue;
      // BFS inside the component back to `start`.
      std::vector<long> parent(n, -1);
      std::vector<const Connection*> via(n, nullptr);
      std::deque<std::size_t> q{start};
      std::vector<bool> seen(n, false);
      seen[start] = true;
      const Connection* closing = nullptr;
      std::size_t last = start;
      while (!q.empty() && !closing) {
        std::size_t v = q.front();
        q.pop_front();
        for (auto [w, k] : succ[v]) {
          if (emitted[w] || comp[w] != comp[start]) continue;
          if (w == start) {
            closing = k;
            last = v;
            break;
          }
          if (!seen[w]) {
            seen[w] = true;
            parent[w] = static_cast<long>(v);
            via[w] = k;
            q.push_back(w);
          }
        }
      }
      if (!closing) continue;  // a single block without a self-loop: only downstream of a cycle
      reported[static_cast<std::size_t>(comp[start])] = true;
      std::vector<std::size_t> path;
      for (long v = static_cast<long>(last); v != -1 && static_cast<std::size_t>(v) != start; v = parent[v])
        path.push_back(static_cast<std::size_t>(v));
      path.push_back(start);
      std::reverse(path.begin(), path.end());
      std::string text;
      for (std::size_t v : path) text += order_[v] + " -> ";
      text += order_[start];
      error(closing->loc, "", "connections form a cycle: " + text);
    }
  }

  const Composition& c_;
  const InfoLookup& lookup_;
  ValidatedComposition& out_;
  std::vector<Diagnostic>& errors_;

  std::map<std::string, const BlockDecl*> decls_;  // valid, unique ids
  std::vector<std::string> order_;                 // those ids in declaration order
  std::set<std::pair<std::string, std::string>> connected_inputs_;
  std::vector<const Connection*> edges_;  // well-formed, type-correct connections
};

}  // namespace

bool validate_composition(const Composition& c, const InfoLookup& lookup, ValidatedComposition& out,
                          std::vector<Diagnostic>& errors) {
  if (&c == &out.comp) {  // `out` is reset first: keep the input alive
    Composition copy = c;
    return Validator(copy, lookup, out, errors).run();
  }
  return Validator(c, lookup, out, errors).run();
}

}  // namespace netloom::core
