// LazyLibrary: a library opened by soname, functions found or the first
// missing one named; the message says what could not be loaded and why.
#include <gtest/gtest.h>

#include "netloom/lazy_library.hpp"

namespace {

TEST(LazyLibrary, FindsFunctionsOfALibraryAndItsDependencies) {
  netloom::LazyLibrary lib("libz.so.1");
  const char* (*version)() = nullptr;
  lib.get("zlibVersion", version);
  ASSERT_NE(version, nullptr);
  EXPECT_EQ(lib.error(), "");
  EXPECT_STRNE(version(), "");
  // libc comes with it, as a dependency.
  std::size_t (*len)(const char*) = nullptr;
  lib.get("strlen", len);
  ASSERT_NE(len, nullptr);
  EXPECT_EQ(len("four"), 4u);
}

TEST(LazyLibrary, MissingSymbolIsNamed) {
  netloom::LazyLibrary lib("libz.so.1");
  void (*f)() = nullptr;
  lib.get("netloom_no_such_function", f);
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(lib.message("zlib"), "cannot load zlib (libz.so.1): no symbol netloom_no_such_function");
}

TEST(LazyLibrary, MissingLibrarySaysWhy) {
  netloom::LazyLibrary lib("libnetloom-absent.so.7");
  void (*f)() = nullptr;
  lib.get("anything", f);
  EXPECT_EQ(f, nullptr);
  EXPECT_EQ(lib.message("absent"),
            "cannot load absent (libnetloom-absent.so.7): libnetloom-absent.so.7: cannot open "
            "shared object file: No such file or directory");
}

}  // namespace
