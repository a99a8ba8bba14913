#include "runtime/heap_prefault.hpp"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14; older kernels say EINVAL and faults stay as they were
#endif

namespace netloom::core::detail {

namespace {
constexpr std::uintptr_t kPage = 4096;
std::uintptr_t heap_end() { return reinterpret_cast<std::uintptr_t>(sbrk(0)); }
}  // namespace

HeapPrefaulter::HeapPrefaulter(std::size_t step) {
#if defined(__GLIBC__)
  const int s = static_cast<int>(step);
  mallopt(M_TOP_PAD, s);
  mallopt(M_MMAP_THRESHOLD, s);
  mallopt(M_TRIM_THRESHOLD, 2 * s);
  done_ = heap_end() & ~(kPage - 1);
  enabled_ = true;
#else
  (void)step;
#endif
}

void HeapPrefaulter::poll() {
  if (!enabled_) return;
  const std::uintptr_t end = heap_end() & ~(kPage - 1);
  if (end <= done_) {
    done_ = end;  // trimmed: what comes back is populated again
    return;
  }
  // Huge pages where the growth holds whole 2 MiB blocks (THP in madvise
  // mode): a fault and a TLB entry per 2 MiB for flow entries and histogram
  // bins read at random. Best effort: without THP nothing changes.
  madvise(reinterpret_cast<void*>(done_), end - done_, MADV_HUGEPAGE);
  // Pages already touched are skipped by the kernel, so populating the whole
  // growth is safe; a failure (old kernel) just leaves faults on demand.
  if (madvise(reinterpret_cast<void*>(done_), end - done_, MADV_POPULATE_WRITE) != 0) {
    enabled_ = false;
    return;
  }
  populated_ += end - done_;
  done_ = end;
}

}  // namespace netloom::core::detail
