#include "log_writer.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <netloom/error.hpp>

namespace netloom::logs {

void LogFile::fail(std::string_view what, int err) {
  failed_ = true;
  std::string msg = std::string(what) + " '" + path_ + "'";
  if (err) msg += std::string(": ") + std::strerror(err);
  throw InputError(msg);
}

void LogFile::open(const std::string& path, bool gzip) {
  close_quietly();
  path_ = path;
  failed_ = false;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create", errno);
  if (!gzip) {
    fd_ = fd;
    return;
  }
  gz_ = gzdopen(fd, "wb");  // owns fd from here on
  if (gz_ == nullptr) {
    int e = errno;
    ::close(fd);
    fail("cannot start gzip stream for", e);
  }
  gzbuffer(gz_, 128 * 1024);
}

void LogFile::write(std::string_view data) {
  if (data.empty()) return;
  if (failed_) fail("earlier write failed, dropping output for", 0);
  if (!is_open()) fail("write to closed file", 0);
  if (gz_ != nullptr) {
    while (!data.empty()) {
      unsigned n = data.size() > (1u << 30) ? (1u << 30) : static_cast<unsigned>(data.size());
      int w = gzwrite(gz_, data.data(), n);
      if (w <= 0) {
        int zerr = 0;
        const char* m = gzerror(gz_, &zerr);
        int e = zerr == Z_ERRNO ? errno : 0;
        if (e) fail("cannot write", e);
        fail(std::string("cannot write (zlib: ") + (m ? m : "?") + ")", 0);
      }
      data.remove_prefix(static_cast<std::size_t>(w));
    }
    return;
  }
  while (!data.empty()) {
    ssize_t w = ::write(fd_, data.data(), data.size());
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", errno);
    }
    data.remove_prefix(static_cast<std::size_t>(w));
  }
}

void LogFile::close() {
  if (gz_ != nullptr) {
    gzFile g = gz_;
    gz_ = nullptr;
    errno = 0;
    int rc = gzclose(g);  // flushes the deflate stream and writes the trailer
    if (rc != Z_OK && !failed_) fail("cannot finish gzip file", rc == Z_ERRNO ? errno : 0);
  } else if (fd_ >= 0) {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && !failed_) fail("cannot close", errno);
  }
}

void LogFile::close_quietly() noexcept {
  if (gz_ != nullptr) gzclose(gz_);
  if (fd_ >= 0) ::close(fd_);
  gz_ = nullptr;
  fd_ = -1;
}

}  // namespace netloom::logs
