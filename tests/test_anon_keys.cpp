// Crypto-PAn keys in every form Tstat takes them (--keyvalue, --keyfile,
// --keybase64, generated and saved as CPanKey_<date>), and the one-line
// errors for keys that do not fit.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <netloom/netloom.hpp>
#include <string>

#include "anon_key.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::privacy;

namespace {

const Key kReferenceKey = {21,  34,  23,  141, 51,  164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
                           216, 152, 143, 131, 121, 121, 101, 39,  98, 87, 76, 45, 42, 132, 34,  2};

class Keys : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("netloom-anon-keys-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string file(const std::string& name, const std::string& content) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // The ConfigError text of `f`, or "" if it did not throw one.
  template <class F>
  static std::string error_of(F&& f) {
    try {
      f();
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  }
  fs::path dir_;
};

Key padded(const std::string& s) {
  Key k{};
  for (std::size_t i = 0; i < s.size(); ++i) k[i] = static_cast<std::uint8_t>(s[i]);
  return k;
}

std::string raw(const Key& k) { return std::string(k.begin(), k.end()); }

}  // namespace

TEST_F(Keys, ValueIsZeroPaddedTextAsTstatKeyvalue) {
  EXPECT_EQ(key_from_text("secret", "parameter 'key'"), padded("secret"));
  const std::string k32(32, 'x');
  EXPECT_EQ(key_from_text(k32, "parameter 'key'"), padded(k32));
  EXPECT_EQ(error_of([] { key_from_text(std::string(33, 'x'), "parameter 'key'"); }),
            "parameter 'key': the key is 33 bytes; a Crypto-PAn key holds at most 32 (shorter keys are "
            "zero-padded as Tstat does)");
  EXPECT_EQ(error_of([] { key_from_text("", "parameter 'key'"); }), "parameter 'key': the key is empty");
}

TEST_F(Keys, FileHoldsRawBytesOrTstatsTextLine) {
  // The reference key holds byte 10 ('\n'): read as a line it would be cut.
  EXPECT_EQ(load_key_file(file("raw.key", raw(kReferenceKey))), kReferenceKey);
  // Tstat's --keyfile: the first line, newline stripped, zero-padded.
  EXPECT_EQ(load_key_file(file("text.key", "my secret\nignored second line\n")), padded("my secret"));
  EXPECT_EQ(load_key_file(file("nonl.key", "my secret")), padded("my secret"));
  // 32 characters and a newline: the same key as the raw 32 bytes.
  const std::string k32 = "0123456789abcdef0123456789ABCDEF";
  EXPECT_EQ(load_key_file(file("k32.key", k32 + "\n")), padded(k32));

  const std::string longer = file("long.key", std::string(40, 'k') + "\n");
  EXPECT_EQ(error_of([&] { load_key_file(longer); }),
            longer +
                ":1: the key is 40 bytes; a Crypto-PAn key holds at most 32 (shorter keys are zero-padded "
                "as Tstat does)");
  const std::string empty = file("empty.key", "\nsecond\n");
  EXPECT_EQ(error_of([&] { load_key_file(empty); }), empty + ":1: the key is empty");
  const std::string missing = (dir_ / "missing.key").string();
  EXPECT_EQ(error_of([&] { load_key_file(missing); }), missing + ": cannot open: No such file or directory");
  EXPECT_EQ(error_of([&] { load_key_file(dir_.string()); }),
            dir_.string() + ": cannot read a key: is a directory");
}

TEST_F(Keys, Base64FileAsTstatKeybase64) {
  const std::string b64 = base64_encode(kReferenceKey.data(), kReferenceKey.size());
  EXPECT_EQ(b64, "FSIXjTOkz4ATClsWSZB9ENiYj4N5eWUnYldMLSqEIgI=");  // python3 base64.b64encode
  EXPECT_EQ(load_key_base64_file(file("k.b64", b64 + "\n")), kReferenceKey);
  EXPECT_EQ(load_key_base64_file(file("crlf.b64", b64 + "\r\n")), kReferenceKey);

  const std::string bad = file("bad.b64", "not*base64*at*all*\n");
  EXPECT_EQ(error_of([&] { load_key_base64_file(bad); }), bad + ":1: not valid Base64");
  const std::string odd = file("odd.b64", b64.substr(1) + "\n");  // 43 characters
  EXPECT_EQ(error_of([&] { load_key_base64_file(odd); }), odd + ":1: not valid Base64");
  const Key half{};
  const std::string short16 = file("short.b64", base64_encode(half.data(), 16) + "\n");
  EXPECT_EQ(error_of([&] { load_key_base64_file(short16); }),
            short16 + ":1: the key decodes to 16 bytes; a Crypto-PAn key is 32 bytes");
  const std::string blank = file("blank.b64", "\n");
  EXPECT_EQ(error_of([&] { load_key_base64_file(blank); }), blank + ":1: no Base64 key on the first line");
  const std::string missing = (dir_ / "none.b64").string();
  EXPECT_EQ(error_of([&] { load_key_base64_file(missing); }),
            missing + ": cannot open: No such file or directory");
}

TEST_F(Keys, Base64IsStrict) {
  const std::uint8_t foobar[] = {'f', 'o', 'o', 'b', 'a', 'r'};
  EXPECT_EQ(base64_encode(foobar, 6), "Zm9vYmFy");
  EXPECT_EQ(base64_encode(foobar, 5), "Zm9vYmE=");
  EXPECT_EQ(base64_encode(foobar, 4), "Zm9vYg==");
  EXPECT_EQ(base64_decode("Zm9vYg==").value(), std::vector<std::uint8_t>(foobar, foobar + 4));
  EXPECT_EQ(base64_decode("Zm9vYmE=").value(), std::vector<std::uint8_t>(foobar, foobar + 5));
  EXPECT_FALSE(base64_decode("Zm9vYg="));    // length not a multiple of 4
  EXPECT_FALSE(base64_decode("Zm9v Yg=="));  // blank inside
  EXPECT_FALSE(base64_decode("Zm=vYg=="));   // padding inside
  EXPECT_FALSE(base64_decode(""));
}

TEST_F(Keys, GeneratedKeyIsSavedAsTstatsCPanKeyAndReused) {
  const Key a = generate_key(), b = generate_key();
  EXPECT_NE(a, b);
  const std::time_t when = 1700000000;
  std::tm tm{};
  localtime_r(&when, &tm);
  char date[32];
  std::strftime(date, sizeof date, "%Y_%m_%d_%H_%M", &tm);
  const fs::path keydir = dir_ / "out" / "sub";  // created on the way
  const std::string p1 = save_key(keydir.string(), a, when);
  EXPECT_EQ(p1, (keydir / (std::string("CPanKey_") + date)).string());
  std::ifstream in(p1);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, base64_encode(a.data(), a.size()) + "\n");
  struct stat st {};
  ASSERT_EQ(::stat(p1.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // a secret
  EXPECT_EQ(load_key_base64_file(p1), a);
  // Same minute again: a new name, the first key kept.
  const std::string p2 = save_key(keydir.string(), b, when);
  EXPECT_EQ(p2, p1 + "_2");
  EXPECT_EQ(load_key_base64_file(p1), a);
  EXPECT_EQ(load_key_base64_file(p2), b);
  // A directory that cannot be created: one line naming it.
  const std::string blocker = file("plainfile", "x");
  const std::string err = error_of([&] { save_key(blocker + "/keys", a, when); });
  EXPECT_EQ(err.rfind(blocker + "/keys: cannot create the key directory: ", 0), 0u) << err;
}
