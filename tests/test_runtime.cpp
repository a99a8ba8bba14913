// The runtime on test plugins: exact delivery, order, timers on packet time,
// flush order, fan-out with copy-on-write, back-pressure, errors, stop.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "composition/composition.hpp"
#include "runtime/registry.hpp"
#include "runtime/runtime.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using namespace netloom::core;

namespace {

const Registry& registry() {
  static Registry reg = [] {
    Registry r;
    std::vector<std::string> errors;
    r.load_dir(std::string(NETLOOM_TEST_PLUGIN_DIR) + "/good", errors);
    EXPECT_TRUE(errors.empty());
    return r;
  }();
  return reg;
}

struct RunResult {
  bool built = false;
  std::uint64_t errors = 0;
  std::vector<BlockStats> stats;
  std::vector<std::string> build_errors;
  std::vector<std::string> logs;
};

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("netloom-rt-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  RunResult run(const std::string& xml, int threads = 2) {
    std::vector<Diagnostic> diags;
    auto comp = parse_composition_string(xml, "test.xml", {{"dir", dir_.string()}}, diags);
    ValidatedComposition vc;
    if (diags.empty())
      validate_composition(
          comp,
          [](std::string_view t) -> const BlockInfo* {
            auto* bt = registry().find(t);
            return bt ? &bt->info : nullptr;
          },
          vc, diags);
    for (auto& d : diags) ADD_FAILURE() << d.str();
    RunResult r;
    RunOptions o;
    o.threads = threads;
    o.log = [&r](LogLevel, const std::string& s) { r.logs.push_back(s); };
    Runtime rt(registry(), vc, o);
    r.built = rt.build(r.build_errors);
    if (r.built) r.errors = rt.run();
    r.stats = rt.stats();
    return r;
  }
  std::vector<std::string> lines(const std::string& name) {
    std::ifstream f(dir_ / name);
    std::vector<std::string> v;
    for (std::string l; std::getline(f, l);) v.push_back(l);
    return v;
  }
  static const BlockStats& block(const RunResult& r, const std::string& id) {
    for (auto& b : r.stats)
      if (b.id == id) return b;
    throw std::runtime_error("no block " + id);
  }
  static std::uint64_t counter(const BlockStats& b, const std::string& name) {
    for (auto& [n, v] : b.counters)
      if (n == name) return v;
    throw std::runtime_error("no counter " + name);
  }
  fs::path dir_;
};

const char* kHeader = "<composition name='t'><var name='dir'/>";

TEST_F(RuntimeTest, DeliversEveryPacketInOrderThenFlushes) {
  auto r = run(std::string(kHeader) + R"(
    <block id="src" type="TestSource"><param name="batches" value="500"/><param name="per_batch" value="7"/></block>
    <block id="snk" type="TestSink"><param name="output" value="${dir}/snk.txt"/></block>
    <connect from="src.out" to="snk.in"/></composition>)");
  ASSERT_TRUE(r.built);
  EXPECT_EQ(r.errors, 0u);
  auto l = lines("snk.txt");
  ASSERT_EQ(l.size(), 3501u);
  for (std::size_t i = 0; i < 3500; ++i) {
    std::istringstream is(l[i]);
    std::string tag;
    std::uint64_t seq, ts;
    is >> tag >> seq >> ts;
    ASSERT_EQ(seq, i) << "packet order broken at line " << i;
    ASSERT_EQ(ts, 1000'000'000'000ull + i * 1'000'000ull);
  }
  EXPECT_EQ(l.back(), "F");
  const auto& snk = block(r, "snk");
  EXPECT_EQ(snk.inputs[0].items, 3500u);
  EXPECT_EQ(snk.inputs[0].messages, 500u);
  EXPECT_EQ(snk.outputs[0].unconnected, 3500u);  // optional output left open is counted
  EXPECT_EQ(counter(snk, "batches"), 500u);
  EXPECT_EQ(block(r, "src").outputs[0].items, 3500u);
  EXPECT_EQ(counter(block(r, "src"), "packets"), 3500u);
}

TEST_F(RuntimeTest, ParallelPrepareKeepsEmissionOrderInBothModes) {
  for (int threads : {1, 2}) {
    auto r = run(std::string(kHeader) + R"(
      <block id="src" type="TestPreparingSource"><param name="batches" value="400"/><param name="per_batch" value="5"/></block>
      <block id="snk" type="TestSink"><param name="output" value="${dir}/snk.txt"/></block>
      <connect from="src.out" to="snk.in"/></composition>)",
                 threads);
    ASSERT_TRUE(r.built);
    auto l = lines("snk.txt");
    ASSERT_EQ(l.size(), 2001u) << "threads=" << threads;
    for (std::size_t i = 0; i < 2000; ++i) {
      std::istringstream is(l[i]);
      std::string tag;
      std::uint64_t seq, ts, vlan;
      is >> tag >> seq >> ts >> vlan;
      ASSERT_EQ(seq, i) << "threads=" << threads;
      ASSERT_EQ(vlan, 1 + i % 1000) << "prepare did not run before delivery, threads=" << threads;
    }
    EXPECT_EQ(block(r, "src").outputs[0].items, 2000u);
  }
}

TEST_F(RuntimeTest, TimersFireOnPacketTimeAtEachMultipleOfThePeriod) {
  // 40 batches x 5 packets, 100 ms apart: 20 s of packet time from t=1000 s.
  auto r = run(std::string(kHeader) + R"(
    <block id="src" type="TestSource"><param name="batches" value="40"/><param name="per_batch" value="5"/>
      <param name="step" value="100ms"/></block>
    <block id="snk" type="TestSink"><param name="output" value="${dir}/snk.txt"/><param name="timer" value="3s"/></block>
    <connect from="src.out" to="snk.in"/></composition>)",
               1);
  ASSERT_TRUE(r.built);
  std::vector<std::uint64_t> fired;
  for (auto& l : lines("snk.txt"))
    if (l.rfind("T 7 ", 0) == 0) fired.push_back(std::stoull(l.substr(4)));
  // Clock runs 1000.0 .. 1019.9 s; multiples of 3 s after the start: 1002, 1005, ..., 1017.
  std::vector<std::uint64_t> want;
  for (std::uint64_t t = 1002; t <= 1017; t += 3) want.push_back(t * 1'000'000'000ull);
  EXPECT_EQ(fired, want);
  // Each timer fires before the first batch that starts at or after it.
  auto l = lines("snk.txt");
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (l[i].rfind("T ", 0) != 0) continue;
    std::uint64_t t = std::stoull(l[i].substr(4));
    std::istringstream prev(l[i - 1]), next(l[i + 1]);
    std::string tag;
    std::uint64_t seq, tp, tn;
    prev >> tag >> seq >> tp;
    next >> tag >> seq >> tn;
    EXPECT_LT(tp, t);
    EXPECT_GE(tn, t);
  }
}

TEST_F(RuntimeTest, FanOutAndFanInCountEveryCopy) {
  auto r = run(std::string(kHeader) + R"(
    <block id="a" type="TestSource"><param name="batches" value="30"/></block>
    <block id="b" type="TestSource"><param name="batches" value="20"/><param name="per_batch" value="3"/></block>
    <block id="s1" type="TestSink"><param name="output" value="${dir}/s1.txt"/></block>
    <block id="s2" type="TestSink"/>
    <connect from="a.out" to="s1.in"/><connect from="b.out" to="s1.in"/>
    <connect from="a.out" to="s2.in"/></composition>)");
  ASSERT_TRUE(r.built);
  EXPECT_EQ(block(r, "s1").inputs[0].items, 30u * 4 + 20u * 3);
  EXPECT_EQ(block(r, "s2").inputs[0].items, 30u * 4);
  EXPECT_EQ(lines("s1.txt").size(), 30u * 4 + 20u * 3 + 1);
}

TEST_F(RuntimeTest, WriterGetsPrivateCopyWhenMessageIsShared) {
  // src fans out to a writer (tags vlan=9) and to a chain of two readers; the
  // readers must never see the writer's tag.
  auto r = run(std::string(kHeader) + R"(
    <block id="src" type="TestSource"><param name="batches" value="300"/></block>
    <block id="w" type="TestWriter"><param name="tag" value="9"/><param name="output" value="${dir}/w.txt"/></block>
    <block id="r1" type="TestSink"/>
    <block id="r2" type="TestSink"><param name="output" value="${dir}/r2.txt"/></block>
    <block id="after" type="TestSink"><param name="output" value="${dir}/after.txt"/></block>
    <connect from="src.out" to="w.in"/><connect from="src.out" to="r1.in"/>
    <connect from="r1.out" to="r2.in"/><connect from="w.out" to="after.in"/></composition>)");
  ASSERT_TRUE(r.built);
  auto r2 = lines("r2.txt");
  ASSERT_EQ(r2.size(), 1201u);
  for (std::size_t i = 0; i + 1 < r2.size(); ++i) ASSERT_EQ(r2[i].substr(r2[i].rfind(' ')), " 0") << r2[i];
  auto after = lines("after.txt");
  ASSERT_EQ(after.size(), 1201u);
  for (std::size_t i = 0; i + 1 < after.size(); ++i) ASSERT_EQ(after[i].substr(after[i].rfind(' ')), " 9");
}

TEST_F(RuntimeTest, BackPressureBoundsBatchesInFlight) {
  // 2000 batches through a pool of 4: the source must wait, never drop.
  auto r = run(R"(<composition name='t' max-in-flight='4'><var name='dir'/>
    <block id="src" type="TestSource"><param name="batches" value="2000"/><param name="per_batch" value="1"/></block>
    <block id="snk" type="TestSink"/>
    <connect from="src.out" to="snk.in"/></composition>)");
  ASSERT_TRUE(r.built);
  EXPECT_EQ(block(r, "snk").inputs[0].items, 2000u);
}

TEST_F(RuntimeTest, BlockExceptionsAreCountedAndLoggedNotFatal) {
  auto r = run(std::string(kHeader) + R"(
    <block id="src" type="TestSource"><param name="batches" value="25"/></block>
    <block id="bad" type="TestSink"><param name="fail" value="true"/></block>
    <connect from="src.out" to="bad.in"/></composition>)");
  ASSERT_TRUE(r.built);
  EXPECT_EQ(r.errors, 25u);
  EXPECT_EQ(block(r, "bad").errors, 25u);
  ASSERT_EQ(r.logs.size(), 10u);  // the first ten, then every 1000th
  EXPECT_EQ(r.logs[0], "block 'bad' (TestSink): receive: asked to fail");
  EXPECT_NE(r.logs[9].find("further errors of this block are logged every 1000th"), std::string::npos);
}

TEST_F(RuntimeTest, ConfigureErrorsNameFileLineAndBlock) {
  auto r = run(std::string(kHeader) + R"(
    <block id="snk" type="TestSink"/>
    <block id="src" type="TestSource"><param name="per_batch" value="0"/></block>
    <connect from="src.out" to="snk.in"/></composition>)");
  EXPECT_FALSE(r.built);
  EXPECT_EQ(r.build_errors,
            std::vector<std::string>{"test.xml:3: block 'src': per_batch must be positive when batches > 0"});
}

}  // namespace
