// Recycled<T>: class-specific operator new/delete that keep freed objects of
// exactly sizeof(T) on a per-thread list for the next allocation. Per-flow
// states of 1-2 KB sit above glibc's per-thread cache (1 KiB), so each one
// took malloc's sorted large-bin path, twice per flow (docs/performance.md).
// An object freed on another thread joins that thread's list. Sanitizer
// builds allocate plainly, so use-after-free is still caught.
#pragma once
#include <cstddef>
#include <new>

#if defined(__SANITIZE_ADDRESS__) && !defined(NETLOOM_NO_RECYCLING)
#define NETLOOM_NO_RECYCLING 1
#endif

namespace netloom {

template <class T, std::size_t Keep = 4096>
struct Recycled {
  static void* operator new(std::size_t n) {
#ifndef NETLOOM_NO_RECYCLING
    if (n == sizeof(T)) {
      List& l = list();
      if (l.n) return l.items[--l.n];
    }
#endif
    return ::operator new(n);
  }
  static void operator delete(void* p, std::size_t n) noexcept {
#ifndef NETLOOM_NO_RECYCLING
    if (n == sizeof(T)) {
      List& l = list();
      if (l.n < Keep) {
        l.items[l.n++] = p;
        return;
      }
    }
#endif
    ::operator delete(p, n);
  }

 private:
  struct List {
    void* items[Keep];
    std::size_t n = 0;
    ~List() {
      while (n) ::operator delete(items[--n], sizeof(T));
    }
  };
  static List& list() {
    thread_local List l;
    return l;
  }
};

}  // namespace netloom
