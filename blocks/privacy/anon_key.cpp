#include "anon_key.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netloom/netloom.hpp>

namespace netloom::privacy {
namespace {

// The head of a key file: a key is one short line, so a large file given by
// mistake is not read whole.
constexpr std::size_t kMaxKeyFile = 4096;

std::string read_head(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path + ": cannot read a key: is a directory");
  std::ifstream f(path, std::ios::binary);
  if (!f) throw ConfigError(path + ": cannot open: " + std::strerror(errno));
  std::string s(kMaxKeyFile + 1, '\0');
  f.read(s.data(), static_cast<std::streamsize>(s.size()));
  if (f.bad()) throw ConfigError(path + ": cannot read: " + std::strerror(errno));
  s.resize(static_cast<std::size_t>(f.gcount()));
  return s;
}

// Tstat reads keys with fgets and strips the newline only.
std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

}  // namespace

Key key_from_text(std::string_view text, const std::string& where) {
  if (text.empty()) throw ConfigError(where + ": the key is empty");
  if (text.size() > 32)
    throw ConfigError(
        where + ": the key is " + std::to_string(text.size()) +
        " bytes; a Crypto-PAn key holds at most 32 (shorter keys are zero-padded as Tstat does)");
  Key k{};
  std::memcpy(k.data(), text.data(), text.size());
  return k;
}

Key load_key_file(const std::string& path) {
  const std::string s = read_head(path);
  if (s.size() == 32) {  // a raw key (or a 32-character line without newline: the same bytes)
    Key k;
    std::memcpy(k.data(), s.data(), 32);
    return k;
  }
  return key_from_text(first_line(s), path + ":1");
}

Key load_key_base64_file(const std::string& path) {
  std::string line = first_line(read_head(path));
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
  if (line.empty()) throw ConfigError(path + ":1: no Base64 key on the first line");
  const auto bytes = base64_decode(line);
  if (!bytes) throw ConfigError(path + ":1: not valid Base64");
  if (bytes->size() != 32)
    throw ConfigError(path + ":1: the key decodes to " + std::to_string(bytes->size()) +
                      " bytes; a Crypto-PAn key is 32 bytes");
  Key k;
  std::memcpy(k.data(), bytes->data(), 32);
  return k;
}

Key generate_key() {
  Key k;
  if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1)
    throw ConfigError("cannot generate a random Crypto-PAn key (OpenSSL RAND_bytes failed)");
  return k;
}

std::string save_key(const std::string& dir, const Key& key, std::time_t when) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw ConfigError(dir + ": cannot create the key directory: " + ec.message());
  std::tm tm{};
  localtime_r(&when, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y_%m_%d_%H_%M", &tm);
  const std::string base = (std::filesystem::path(dir) / (std::string("CPanKey_") + date)).string();
  const std::string text = base64_encode(key.data(), key.size()) + "\n";
  for (int n = 1; n <= 1000; ++n) {
    const std::string path = n == 1 ? base : base + "_" + std::to_string(n);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      if (errno == EEXIST) continue;
      throw ConfigError(path + ": cannot save the generated key: " + std::strerror(errno));
    }
    const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int saved = errno;
    if (::close(fd) != 0 || !ok) {
      ::unlink(path.c_str());
      throw ConfigError(path + ": cannot save the generated key: " + std::strerror(ok ? errno : saved));
    }
    return path;
  }
  throw ConfigError(base + ": cannot save the generated key: 1000 files of that name exist");
}

std::string base64_encode(const std::uint8_t* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::vector<std::uint8_t>> base64_decode(std::string_view text) {
  // EVP_DecodeBlock checks the alphabet but counts '=' padding as zero bytes
  // and skips surrounding blanks: the length and padding are checked here.
  if (text.empty() || text.size() % 4 != 0) return std::nullopt;
  std::size_t pad = 0;
  while (pad < 2 && text[text.size() - 1 - pad] == '=') ++pad;
  for (std::size_t i = 0; i + pad < text.size(); ++i) {
    const char c = text[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
      return std::nullopt;
  }
  std::vector<std::uint8_t> out(text.size() / 4 * 3);
  const int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                  static_cast<int>(text.size()));
  if (len < 0 || static_cast<std::size_t>(len) != out.size()) return std::nullopt;
  out.resize(out.size() - pad);
  return out;
}

}  // namespace netloom::privacy
