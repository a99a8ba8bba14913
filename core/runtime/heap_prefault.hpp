// Populates the malloc heap in bulk as it grows. A page fault costs ~8-10 µs
// on a paravirtualised MMU (the project's VM, most clouds' nested guests),
// populating a range with one madvise ~1 µs per page; a tstat.xml run on
// the 772 k-packet benchmark trace took 10 800 faults, ~80 ms of 0.7 s.
// Only the main arena (brk heap) is covered: that is where a 1-thread run's
// blocks allocate. See docs/performance.md.
#pragma once
#include <cstddef>
#include <cstdint>

namespace netloom::core::detail {

class HeapPrefaulter {
 public:
  // Makes malloc grow the heap `step` bytes at a time, take allocations up
  // to `step` from the heap rather than mmap, and keep up to 2 * step of
  // freed space instead of handing it back (and faulting it in again).
  explicit HeapPrefaulter(std::size_t step = std::size_t{16} << 20);
  // Populates the heap's growth since the last call; cheap when it did not
  // grow (no system call).
  void poll();
  // Bytes populated so far (tests, diagnostics).
  std::size_t populated() const { return populated_; }

 private:
  std::uintptr_t done_ = 0;  // heap end populated up to
  std::size_t populated_ = 0;
  bool enabled_ = false;
};

}  // namespace netloom::core::detail
