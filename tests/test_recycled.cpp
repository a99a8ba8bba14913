// Recycled<T>: a freed object's memory is handed to the next allocation of
// the same class on the same thread; other sizes (derived classes) and a
// full list fall back to the global allocator.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "netloom/recycled.hpp"

namespace {

struct Base {
  virtual ~Base() = default;
};
struct State final : Base, netloom::Recycled<State, 4> {
  char payload[1500]{};
};
struct Wider : netloom::Recycled<Wider, 4> {
  virtual ~Wider() = default;
  char a[100]{};
};
struct Derived final : Wider {
  char b[100]{};
};

TEST(Recycled, FreedObjectIsReusedThroughABasePointer) {
#ifdef NETLOOM_NO_RECYCLING
  GTEST_SKIP() << "sanitizer build: plain allocation";
#else
  std::unique_ptr<Base> a = std::make_unique<State>();
  const void* where = a.get();
  a.reset();  // virtual destructor: State's sized operator delete keeps it
  std::unique_ptr<Base> b = std::make_unique<State>();
  EXPECT_EQ(static_cast<const void*>(b.get()), where);
  // A reused object is constructed afresh.
  EXPECT_EQ(static_cast<State*>(b.get())->payload[0], 0);
#endif
}

TEST(Recycled, KeepsAtMostItsLimitAndOtherSizesPassThrough) {
#ifdef NETLOOM_NO_RECYCLING
  GTEST_SKIP() << "sanitizer build: plain allocation";
#else
  std::vector<std::unique_ptr<State> > v;
  for (int i = 0; i < 6; ++i) v.push_back(std::make_unique<State>());
  std::vector<const void*> freed;
  for (auto& p : v) freed.push_back(p.get());
  v.clear();  // 4 kept, 2 returned to the global allocator
  int reused = 0;
  for (int i = 0; i < 6; ++i) {
    v.push_back(std::make_unique<State>());
    for (int k = 0; k < 6; ++k) reused += v.back().get() == freed[static_cast<std::size_t>(k)];
  }
  EXPECT_GE(reused, 4);
  // A derived class is larger than Wider: never taken from Wider's list.
  auto w = std::make_unique<Wider>();
  const void* wp = w.get();
  w.reset();
  std::unique_ptr<Wider> d = std::make_unique<Derived>();
  EXPECT_NE(static_cast<const void*>(d.get()), wp);
  auto w2 = std::make_unique<Wider>();
  EXPECT_EQ(static_cast<const void*>(w2.get()), wp);
#endif
}

}  // namespace
