#include "runtime/batch_pool.hpp"

namespace netloom::core {

std::shared_ptr<PacketBatch> BatchPool::acquire() {
  std::unique_ptr<PacketBatch> b;
  {
    std::unique_lock lock(mu_);
    if (in_flight_ >= max_in_flight_ && !cancelled_) {
      ++waits_;
      cv_.wait(lock, [&] { return in_flight_ < max_in_flight_ || cancelled_; });
    }
    ++in_flight_;
    if (!free_.empty()) {
      b = std::move(free_.back());
      free_.pop_back();
    }
  }
  if (!b) b = std::make_unique<PacketBatch>();
  // The deleter holds the pool alive for batches that outlive the runtime.
  std::weak_ptr<BatchPool> weak = weak_from_this();
  return std::shared_ptr<PacketBatch>(b.release(), [weak](PacketBatch* p) {
    if (auto pool = weak.lock()) {
      pool->release(p);
    } else {
      delete p;
    }
  });
}

void BatchPool::release(PacketBatch* b) {
  b->clear();
  b->sequence = 0;
  {
    std::lock_guard lock(mu_);
    --in_flight_;
    free_.emplace_back(b);
  }
  cv_.notify_one();
}

void BatchPool::cancel() {
  {
    std::lock_guard lock(mu_);
    cancelled_ = true;
  }
  cv_.notify_all();
}

std::size_t BatchPool::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

std::size_t BatchPool::waits() const {
  std::lock_guard lock(mu_);
  return waits_;
}

}  // namespace netloom::core
