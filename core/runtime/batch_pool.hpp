// Recycled packet batches with a bound on how many are in flight.
//
// A source asks for a batch, fills it and emits it; when the last consumer
// lets go, the batch returns here with its buffers' capacity intact (no
// malloc per batch). The in-flight bound is the graph's back-pressure: a
// source that outruns its consumers waits here instead of queueing without
// limit or dropping.
#pragma once
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "netloom/packet.hpp"

namespace netloom::core {

class BatchPool : public std::enable_shared_from_this<BatchPool> {
 public:
  explicit BatchPool(std::size_t max_in_flight) : max_in_flight_(max_in_flight) {}

  // Blocks while max_in_flight batches are alive, unless `cancelled()`.
  std::shared_ptr<PacketBatch> acquire();
  // Wakes waiters and lets acquire() exceed the bound from now on (used when
  // stopping, and by the one-thread mode where nothing drains the pool meanwhile).
  void cancel();
  std::size_t in_flight() const;
  std::size_t waits() const;  // how often a source had to wait (back-pressure)

 private:
  void release(PacketBatch* b);

  const std::size_t max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<PacketBatch>> free_;
  std::size_t in_flight_ = 0;
  std::size_t waits_ = 0;
  bool cancelled_ = false;
};

}  // namespace netloom::core
