// Runs a command for tests and captures its exit status, stdout and stderr.
#pragma once
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace netloom::test {

struct Result {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// `during(pid)` runs while the child is alive (e.g. to send it signals).
inline Result run(const std::vector<std::string>& args, const std::function<void(pid_t)>& during = {}) {
  namespace fs = std::filesystem;
  static int n = 0;
  fs::path base =
      fs::temp_directory_path() / ("netloom-sub-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::string out = base.string() + ".out", err = base.string() + ".err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  Result r;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) {
    r.err = "cannot spawn " + args[0];
    return r;
  }
  posix_spawn_file_actions_destroy(&fa);
  if (during) during(pid);
  int st = 0;
  waitpid(pid, &st, 0);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r.out = slurp(out);
  r.err = slurp(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

// True when a sanitizer build's run died of LeakSanitizer's own exit-time
// crash (GCC 12 guessing a dlopen'ed library's TLS block: "Tracer caught
// signal 11", docs/robustness.md) rather than of anything netloom did; a
// leak report is never taken for one.
inline bool lsan_crashed(const Result& r) {
  return r.status != 0 && r.err.find("LeakSanitizer has encountered a fatal error") != std::string::npos &&
         r.err.find("detected memory leaks") == std::string::npos;
}

}  // namespace netloom::test
