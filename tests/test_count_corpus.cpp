// compositions/count.xml end to end on every capture of the shared corpus:
// the totals netloom writes equal what tshark/capinfos counted
// (tests/data/capture_expected.csv, made by tests/data/make_capture_expected.sh).
#include <gtest/gtest.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "corpus.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using netloom::test::run;

namespace {
const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;

fs::path corpus() { return netloom::test::corpus_root(); }

struct Row {
  std::string file, status, error;
  std::uint64_t packets = 0, bytes = 0;
};

std::vector<Row> expected() {
  std::vector<Row> rows;
  std::ifstream f(kSrc + "/tests/data/capture_expected.csv");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::vector<std::string> c;
    std::size_t pos = 0;
    for (int i = 0; i < 4; ++i) {
      auto comma = line.find(',', pos);
      c.push_back(line.substr(pos, comma - pos));
      pos = comma + 1;
    }
    rows.push_back({c[0], c[3], line.substr(pos), std::stoull(c[1]), std::stoull(c[2])});
  }
  return rows;
}

std::uint64_t json_number(const std::string& json, const std::string& key) {
  std::smatch m;
  if (!std::regex_search(json, m, std::regex("\"" + key + "\": ([0-9]+)"))) return ~0ull;
  return std::stoull(m[1]);
}

struct Counted {
  netloom::test::Result r;
  std::string json;
};

Counted count(const std::string& input, const std::string& tag) {
  fs::path out =
      fs::temp_directory_path() / ("netloom-count-" + std::to_string(::getpid()) + "-" + tag + ".json");
  fs::remove(out);
  Counted c;
  c.r = run({kBin, "run", kSrc + "/compositions/count.xml", "-q", "-D", "input=" + input, "-D",
             "out=" + out.string()});
  c.json = netloom::test::slurp(out);
  fs::remove(out);
  return c;
}
}  // namespace

TEST(CountCorpus, EveryCaptureMatchesTshark) {
  if (!fs::is_directory(corpus())) GTEST_SKIP() << "no corpus at " << corpus() << " (set NETLOOM_CORPUS)";
  auto rows = expected();
  ASSERT_GE(rows.size(), 100u);
  for (const auto& row : rows) {
    SCOPED_TRACE(row.file);
    const std::string path = (corpus() / row.file).string();
    auto c = count(path, "all");
    EXPECT_EQ(json_number(c.json, "packets"), row.packets) << c.r.err;
    EXPECT_EQ(json_number(c.json, "bytes"), row.bytes) << c.r.err;
    if (row.status == "ok") {
      EXPECT_EQ(c.r.status, 0) << c.r.err;
      EXPECT_EQ(c.r.err, "");
    } else {
      // One clear line naming the file; a non-zero exit only when nothing could be read.
      std::smatch m;
      ASSERT_TRUE(std::regex_search(c.r.err, m, std::regex("netloom: error: block 'cap': ([^\n]*)\n")))
          << c.r.err;
      EXPECT_EQ(std::string(m[1]).rfind(path + ": ", 0), 0u) << m[1];
      EXPECT_NE(std::string(m[1]).find(row.error), std::string::npos) << m[1];
      EXPECT_EQ(c.r.status, row.packets == 0 ? 1 : 0) << c.r.err;
    }
  }
}

TEST(CountCorpus, GzipInputEqualsPlainAndAListIsOneTrace) {
  if (!fs::is_directory(corpus())) GTEST_SKIP() << "no corpus at " << corpus() << " (set NETLOOM_CORPUS)";
  const fs::path plain = corpus() / "dev/whatsapp_login_call.pcap";
  const fs::path gz =
      fs::temp_directory_path() / ("netloom-count-" + std::to_string(::getpid()) + ".pcap.gz");
  {
    std::ifstream in(plain, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    gzFile out = gzopen(gz.c_str(), "wb");
    ASSERT_NE(out, nullptr);
    ASSERT_EQ(gzwrite(out, bytes.data(), static_cast<unsigned>(bytes.size())),
              static_cast<int>(bytes.size()));
    gzclose(out);
  }
  auto a = count(plain.string(), "plain");
  auto b = count(gz.string(), "gz");
  fs::remove(gz);
  ASSERT_EQ(a.r.status, 0) << a.r.err;
  ASSERT_EQ(b.r.status, 0) << b.r.err;
  EXPECT_EQ(json_number(a.json, "packets"), 1253u);  // capinfos
  EXPECT_EQ(a.json, b.json);

  auto list = count(plain.string() + "," + (corpus() / "dev/android.pcap").string(), "list");
  EXPECT_EQ(json_number(list.json, "packets"), 1253u + 500u);
  EXPECT_EQ(json_number(list.json, "bytes"), 193190u + 133530u);
}
