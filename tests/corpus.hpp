// Where tests find the shared captures: $NETLOOM_CORPUS, else ../shared/corpus
// beside the repository. Tests that need it GTEST_SKIP() when it is absent.
#pragma once
#include <cstdlib>
#include <filesystem>

namespace netloom::test {

inline std::filesystem::path corpus_root() {
  const char* env = std::getenv("NETLOOM_CORPUS");
  return std::filesystem::path(env && *env ? env : NETLOOM_CORPUS_DEFAULT);
}

}  // namespace netloom::test
