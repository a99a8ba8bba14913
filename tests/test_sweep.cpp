// Hostile-input sweep: every capture of the shared corpus (dev/, formats/,
// bench-seeds/), plus cut and mutated copies of the dev captures, through
// `netloom run compositions/tstat.xml`, the whole Tstat pipeline. No run may
// crash, hang or trip a sanitizer; an unreadable file fails its run with one
// line naming it; a damaged file yields its valid packets, one line naming
// the file and the record, and exit 0.
//
// Files run in groups (PcapSource reads a list as one trace), checked
// against independent counts (tests/data/capture_expected.csv from tshark,
// else libpcap): a group must read exactly the expected packets with no
// error line. A group that fails is re-run file by file to name the culprit.
// Files expected to be damaged or unreadable, and files nobody has counted,
// always run alone: their exit status is part of what is checked.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "corpus.hpp"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kBin = std::string(NETLOOM_BUILD_ROOT) + "/netloom";
const std::string kSrc = NETLOOM_SOURCE_ROOT;

#if defined(__SANITIZE_ADDRESS__)
constexpr int kSlowdown = 4;  // the ASan build runs this same test
#else
constexpr int kSlowdown = 1;
#endif
const auto kPerFileLimit = std::chrono::seconds(20 * kSlowdown);
const auto kGroupLimit = std::chrono::seconds(60 * kSlowdown);
constexpr std::size_t kGroupSize = 50;
constexpr int kWorkers = 2;

std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// --- running netloom with a time limit --------------------------------------

bool logs_written(const fs::path& out) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->path().filename() == "log_tcp_complete") return true;
  return false;
}

struct Outcome {
  int status = -1;  // exit code, or 128 + signal
  bool timed_out = false;
  double secs = 0;
  std::string err;
  bool logs = false;  // a log_tcp_complete was written (the run flushed)
};

Outcome run_tstat_once(const std::vector<std::string>& files, const fs::path& work, int threads,
                       std::chrono::seconds limit) {
  fs::create_directories(work);
  Outcome o;
  const fs::path out_dir = work / "out";
  std::string input;
  for (const auto& f : files) input += (input.empty() ? "" : ",") + f;
  const std::string err_file = (work / "stderr").string();
  std::vector<std::string> args = {kBin,
                                   "run",
                                   kSrc + "/compositions/tstat.xml",
                                   "-D",
                                   "input=" + input,
                                   "-D",
                                   "out=" + out_dir.string(),
                                   "-t",
                                   std::to_string(threads)};
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  const auto t0 = Clock::now();
  const int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    o.err = "cannot spawn " + kBin;
    return o;
  }
  int st = 0;
  for (;;) {
    if (::waitpid(pid, &st, WNOHANG) == pid) break;
    if (Clock::now() - t0 > limit) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &st, 0);
      o.timed_out = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  o.secs = std::chrono::duration<double>(Clock::now() - t0).count();
  o.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  o.err = slurp(err_file);
  o.logs = logs_written(out_dir);
  std::error_code ec;
  fs::remove_all(work, ec);  // a tstat.xml run writes megabytes (RRD files)
  return o;
}

// Runs jobs on kWorkers threads; results land in their own slots.
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& job) {
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (int w = 0; w < kWorkers; ++w)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) job(i);
    });
  for (auto& t : pool) t.join();
}

// --- reading an outcome -----------------------------------------------------

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> v;
  std::istringstream is(text);
  for (std::string l; std::getline(is, l);) v.push_back(l);
  return v;
}

// Errors must all be about the input; warnings (a block's remark on odd
// data, e.g. RRDSink on timestamps before 1980) may be anything.
// GCC 12's LeakSanitizer sometimes crashes in its own exit-time scan
// ("Tracer caught signal 11", guessing the TLS block of a dlopen'ed library,
// docs/robustness.md): a sanitizer-runtime failure, not netloom's. Such a
// run is repeated once; any other crash counts at once.
Outcome run_tstat(const std::vector<std::string>& files, const fs::path& work, int threads,
                  std::chrono::seconds limit) {
  Outcome o = run_tstat_once(files, work, threads, limit);
  if (o.status >= 128 && o.err.find("Tracer caught signal") != std::string::npos) {
    fs::remove_all(work);
    o = run_tstat_once(files, work, threads, limit);
  }
  return o;
}

bool is_diagnostic(const std::string& l) { return l.rfind("netloom: error: ", 0) == 0; }

std::optional<std::uint64_t> packets_read(const std::string& err) {
  static const std::regex re(R"((^|\n)cap \(PcapSource\)  out\.out=(\d+))");
  std::smatch m;
  if (!std::regex_search(err, m, re)) return std::nullopt;
  return std::stoull(m[2]);
}

// What no run may ever show, whatever its input. "" when none.
std::string crash_signs(const Outcome& o) {
  if (o.timed_out) return "hung: killed after " + std::to_string(static_cast<int>(o.secs)) + " s";
  if (o.status >= 128) return "killed by signal " + std::to_string(o.status - 128);
  for (const char* s : {"AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                        "runtime error:", "ThreadSanitizer", "terminate called"})
    if (o.err.find(s) != std::string::npos) return std::string("sanitizer/abort report (") + s + ")";
  if (o.status != 0 && o.status != 1) return "exit status " + std::to_string(o.status);
  if (o.err.find(" finished in ") == std::string::npos) return "no end-of-run summary";
  return "";
}

// --- what each file should give ---------------------------------------------

struct Expected {
  std::uint64_t packets = 0;  // valid packets before any damage
  bool damaged = false;       // the reader stops with an error
  std::string reason;         // a word of the error (capture_expected.csv)
};

std::map<std::string, Expected> load_expected_csv() {
  std::map<std::string, Expected> m;
  std::ifstream f(kSrc + "/tests/data/capture_expected.csv");
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::vector<std::string> c;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) c.push_back(x);
    if (c.size() < 4) continue;
    Expected e;
    e.packets = std::stoull(c[1]);
    e.damaged = c[3] != "ok";
    e.reason = c.size() > 4 ? c[4] : "";
    m[c[0]] = e;
  }
  return m;
}

// libpcap's count of a classic pcap file: nullopt when libpcap cannot open it.
std::optional<Expected> libpcap_count(const std::string& file) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* p = pcap_open_offline(file.c_str(), errbuf);
  if (p == nullptr) return std::nullopt;
  Expected e;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int r = 0;
  while ((r = pcap_next_ex(p, &h, &d)) == 1) ++e.packets;
  e.damaged = r == -1;
  pcap_close(p);
  return e;
}

bool is_capture_name(const fs::path& p) {
  const auto ext = p.extension();
  return ext == ".pcap" || ext == ".pcapng" || ext == ".gz" || ext == ".cap";
}

// The corpus files, recursively: captures by name everywhere, and every file
// in formats/ whatever its name (a robustness case may have none).
std::vector<std::string> corpus_files(const fs::path& root, const std::string& dir) {
  std::vector<std::string> v;
  std::error_code ec;
  if (!fs::is_directory(root / dir, ec)) return v;
  for (auto& e : fs::recursive_directory_iterator(root / dir))
    if (e.is_regular_file() && (dir == "formats" || is_capture_name(e.path())))
      v.push_back(fs::relative(e.path(), root).string());
  std::sort(v.begin(), v.end());
  return v;
}

// Checks one single-file run against what the file should give; appends
// every mismatch to `problems`.
void check_single(const std::string& rel, const std::string& abs, const Outcome& o,
                  const std::optional<Expected>& exp, std::vector<std::string>& problems) {
  auto bad = [&](const std::string& why) { problems.push_back(rel + ": " + why); };
  if (auto c = crash_signs(o); !c.empty()) return bad(c + "\n" + o.err);
  std::vector<std::string> diags;
  for (const auto& l : lines_of(o.err))
    if (is_diagnostic(l)) diags.push_back(l);
  const auto packets = packets_read(o.err);
  if (!packets) return bad("no PcapSource line in the summary\n" + o.err);
  const std::string prefix = "block 'cap': " + abs + ": ";
  std::vector<std::string> naming;
  for (const auto& d : diags)
    if (d.find(prefix) != std::string::npos) naming.push_back(d);

  if (o.status == 1) {  // unreadable: nothing came out, one line says why
    if (*packets != 0) bad("exit 1 after " + std::to_string(*packets) + " packets");
    if (naming.size() != 1) bad(std::to_string(naming.size()) + " lines name the file, expected 1\n" + o.err);
    const std::string nothing =
        "netloom: error: block 'cap' (PcapSource): produce: no packets could be read (1 file failed)";
    if (diags.size() != 2 || std::find(diags.begin(), diags.end(), nothing) == diags.end())
      bad("expected the file's line and '" + nothing + "'\n" + o.err);
  } else {  // exit 0: the valid part was processed and logged
    if (!o.logs) bad("exit 0 but no log_tcp_complete written");
    if (diags.size() != naming.size()) bad("a diagnostic that does not name the file\n" + o.err);
    if (naming.size() > 1) bad(std::to_string(naming.size()) + " lines name the file, expected at most 1");
    if (naming.size() == 1) {  // damaged after `packets` records
      const std::string rec = "record " + std::to_string(*packets + 1) + ": ";
      if (naming[0].find(prefix + rec) == std::string::npos)
        bad("the error does not name the record after the last valid packet (" + rec + ")\n" + naming[0]);
    }
  }
  if (!exp) return;
  if (*packets != exp->packets)
    bad("read " + std::to_string(*packets) + " packets, expected " + std::to_string(exp->packets));
  const bool failed_line = !naming.empty();
  if (failed_line != exp->damaged)
    bad(exp->damaged ? "expected an error naming the file (" + exp->reason + ")"
                     : "unexpected error\n" + o.err);
  if (exp->damaged && failed_line && naming[0].find(exp->reason) == std::string::npos)
    bad("the error does not say '" + exp->reason + "': " + naming[0]);
  if (exp->damaged && exp->packets == 0 && o.status != 1) bad("an unreadable file must fail the run");
  if (exp->packets > 0 && o.status != 0) bad("exit " + std::to_string(o.status) + " with valid packets");
}

struct Tally {
  std::size_t files = 0, clean = 0, damaged = 0, unreadable = 0, runs = 0;
  std::uint64_t packets = 0;
  double secs = 0;
};

// One line per sweep for the log (docs/robustness.md quotes them).
void print_tally(const std::string& what, const Tally& t) {
  std::printf(
      "[ sweep    ] %-13s %3zu files: %zu clean, %zu damaged (valid part read), %zu unreadable; "
      "%llu packets; %zu runs, %.1f s\n",
      what.c_str(), t.files, t.clean, t.damaged, t.unreadable, static_cast<unsigned long long>(t.packets),
      t.runs, t.secs);
}

// One file to sweep: its name for messages, its path, what it should give.
struct Item {
  std::string name, path;
  std::optional<Expected> exp;
};

// The group-then-attribute sweep described at the top. Returns the tally;
// every mismatch is a test failure naming the file (or the group, and then
// each culprit file found by the re-runs).
Tally sweep(const std::vector<Item>& items, const fs::path& work, const std::string& tag) {
  std::vector<std::vector<const Item*>> groups;
  std::vector<const Item*> alone;
  for (const auto& it : items) {
    if (it.exp && !it.exp->damaged && it.path.find(',') == std::string::npos) {
      if (groups.empty() || groups.back().size() == kGroupSize) groups.emplace_back();
      groups.back().push_back(&it);
    } else {
      alone.push_back(&it);
    }
  }
  std::vector<Outcome> outcomes(groups.size());
  parallel_for(groups.size(), [&](std::size_t g) {
    std::vector<std::string> paths;
    for (const Item* it : groups[g]) paths.push_back(it->path);
    outcomes[g] = run_tstat(paths, work / (tag + "-group-" + std::to_string(g)), 1 + static_cast<int>(g % 2),
                            kGroupLimit);
  });

  Tally t;
  std::vector<std::string> problems;
  for (std::size_t g = 0; g < groups.size(); ++g) {
    const Outcome& o = outcomes[g];
    std::uint64_t want = 0;
    for (const Item* it : groups[g]) want += it->exp->packets;
    std::string why = crash_signs(o);
    if (why.empty() && o.status != 0) why = "exit " + std::to_string(o.status);
    if (why.empty() && packets_read(o.err) != want)
      why = "read " + std::to_string(packets_read(o.err).value_or(0)) + " packets, expected " +
            std::to_string(want);
    if (why.empty() && !o.logs) why = "no log_tcp_complete written";
    for (const auto& l : lines_of(o.err))
      if (why.empty() && is_diagnostic(l)) why = "unexpected error: " + l;
    t.runs += 1;
    t.secs += o.secs;
    if (why.empty()) {
      t.files += groups[g].size();
      t.clean += groups[g].size();
      t.packets += want;
      continue;
    }
    problems.push_back(tag + " group " + std::to_string(g) + " (" + groups[g].front()->name + " .. " +
                       groups[g].back()->name + "): " + why);
    alone.insert(alone.end(), groups[g].begin(), groups[g].end());  // find the culprit
  }

  std::vector<Outcome> singles(alone.size());
  parallel_for(alone.size(), [&](std::size_t i) {
    singles[i] = run_tstat({alone[i]->path}, work / (tag + "-single-" + std::to_string(i)),
                           1 + static_cast<int>(i % 2), kPerFileLimit);
  });
  for (std::size_t i = 0; i < alone.size(); ++i) {
    const Outcome& o = singles[i];
    check_single(alone[i]->name, alone[i]->path, o, alone[i]->exp, problems);
    t.runs += 1;
    t.secs += o.secs;
    t.files += 1;
    t.packets += packets_read(o.err).value_or(0);
    if (o.status == 1)
      ++t.unreadable;
    else if (o.err.find("block 'cap': " + alone[i]->path + ": record ") != std::string::npos)
      ++t.damaged;
    else
      ++t.clean;
  }
  for (const auto& p : problems) ADD_FAILURE() << p;
  return t;
}

class Sweep : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = netloom::test::corpus_root();
    if (!fs::is_directory(root_ / "dev"))
      GTEST_SKIP() << "corpus not found at " << root_ << " (set NETLOOM_CORPUS)";
    work_ = fs::temp_directory_path() / ("netloom-sweep-" + std::to_string(::getpid()));
    fs::create_directories(work_);
  }
  void TearDown() override {
    std::error_code ec;
    if (!work_.empty()) fs::remove_all(work_, ec);
  }

  // A corpus directory, expectations from capture_expected.csv, else from
  // libpcap when `libpcap` (bench-seeds/ is classic pcap only).
  void sweep_dir(const std::string& dir, bool libpcap) {
    const auto csv = load_expected_csv();
    ASSERT_FALSE(csv.empty()) << "tests/data/capture_expected.csv not readable";
    const auto files = corpus_files(root_, dir);
    if (files.empty()) GTEST_SKIP() << "no files under " << (root_ / dir);
    std::vector<Item> items;
    for (const auto& f : files) {
      Item it{f, (root_ / f).string(), std::nullopt};
      if (auto e = csv.find(f); e != csv.end())
        it.exp = e->second;
      else if (libpcap)
        it.exp = libpcap_count(it.path);
      items.push_back(std::move(it));
    }
    print_tally(dir + "/", sweep(items, work_, dir));
  }

  fs::path root_, work_;
};

// The harness itself: a run that never ends (a FIFO nobody writes to) is
// reported as a hang and killed, so a real hang cannot pass unnoticed.
TEST(SweepHarness, HangIsCaughtAndKilled) {
  const fs::path work = fs::temp_directory_path() / ("netloom-sweep-hang-" + std::to_string(::getpid()));
  fs::create_directories(work);
  const fs::path fifo = work / "never.pcap";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const Outcome o = run_tstat({fifo.string()}, work / "run", 1, std::chrono::seconds(2));
  EXPECT_TRUE(o.timed_out);
  EXPECT_EQ(crash_signs(o).rfind("hung: killed after 2 s", 0), 0u) << crash_signs(o);
  fs::remove_all(work);
}

TEST_F(Sweep, DevCaptures) { sweep_dir("dev", false); }

TEST_F(Sweep, FormatCases) { sweep_dir("formats", false); }

TEST_F(Sweep, BenchSeeds) { sweep_dir("bench-seeds", true); }

// --- damaged and mutated copies the test writes itself ----------------------

// The first `keep` bytes of `src`, as a new file.
void write_cut(const fs::path& src, const fs::path& dst, std::size_t keep) {
  const std::string data = slurp(src);
  std::ofstream(dst, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(std::min(keep, data.size())));
}

// `src` gzip-compressed, with the compressed stream cut in half.
void write_cut_gzip(const fs::path& src, const fs::path& dst) {
  const std::string data = slurp(src);
  const fs::path whole = dst.string() + ".whole";
  gzFile gz = gzopen(whole.c_str(), "wb");
  gzwrite(gz, data.data(), static_cast<unsigned>(data.size()));
  gzclose(gz);
  write_cut(whole, dst, static_cast<std::size_t>(fs::file_size(whole) / 2));
  fs::remove(whole);
}

// Every packet of `src` with a few bytes of its first 128 (link, IP, L4
// headers, start of payload) replaced at random (fixed seed): headers that
// lie about lengths, options, versions, ports, in otherwise real traffic.
// Returns the packet count, or nullopt when libpcap cannot read `src`.
std::optional<std::uint64_t> write_mutated(const fs::path& src, const fs::path& dst, unsigned seed) {
  char errbuf[PCAP_ERRBUF_SIZE];
  pcap_t* in = pcap_open_offline(src.c_str(), errbuf);
  if (in == nullptr) return std::nullopt;
  pcap_t* dead = pcap_open_dead(pcap_datalink(in), 262144);
  pcap_dumper_t* out = pcap_dump_open(dead, dst.c_str());
  std::mt19937 rng(seed);
  std::uint64_t n = 0;
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  std::vector<u_char> buf;
  while (pcap_next_ex(in, &h, &d) == 1) {
    buf.assign(d, d + h->caplen);
    const std::size_t span = std::min<std::size_t>(buf.size(), 128);
    for (int k = 0; span > 0 && k < 3; ++k) buf[rng() % span] = static_cast<u_char>(rng());
    pcap_dump(reinterpret_cast<u_char*>(out), h, buf.data());
    ++n;
  }
  pcap_dump_close(out);
  pcap_close(dead);
  pcap_close(in);
  return n;
}

// Runs `paths` in groups, for checks of their own. A group that crashes,
// hangs or trips a sanitizer is re-run file by file to name the culprit.
std::vector<Outcome> run_groups(const std::vector<std::string>& paths, const fs::path& work,
                                const std::string& tag) {
  std::vector<std::vector<std::string>> groups;
  for (std::size_t i = 0; i < paths.size(); i += kGroupSize)
    groups.emplace_back(paths.begin() + static_cast<std::ptrdiff_t>(i),
                        paths.begin() + static_cast<std::ptrdiff_t>(std::min(paths.size(), i + kGroupSize)));
  std::vector<Outcome> outcomes(groups.size());
  parallel_for(groups.size(), [&](std::size_t g) {
    outcomes[g] = run_tstat(groups[g], work / (tag + "-group-" + std::to_string(g)),
                            1 + static_cast<int>(g % 2), kGroupLimit);
  });
  std::vector<std::string> suspects;
  for (std::size_t g = 0; g < groups.size(); ++g)
    if (!crash_signs(outcomes[g]).empty())
      suspects.insert(suspects.end(), groups[g].begin(), groups[g].end());
  std::vector<Outcome> singles(suspects.size());
  parallel_for(suspects.size(), [&](std::size_t i) {
    singles[i] = run_tstat({suspects[i]}, work / (tag + "-single-" + std::to_string(i)), 1, kPerFileLimit);
  });
  for (std::size_t i = 0; i < suspects.size(); ++i)
    if (auto c = crash_signs(singles[i]); !c.empty())
      ADD_FAILURE() << suspects[i] << ": " << c << "\n" << singles[i].err;
  return outcomes;
}

std::vector<std::string> dev_pcaps(const fs::path& root) {
  std::vector<std::string> v;
  for (const auto& f : corpus_files(root, "dev"))
    if (fs::path(f).extension() == ".pcap") v.push_back((root / f).string());
  return v;
}

// Cut copies of the dev captures (inside a record, usually) and cut gzip
// copies, all in one list: each damaged file is named with its record, the
// files after it are still read, the run exits 0.
TEST_F(Sweep, CutCopiesOfDevCaptures) {
  std::vector<std::string> cut, gz;
  std::map<std::string, Expected> exp;
  for (const auto& src : dev_pcaps(root_)) {
    const std::string name = fs::path(src).filename().string();
    const fs::path c = work_ / ("cut-" + name), z = work_ / ("cut-" + name + ".gz");
    write_cut(src, c, fs::file_size(src) * 2 / 3);
    write_cut_gzip(src, z);
    auto e = libpcap_count(c.string());
    ASSERT_TRUE(e) << c;
    exp[c.string()] = *e;
    cut.push_back(c.string());
    gz.push_back(z.string());
  }
  ASSERT_FALSE(cut.empty());
  std::vector<std::string> all = cut;
  all.insert(all.end(), gz.begin(), gz.end());
  const auto outcomes = run_groups(all, work_, "cut");
  std::uint64_t damaged = 0, packets = 0;
  for (std::size_t g = 0; g < outcomes.size(); ++g) {
    const Outcome& o = outcomes[g];
    ASSERT_EQ(crash_signs(o), "") << o.err;
    EXPECT_EQ(o.status, 0) << o.err;
    EXPECT_TRUE(o.logs);
    packets += packets_read(o.err).value_or(0);
  }
  std::string all_err;
  for (const auto& o : outcomes) all_err += o.err;
  // libpcap's verdict on each cut pcap: the same record named, or no error.
  std::uint64_t cut_packets = 0;
  for (const auto& c : cut) {
    const Expected& e = exp[c];
    cut_packets += e.packets;
    const std::string line =
        "block 'cap': " + c + ": record " + std::to_string(e.packets + 1) + ": truncated";
    EXPECT_EQ(all_err.find(line) != std::string::npos, e.damaged) << c << "\n" << all_err;
    damaged += e.damaged;
  }
  // A cut gzip stream is always damaged: its line names the file and a record.
  for (const auto& z : gz) {
    EXPECT_NE(all_err.find("block 'cap': " + z + ": record "), std::string::npos) << z << "\n" << all_err;
    ++damaged;
  }
  std::size_t diags = 0;
  for (const auto& l : lines_of(all_err)) diags += is_diagnostic(l);
  EXPECT_EQ(diags, damaged) << all_err;  // one line per damaged file, nothing else
  EXPECT_GE(packets, cut_packets);       // the gzip copies add their valid part
  std::printf("[ sweep    ] cut dev       %3zu files (%zu pcap, %zu gzip): %llu damaged, %llu packets read\n",
              all.size(), cut.size(), gz.size(), static_cast<unsigned long long>(damaged),
              static_cast<unsigned long long>(packets));
}

// Three mutated copies of every dev pcap: garbage in real packets' headers
// must never crash the decoder, the flow tracker, the classifiers or the
// logs. Every packet is still read (the file format is intact).
TEST_F(Sweep, MutatedCopiesOfDevCaptures) {
  std::vector<Item> items;
  for (const auto& src : dev_pcaps(root_))
    for (unsigned seed = 1; seed <= 3; ++seed) {
      const fs::path m = work_ / ("mut" + std::to_string(seed) + "-" + fs::path(src).filename().string());
      auto n = write_mutated(src, m, seed);
      ASSERT_TRUE(n) << src;
      items.push_back({m.filename().string(), m.string(), Expected{*n, false, ""}});
    }
  ASSERT_FALSE(items.empty());
  print_tally("mutated dev", sweep(items, work_, "mutated"));
}

}  // namespace
