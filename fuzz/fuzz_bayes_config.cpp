// Target: the naive Bayes configuration parser (blocks/classifiers/
// bayes_engine parse_config), Tstat's bayes .conf format. Input: the text of
// a .conf. DISCRETE classes read <dir>/<NAME>.DAT: the fuzzer's directory
// holds a few (A, B: valid; zero: all zeros; bad: not numbers; long: more
// values than a small CLASS_LEN). An error must be one ConfigError naming
// the .conf with a line inside it, or the .DAT file; a configuration that
// parses then classifies a few samples (the input's bytes).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bayes_engine.hpp"
#include "fuzz_check.hpp"

using namespace netloom;

namespace {

std::string g_dir;

void write(const std::string& name, const std::string& text) { std::ofstream(g_dir + "/" + name) << text; }

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  g_dir = (ec ? std::filesystem::path("/tmp") : base) / ("netloom-fuzz-bayes-" + std::to_string(getpid()));
  std::filesystem::create_directories(g_dir, ec);
  if (ec) {
    std::fprintf(stderr, "fuzz_bayes_config: cannot create %s\n", g_dir.c_str());
    std::abort();
  }
  write("A.DAT", "0.1\n0.2 # two\n0.4\n\n0.2\n0.1\n");
  write("B.DAT", "5\n0\n0\n1e-3\n7\n");
  write("zero.DAT", "0\n0\n0\n");
  write("bad.DAT", "0.5\nnan\n");
  std::string many;
  for (int i = 0; i < 300; ++i) many += std::to_string(i % 17) + "\n";
  write("long.DAT", many);
  std::atexit([] {
    std::error_code e;
    std::filesystem::remove_all(g_dir, e);
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::size_t lines = 1 + static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  bayes::Config cfg;
  try {
    cfg = bayes::parse_config(text, "fuzz.conf", g_dir);
  } catch (const ConfigError& e) {
    const std::string m = e.what();
    if (m.rfind(g_dir + "/", 0) == 0) return 0;  // about a .DAT file
    FUZZ_CHECK(m.rfind("fuzz.conf: ", 0) == 0 || m.rfind("fuzz.conf:", 0) == 0);
    if (m.rfind("fuzz.conf:", 0) == 0 && m[10] != ' ') {
      const unsigned long line = std::strtoul(m.c_str() + 10, nullptr, 10);
      FUZZ_CHECK(line >= 1 && line <= lines);
    }
    return 0;
  }
  FUZZ_CHECK(cfg.has_feature && cfg.class_len > 0 && !cfg.classes.empty());
  for (const bayes::ClassSpec& c : cfg.classes) {
    FUZZ_CHECK(c.log_pdf.size() == static_cast<std::size_t>(cfg.class_len));
    FUZZ_CHECK(c.prior > 0 && c.prior <= 1);
  }
  bayes::Session s(cfg);
  for (std::size_t i = 0; i < size && i < 512; ++i) s.add(static_cast<long>(data[i]) * (i % 3 == 0 ? 7 : 1));
  (void)s.mean_max_belief();
  (void)s.passes();
  return 0;
}
