#include "runtime/shard_group.hpp"

#include <oneapi/tbb/parallel_for.h>

#include <netloom/flow_order.hpp>

namespace netloom::core::detail {
namespace {
// Released when every consumer has dropped the step's merged batch.
struct StepGate {
  explicit StepGate(ShardGroup* g) : group(g) {}
  StepGate(const StepGate&) = delete;
  StepGate& operator=(const StepGate&) = delete;
  ShardGroup* group;
  ~StepGate() {
    if (group) group->release_step();
  }
};
// What a forwarded message's shared_ptr owns: the message and the gate.
struct Held {
  std::shared_ptr<StepGate> gate;
  MessagePtr msg;
};
}  // namespace

ShardGroup::ShardGroup(Runtime::Impl& rt, std::vector<Node*> members, unsigned replicas, Node* entry,
                       unsigned entry_port)
    : rt_(rt),
      members_(std::move(members)),
      n_(replicas),
      entry_(entry),
      entry_port_(entry_port),
      subs_(replicas),
      sub_of_(replicas, nullptr),
      own_(replicas, 0),
      exits_(replicas) {
  auto& g = *rt_.graph;
  queue_ = std::make_unique<flow::queue_node<Envelope>>(g);
  limiter_ = std::make_unique<flow::limiter_node<Envelope>>(g, 1);
  step_node_ = std::make_unique<FunctionNode>(g, flow::serial, [this](const Envelope& e) {
    try {
      step(e);
    } catch (const std::exception& ex) {  // blocks' own errors are caught in deliver(): this is the runtime's
      misaligned_.add_shared();
      rt_.log(LogLevel::error, "replicated group of '" + entry_->id + "': batch dropped: " + ex.what());
      release_step();
    }
    return flow::continue_msg();
  });
  flow::make_edge(*queue_, *limiter_);
  flow::make_edge(*limiter_, *step_node_);
}

ShardGroup::~ShardGroup() = default;

void ShardGroup::release_step() { limiter_->decrementer().try_put(flow::continue_msg()); }

std::size_t ShardGroup::items_of(unsigned replica, const Message& m) const {
  return replica < n_ && sub_of_[replica] == &m ? own_[replica] : m.items();
}

static Node* instance(Node* first, unsigned k) { return k == 0 ? first : first->others[k - 1].get(); }

void ShardGroup::step(const Envelope& e) {
  // The batch becomes the merged output: a private copy if others share it.
  std::shared_ptr<PacketBatch> batch = std::static_pointer_cast<PacketBatch>(
      e.msg.use_count() > 1 && entry_->info->inputs[entry_port_].mutates ? e.msg->clone() : e.msg);
  if (n_ == 1) {  // one chain: the batch itself goes through it
    sub_of_[0] = nullptr;
    entry_->deliver(Envelope{entry_port_, batch}, true);
    merge_and_forward(nullptr, true);
    return;
  }
  const auto& pk = batch->packets;
  const std::size_t np = pk.size();
  owner_.resize(np);
  for (unsigned k = 0; k < n_; ++k) {
    if (!subs_[k] || subs_[k].use_count() > 1) subs_[k] = std::make_shared<PacketBatch>();
    PacketBatch& s = *subs_[k];
    s.clear();
    s.packets = pk;  // frame bytes stay in the batch's buffer: only the metadata is copied
    s.clock_ns = batch->clock_ns;
    s.sequence = batch->sequence;
    own_[k] = 0;
    sub_of_[k] = &s;
  }
  for (std::size_t i = 0; i < np; ++i) {
    const unsigned o = pk[i].flow_hash % n_;
    owner_[i] = static_cast<std::uint16_t>(o);
    ++own_[o];
    for (unsigned k = 0; k < n_; ++k)
      if (k != o) {
        Packet& q = subs_[k]->packets[i];
        q.flags |= kOtherShard;
        q.flow = nullptr;  // set by a tracker before the group: not this replica's flow
      }
  }
  // Flow events from before the group (a tracker that is not replicated) go
  // to the replica that owns the flow.
  for (const FlowEvent& ev : batch->events)
    subs_[ev.flow ? ev.flow->flow_hash % n_ : 0]->events.push_back(ev);
  tbb::parallel_for(0u, n_, [&](unsigned k) {
    instance(entry_, k)->deliver(Envelope{entry_port_, subs_[k]}, true);
  });
  merge_and_forward(batch, true);
}

void ShardGroup::route(Node& from, unsigned port, MessagePtr msg) {
  Node* first = from.primary;
  const auto& targets = first->outs[port];
  std::size_t inside = 0;
  for (const auto& t : targets) inside += t.node->group == this;
  const bool outside = inside < targets.size();
  for (const auto& t : targets)
    if (t.node->group == this)
      instance(t.node, from.replica)->deliver(Envelope{t.port, msg}, inside == 1 && !outside);
  if (outside) exits_[from.replica].push_back(Exit{first, port, std::move(msg)});
}

void ShardGroup::flush() {
  for (unsigned k = 0; k < n_; ++k) sub_of_[k] = nullptr;
  for (Node* m : members_)
    for (unsigned k = 0; k < n_; ++k) {
      Node* inst = instance(m, k);
      try {
        inst->block().flush(inst->emit);
      } catch (const std::exception& ex) {
        inst->count_error("flush", ex.what());
      }
    }
  merge_and_forward(nullptr, false);
}

void ShardGroup::forward(Node* from, unsigned port, const MessagePtr& msg,
                         const std::shared_ptr<void>& gate) {
  auto held = std::make_shared<Held>(Held{std::static_pointer_cast<StepGate>(gate), msg});
  MessagePtr out(held, msg.get());
  for (const auto& t : from->outs[port])
    if (t.node->group != this) t.node->input->try_put(Envelope{t.port, out});
}

// Pairs what the replicas emitted on each port leaving the group. A packet
// batch each replica forwarded once becomes one batch again: every packet
// from its owner, every flow event in the canonical order. Packet-less
// batches (flush) are merged into one; other messages are forwarded in
// replica order.
void ShardGroup::merge_and_forward(const std::shared_ptr<PacketBatch>& original, bool gated) {
  std::shared_ptr<void> gate = std::make_shared<StepGate>(gated ? this : nullptr);
  struct Out {
    Node* from;
    unsigned port;
    std::vector<std::vector<MessagePtr>> parts;
  };
  if (n_ == 1) {
    for (auto& x : exits_[0]) forward(x.from, x.port, x.msg, gate);
    exits_[0].clear();
    return;
  }
  std::vector<Out> outs;
  for (unsigned k = 0; k < n_; ++k) {
    for (auto& x : exits_[k]) {
      Out* o = nullptr;
      for (auto& c : outs)
        if (c.from == x.from && c.port == x.port) o = &c;
      if (!o) {
        outs.push_back(Out{x.from, x.port, std::vector<std::vector<MessagePtr>>(n_)});
        o = &outs.back();
      }
      o->parts[k].push_back(std::move(x.msg));
    }
    exits_[k].clear();
  }
  bool original_used = false;
  for (auto& o : outs) {
    if (o.from->info->outputs[o.port].type != PacketBatch::kType) {
      for (auto& part : o.parts)
        for (auto& m : part) forward(o.from, o.port, m, gate);
      continue;
    }
    bool aligned = original != nullptr;
    for (unsigned k = 0; aligned && k < n_; ++k)
      aligned = o.parts[k].size() == 1 &&
                o.parts[k][0]->as<PacketBatch>().packets.size() == original->packets.size();
    if (aligned) {
      // The replicas carry the batch's events (their own and those handed to
      // them): the merged batch's are theirs.
      std::shared_ptr<PacketBatch> out =
          original_used ? std::static_pointer_cast<PacketBatch>(original->clone()) : original;
      original_used = true;
      out->events.clear();
      const std::uint8_t* base = original->buffer.data();
      std::uint8_t* out_base = out->buffer.data();
      for (std::size_t i = 0; i < out->packets.size(); ++i) {
        const Packet& p = o.parts[owner_[i]][0]->as<PacketBatch>().packets[i];
        out->packets[i] = p;
        out->packets[i].data = out_base + (p.data - base);
      }
      for (auto& part : o.parts) {
        auto& pb = part[0]->as<PacketBatch>();
        out->events.insert(out->events.end(), pb.events.begin(), pb.events.end());
        for (auto& r : pb.retired) out->retired.push_back(std::move(r));
        pb.retired.clear();
      }
      sort_flow_events(out->events);
      forward(o.from, o.port, out, gate);
      continue;
    }
    auto out = std::make_shared<PacketBatch>();
    bool any = false;
    for (auto& part : o.parts)
      for (auto& m : part) {
        auto& pb = m->as<PacketBatch>();
        if (!pb.packets.empty()) {
          misaligned_.add_shared();
          if (misaligned_.value() <= 10)
            rt_.log(LogLevel::error, "block '" + o.from->id + "' (" + o.from->info->type +
                                         "): a replica did not forward its batch once with every packet "
                                         "(the replicable contract); its output was dropped");
          continue;
        }
        out->events.insert(out->events.end(), pb.events.begin(), pb.events.end());
        for (auto& r : pb.retired) out->retired.push_back(std::move(r));
        out->clock_ns = std::max(out->clock_ns, pb.clock_ns);
        any = true;
      }
    if (!any) continue;
    sort_flow_events(out->events);
    forward(o.from, o.port, out, gate);
  }
}

}  // namespace netloom::core::detail
