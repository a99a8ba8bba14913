// HeapPrefaulter: the heap's growth is populated in one go (resident before
// anything touches it), and a poll without growth does nothing.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <utility>
#include <vector>

#include "runtime/heap_prefault.hpp"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NETLOOM_SANITIZER_ALLOCATOR 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NETLOOM_SANITIZER_ALLOCATOR 1
#endif
#endif

namespace {

// Pages spanned by [p, p+len) and how many of them mincore says are resident.
[[maybe_unused]] std::pair<std::size_t, std::size_t> resident_pages(const void* p, std::size_t len) {
  const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(p) & ~(page - 1);
  const auto end = (reinterpret_cast<std::uintptr_t>(p) + len + page - 1) & ~(page - 1);
  std::vector<unsigned char> v((end - begin) / page);
  if (mincore(reinterpret_cast<void*>(begin), end - begin, v.data()) != 0) return {v.size(), 0};
  std::size_t n = 0;
  for (unsigned char c : v) n += c & 1;
  return {v.size(), n};
}

TEST(HeapPrefault, GrowthIsResidentBeforeItIsTouched) {
#ifdef NETLOOM_SANITIZER_ALLOCATOR
  GTEST_SKIP() << "the sanitizer's allocator does not use the brk heap";
#else
  constexpr std::size_t kStep = std::size_t{4} << 20, kBlock = 256 << 10;
  netloom::core::detail::HeapPrefaulter pf(kStep);
  EXPECT_EQ(pf.populated(), 0u);
  // Untouched 256 KiB blocks (under the mmap threshold the prefaulter set)
  // until the heap has grown by 4 steps past where it ended (free space
  // left by earlier tests is used first).
  const auto start = reinterpret_cast<std::uintptr_t>(sbrk(0));
  std::vector<void*> blocks;
  while (reinterpret_cast<std::uintptr_t>(sbrk(0)) < start + 4 * kStep && blocks.size() < 4096)
    blocks.push_back(std::malloc(kBlock));
  ASSERT_LT(blocks.size(), 4096u) << "the heap does not grow: malloc is not glibc's";
  pf.poll();
  EXPECT_GE(pf.populated(), 4 * kStep - 4096);
  // The last block was never written, yet its pages are all resident.
  const auto [pages, resident] = resident_pages(blocks.back(), kBlock);
  EXPECT_GE(pages, kBlock / static_cast<std::size_t>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(resident, pages);
  const std::size_t before = pf.populated();
  pf.poll();
  EXPECT_EQ(pf.populated(), before);
  for (void* b : blocks) std::free(b);
#endif
}

}  // namespace
