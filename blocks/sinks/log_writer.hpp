// One log file, plain (POSIX write) or gzip (zlib gzopen/gzwrite). Errors are
// InputErrors naming the file. A gzip file is complete once close() returned.
#pragma once
#include <zlib.h>

#include <string>
#include <string_view>

namespace netloom::logs {

class LogFile {
 public:
  LogFile() = default;
  LogFile(const LogFile&) = delete;
  LogFile& operator=(const LogFile&) = delete;
  ~LogFile() { close_quietly(); }

  // Creates or truncates `path`; throws InputError.
  void open(const std::string& path, bool gzip);
  // Writes all of `data`; throws InputError (and the file stays failed).
  void write(std::string_view data);
  // Flushes and closes; throws InputError if anything could not be written.
  void close();
  // For destructors and error paths: closes, ignoring errors.
  void close_quietly() noexcept;

  bool is_open() const { return fd_ >= 0 || gz_ != nullptr; }
  const std::string& path() const { return path_; }

 private:
  [[noreturn]] void fail(std::string_view what, int err);
  int fd_ = -1;
  gzFile gz_ = nullptr;
  bool failed_ = false;
  std::string path_;
};

}  // namespace netloom::logs
