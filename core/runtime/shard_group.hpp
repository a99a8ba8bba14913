// A group of blocks with per-flow state (a flow tracker and its
// classifiers) run as one chain per batch; replicated, as N copies of the
// chain, each fed the flows of its share of the symmetric flow hash, run in
// parallel on one batch at a time, and merged back into the batch a
// 1-replica run would have produced.
//
// Every replica sees every packet of a batch, the others' flagged
// kOtherShard (for their timestamps only), so timeout checks fall at the
// same stream positions in each; the merge takes each packet from the
// replica that owns it and orders the flow events with flow_order.hpp.
// One batch is inside the group and its downstream at a time (a limiter
// released when every consumer has dropped the merged batch): consumers may
// read the flows' live state while no replica changes it.
#pragma once
#include <memory>
#include <vector>

#include "runtime/runtime_impl.hpp"

namespace netloom::core::detail {

class ShardGroup {
 public:
  ShardGroup(Runtime::Impl& rt, std::vector<Node*> members, unsigned replicas, Node* entry,
             unsigned entry_port);
  ~ShardGroup();

  // Where the group's input is put (the entry block's Node::input).
  flow::receiver<Envelope>& input() { return *queue_; }
  bool is_first_member(const Node* n) const { return n == members_.front(); }
  // Called by a replica's emit: delivered inside the replica's chain, or
  // kept for the merge when it leaves the group.
  void route(Node& from, unsigned port, MessagePtr msg);
  // End of stream: flushes every instance of every member (in topological
  // order), then merges and forwards what they emitted.
  void flush();
  // Items of message `m` for instance `replica` (its share of a batch).
  std::size_t items_of(unsigned replica, const Message& m) const;
  // Batches dropped by the group: merges that could not pair the replicas'
  // outputs (a block broke the replicable contract), runtime errors. Each
  // is logged and counts as a run error.
  std::uint64_t misaligned() const { return misaligned_.value(); }
  void release_step();  // the merged batch of a step has been dropped by everyone

 private:
  struct Exit {
    Node* from;  // first instance of the emitting block
    unsigned port;
    MessagePtr msg;
  };
  void step(const Envelope& e);
  void merge_and_forward(const std::shared_ptr<PacketBatch>& original, bool gated);
  void forward(Node* from, unsigned port, const MessagePtr& msg, const std::shared_ptr<void>& gate);

  Runtime::Impl& rt_;
  std::vector<Node*> members_;  // first instances, topological order
  unsigned n_;
  Node* entry_;
  unsigned entry_port_;
  std::unique_ptr<flow::queue_node<Envelope>> queue_;
  std::unique_ptr<flow::limiter_node<Envelope>> limiter_;
  std::unique_ptr<FunctionNode> step_node_;
  std::vector<std::shared_ptr<PacketBatch>> subs_;  // reused per step
  std::vector<const Message*> sub_of_;              // this step's sub-batch per replica
  std::vector<std::size_t> own_;                    // packets it owns
  std::vector<std::uint16_t> owner_;                // replica owning each packet of the step
  std::vector<std::vector<Exit>> exits_;            // per replica, in emission order
  Counter misaligned_;
};

}  // namespace netloom::core::detail
