// The PcapSource block, loaded from build/plugins/netloom_capture.so and run
// against a minimal fake Context (no runtime needed).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "block_harness.hpp"
#include "loopback_port.hpp"
#include "netloom/netloom.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

using test::corpus_root;
using test::FakeContext;

// Collects what the block emits, running its prepare stage (decoding) the way
// the runtime does for a source with BlockInfo::parallel_prepare.
struct Collect : Emit {
  Block* block = nullptr;
  std::vector<std::shared_ptr<PacketBatch>> batches;
  void operator()(unsigned port, MessagePtr msg) override {
    EXPECT_EQ(port, 0u);
    auto b = std::static_pointer_cast<PacketBatch>(msg);
    if (block) block->prepare(*b);
    batches.push_back(b);
  }
};

test::PluginFile& plugin() {
  static test::PluginFile p("netloom_capture.so");
  return p;
}

struct BlockRun {
  std::unique_ptr<Block> block;
  FakeContext ctx;
  Collect out;
  std::size_t packets() const {
    std::size_t n = 0;
    for (const auto& b : out.batches) n += b->packets.size();
    return n;
  }
};

using test::make_params;

std::unique_ptr<BlockRun> start(const std::map<std::string, ParamValue>& over, std::size_t batch = 64) {
  auto r = std::make_unique<BlockRun>();
  BlockInfo info = plugin().factory().info();
  for (const auto& c : info.counters) r->ctx.counters[c.name];
  r->ctx.batch = batch;
  r->block.reset(plugin().factory().create());
  r->block->configure(make_params(info, over), r->ctx);
  EXPECT_TRUE(info.parallel_prepare);
  r->out.block = r->block.get();
  return r;
}

void run_to_end(BlockRun& r) {
  for (int i = 0; i < 1000000; ++i)
    if (r.block->produce(r.out) == SourceStatus::done) return;
  FAIL() << "source never finished";
}

#define REQUIRE_CORPUS()                                                                          \
  do {                                                                                            \
    if (!fs::is_directory(corpus_root() / "dev"))                                                 \
      GTEST_SKIP() << "capture corpus not found at " << corpus_root() << " (set NETLOOM_CORPUS)"; \
  } while (0)

TEST(PcapSourceBlock, Describesitself) {
  BlockInfo info = plugin().factory().info();
  EXPECT_EQ(plugin().manifest()->count, 1u);
  EXPECT_EQ(info.type, "PcapSource");
  EXPECT_TRUE(info.inputs.empty());
  ASSERT_EQ(info.outputs.size(), 1u);
  EXPECT_EQ(info.outputs[0].type, "PacketBatch");
  EXPECT_EQ(info.threading, Threading::serial);
  for (const char* c : {"packets", "bytes", "wire_bytes", "files_ok", "files_failed", "read_errors",
                        "filtered", "kernel_drops", "interface_drops", "malformed", "truncated", "not_ip"}) {
    bool found = false;
    for (const auto& s : info.counters) found |= s.name == c;
    EXPECT_TRUE(found) << c;
  }
}

TEST(PcapSourceBlock, ConfigErrors) {
  EXPECT_THROW(start({}), ConfigError);
  EXPECT_THROW(start({{"files", std::string("a.pcap")}, {"interface", std::string("lo")}}), ConfigError);
  EXPECT_THROW(start({{"files", std::string("a.pcap")}, {"filter", std::string("tcp prot 80")}}),
               ConfigError);
  EXPECT_THROW(start({{"interface", std::string("netloom-no-such-if0")}}), ConfigError);
}

TEST(PcapSourceBlock, FileListWithErrors) {
  REQUIRE_CORPUS();
  auto c = corpus_root();
  // tshark: truncated_dns_2 has 1 valid record (200 bytes), android.pcap 500
  // (133530 bytes), quic_interop_V.pcapng 246 (242924 bytes).
  std::string files = (c / "formats/truncated_dns_2.pcap").string() + ", " +
                      (c / "formats/nothing_here.pcap").string() + "," + (c / "dev/android.pcap").string() +
                      "," + (c / "dev/quic_interop_V.pcapng").string();
  auto r = start({{"files", files}, {"progress", false}}, 32);
  run_to_end(*r);
  EXPECT_EQ(r->packets(), 1u + 500u + 246u);
  EXPECT_EQ(r->ctx.value("packets"), 747u);
  EXPECT_EQ(r->ctx.value("bytes"), 200u + 133530u + 242924u);
  EXPECT_EQ(r->ctx.value("files_ok"), 2u);
  EXPECT_EQ(r->ctx.value("files_failed"), 2u);
  EXPECT_EQ(r->ctx.value("read_errors"), 2u);
  ASSERT_EQ(r->ctx.logs.size(), 2u);
  EXPECT_NE(r->ctx.logs[0].find("truncated_dns_2.pcap: record 2: truncated"), std::string::npos);
  EXPECT_NE(r->ctx.logs[1].find("nothing_here.pcap: cannot open"), std::string::npos);

  std::uint64_t clock = 0, seq = 0;
  for (const auto& b : r->out.batches) {
    EXPECT_LE(b->packets.size(), 32u);
    EXPECT_EQ(b->sequence, seq++);
    EXPECT_GE(b->clock_ns, clock);
    clock = b->clock_ns;
    for (const auto& p : b->packets) {
      ASSERT_GE(p.data, b->buffer.data());  // data lives in this batch's buffer
      ASSERT_LE(p.data + p.caplen, b->buffer.data() + b->buffer.size());
      EXPECT_LE(p.ts_ns, b->clock_ns);
    }
  }
  // android.pcap is the third file: iface = 2 << 8.
  EXPECT_EQ(r->out.batches.front()->packets.front().iface, 0);
  EXPECT_EQ(r->out.batches.back()->packets.back().iface, 3 << 8);
  EXPECT_NE(r->block->summary().find("747 packets"), std::string::npos) << r->block->summary();
}

TEST(PcapSourceBlock, NothingReadableFailsTheRun) {
  REQUIRE_CORPUS();
  auto r = start({{"files", (corpus_root() / "formats/malformed.pcap").string()}, {"progress", false}});
  EXPECT_THROW(run_to_end(*r), InputError);
  EXPECT_EQ(r->ctx.value("files_failed"), 1u);
}

TEST(PcapSourceBlock, MaxPacketsAndFilter) {
  REQUIRE_CORPUS();
  auto r = start({{"files", (corpus_root() / "dev/android.pcap").string()},
                  {"max_packets", std::int64_t{100}},
                  {"progress", false}});
  run_to_end(*r);
  EXPECT_EQ(r->packets(), 100u);

  // tshark -Y ip.proto==1 on dns_icmp.pcap: 22 of 32.
  auto f = start({{"files", (corpus_root() / "formats/dns_icmp.pcap").string()},
                  {"filter", std::string("icmp")},
                  {"progress", false}});
  run_to_end(*f);
  EXPECT_EQ(f->packets(), 22u);
  EXPECT_EQ(f->ctx.value("filtered"), 10u);
  for (const auto& b : f->out.batches)
    for (const auto& p : b->packets) EXPECT_EQ(p.l4_proto, 1);  // decoded once, here
}

TEST(PcapSourceBlock, RecordsLargerThanTheBatchBudget) {
  // Synthetic pcap: jumbo records (200 KB, budget is 256 KiB) between small ones.
  fs::path path = fs::temp_directory_path() / "netloom_capture_jumbo.pcap";
  std::string s;
  auto put32 = [&](std::uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); };
  put32(0xa1b2c3d4);
  put32(0x00040002);
  put32(0);
  put32(0);
  put32(262144);
  put32(1);
  std::vector<std::uint32_t> sizes = {60, 200000, 200000, 70, 262144, 80, 90};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    put32(1700000000);
    put32(static_cast<std::uint32_t>(i));
    put32(sizes[i]);
    put32(sizes[i]);
    for (std::uint32_t j = 0; j < sizes[i]; ++j) s.push_back(static_cast<char>(i + j));
  }
  { std::ofstream(path, std::ios::binary) << s; }
  auto r = start({{"files", path.string()}, {"progress", false}}, 4);
  run_to_end(*r);
  fs::remove(path);
  std::vector<std::uint32_t> got;
  for (const auto& b : r->out.batches)
    for (const auto& p : b->packets) {
      got.push_back(p.caplen);
      std::size_t i = got.size() - 1;
      bool same = true;
      for (std::uint32_t j = 0; j < p.caplen; ++j) same &= p.data[j] == static_cast<std::uint8_t>(i + j);
      EXPECT_TRUE(same) << "record " << i;
      EXPECT_GE(p.data, b->buffer.data());
      EXPECT_LE(p.data + p.caplen, b->buffer.data() + b->buffer.size());
    }
  EXPECT_EQ(got, sizes);
}

TEST(PcapSourceBlock, LiveLoopbackAndIdleClock) {
  test::LoopbackPort port;
  std::unique_ptr<BlockRun> r;
  try {
    r = start({{"interface", std::string("lo")},
               {"filter", "udp port " + std::to_string(port.port())},
               {"immediate", true},
               {"progress", false}});
  } catch (const ConfigError& e) {
    GTEST_SKIP() << "no live capture here: " << e.what();
  }
  port.send(5);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(2500);
  while (std::chrono::steady_clock::now() < until) EXPECT_NE(r->block->produce(r->out), SourceStatus::done);
  EXPECT_EQ(r->packets(), 5u);
  EXPECT_EQ(r->ctx.value("packets"), 5u);
  for (const auto& b : r->out.batches)
    for (const auto& p : b->packets) EXPECT_EQ(p.dport, port.port());
  // The idle link still produced empty batches carrying the clock forward.
  ASSERT_GE(r->out.batches.size(), 2u);
  EXPECT_TRUE(r->out.batches.back()->packets.empty());
  EXPECT_GT(r->out.batches.back()->clock_ns, r->out.batches.front()->clock_ns);
  EXPECT_EQ(r->ctx.value("kernel_drops"), 0u);
}

}  // namespace
