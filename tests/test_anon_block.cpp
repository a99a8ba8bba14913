// The Anonymizer block between FlowTracker and LogSink (plugins of the build,
// fed like the runtime feeds them) on real captures: the logs carry the
// anonymized addresses of the internal ends and nothing else changes; with
// packets=true the rewritten packets agree with the logs and keep valid
// checksums; the same key gives the same logs; configuration errors are one
// line naming the file.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "anonymizer.hpp"
#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "cryptopan.hpp"
#include "decode/decode.hpp"
#include "netloom/netloom.hpp"
#include "packet_rewrite.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using Over = std::map<std::string, ParamValue>;

namespace {

const privacy::Key kReferenceKey = {21,  34,  23,  141, 51,  164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
                                    216, 152, 143, 131, 121, 121, 101, 39,  98, 87, 76, 45, 42, 132, 34,  2};

test::PluginFile& flow_plugin() {
  static test::PluginFile p("netloom_flow.so");
  return p;
}
test::PluginFile& anon_plugin() {
  static test::PluginFile p("netloom_anon.so");
  return p;
}
test::PluginFile& logs_plugin() {
  static test::PluginFile p("netloom_logs.so");
  return p;
}

struct Collect : Emit {
  std::vector<MessagePtr> out[2];
  void operator()(unsigned port, MessagePtr m) override { out[port & 1].push_back(std::move(m)); }
};

// FlowTracker -> [Anonymizer] -> LogSink(flows), fed like the runtime feeds
// them (packet-time timers before each batch).
struct Chain {
  test::FakeContext tctx, actx, lctx;
  std::unique_ptr<Block> tracker, anon, logs;
  Collect tout, aout, lout;
  std::vector<std::shared_ptr<PacketBatch>> logged;  // what LogSink received
  std::uint64_t clock = 0;

  Chain(const std::string& net_file, const fs::path& log_dir, const std::optional<Over>& anon_params) {
    tctx.id = "trk";
    tctx.batch = 256;
    tracker = test::make_block(flow_plugin().factory(), tctx,
                               {{"gc_trigger", std::string("new_flow")}, {"net_file", net_file}});
    if (anon_params) {
      actx.id = "anon";
      anon = test::make_block(anon_plugin().factory(), actx, *anon_params);
    }
    lctx.id = "logs";
    logs = test::make_block(logs_plugin().factory(), lctx,
                            {{"dir", log_dir.string()}, {"layout", std::string("flat")}});
  }
  void to_logs(const MessagePtr& m) {
    logs->receive(1, m, lout);
    logged.push_back(std::static_pointer_cast<PacketBatch>(m));
  }
  void drain() {
    for (auto& m : tout.out[0]) {
      if (!anon) {
        to_logs(m);
        continue;
      }
      anon->receive(0, m, aout);
      for (auto& x : aout.out[0]) to_logs(x);
      aout.out[0].clear();
    }
    tout.out[0].clear();
    tout.out[1].clear();
  }
  void feed(std::shared_ptr<PacketBatch> b) {
    if (!b->packets.empty()) {
      b->clock_ns = b->packets.back().ts_ns;
      const std::uint64_t t = b->packets.front().ts_ns;
      if (t > clock) {
        clock = t;
        for (auto& tm : tctx.timers) {
          if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
          while (tm.next <= t) {
            tracker->on_timer(tm.id, tm.next, tout);
            tm.next += tm.period;
          }
        }
      }
    }
    tracker->receive(0, b, tout);
    drain();
  }
  void finish() {
    tracker->flush(tout);
    drain();
    if (anon) anon->flush(aout);
    logs->flush(lout);
  }
};

fs::path corpus(const char* name) { return test::corpus_root() / "dev" / name; }

class AnonBlock : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("netloom-anon-block-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    key_file_ = (dir_ / "reference.key").string();
    std::ofstream(key_file_, std::ios::binary)
        .write(reinterpret_cast<const char*>(kReferenceKey.data()), kReferenceKey.size());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& name, const std::string& content) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  // Runs the capture through the chain; returns the chain (counters, batches).
  std::unique_ptr<Chain> run(const fs::path& capture, const std::string& net_file, const std::string& logdir,
                             const std::optional<Over>& anon) {
    auto c = std::make_unique<Chain>(net_file, dir_ / logdir, anon);
    test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) { c->feed(std::move(b)); });
    c->finish();
    return c;
  }
  Over with_key(Over o = {}) {
    o["key_file"] = key_file_;
    return o;
  }
  std::string config_error(const Over& o) {
    test::FakeContext ctx;
    try {
      test::make_block(anon_plugin().factory(), ctx, o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(no error)";
  }

  fs::path dir_;
  std::string key_file_;
};

using Row = std::vector<std::string>;

std::vector<Row> rows(const fs::path& f) {
  std::vector<Row> out;
  std::ifstream in(f);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    Row r;
    std::istringstream ss(line);
    std::string col;
    while (ss >> col) r.push_back(col);
    out.push_back(r);
  }
  return out;
}

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

IpAddr parse_ip(const std::string& s, std::uint8_t& ver) {
  IpAddr a{};
  ver = s.find(':') != std::string::npos ? 6 : 4;
  EXPECT_EQ(inet_pton(ver == 6 ? AF_INET6 : AF_INET, s.c_str(), a.data()), 1) << s;
  return a;
}

std::string ip_text(const IpAddr& a, std::uint8_t ver) {
  char b[INET6_ADDRSTRLEN];
  inet_ntop(ver == 6 ? AF_INET6 : AF_INET, a.data(), b, sizeof b);
  return b;
}

// The reference translation, computed outside the block.
std::string reference(const std::string& text) {
  static privacy::CryptoPan c(kReferenceKey);
  std::uint8_t ver;
  IpAddr a = parse_ip(text, ver);
  c.anonymize(a.data(), ver == 6 ? 16 : 4);
  return ip_text(a, ver);
}

// Column positions (0-based) of each end's address / internal / crypto flags.
struct Layout {
  const char* file;
  int ip[2], isint[2], iscrypto[2];
};
const Layout kLayouts[] = {
    {"log_tcp_complete", {0, 14}, {37, 38}, {39, 40}},
    {"log_tcp_nocomplete", {0, 14}, {37, 38}, {39, 40}},
    {"log_udp_complete", {0, 9}, {6, 15}, {7, 16}},
};

// Compares an anonymized run's logs with a clear run's, line by line:
// internal ends carry `translate(clear)` and crypto 1, everything else is
// identical (`v4_only`: IPv6 addresses stay clear, as XOR mode leaves them).
// Returns the number of addresses anonymized.
template <class Translate>
std::uint64_t compare_logs(const fs::path& clear_dir, const fs::path& anon_dir, Translate&& translate,
                           std::uint64_t* lines_out = nullptr, bool v4_only = false) {
  std::uint64_t anonymized = 0, lines = 0;
  for (const Layout& l : kLayouts) {
    const auto clear = rows(clear_dir / l.file), anon = rows(anon_dir / l.file);
    EXPECT_EQ(clear.size(), anon.size()) << l.file;
    for (std::size_t i = 0; i < std::min(clear.size(), anon.size()); ++i) {
      const Row &c = clear[i], &a = anon[i];
      ++lines;
      EXPECT_EQ(c.size(), a.size()) << l.file << " line " << i;
      if (c.size() != a.size()) continue;
      for (int d = 0; d < 2; ++d) {
        const std::string& cip = c[static_cast<std::size_t>(l.ip[d])];
        const bool internal = c[static_cast<std::size_t>(l.isint[d])] == "1" &&
                              !(v4_only && cip.find(':') != std::string::npos);
        EXPECT_EQ(c[static_cast<std::size_t>(l.iscrypto[d])], "0");
        EXPECT_EQ(a[static_cast<std::size_t>(l.iscrypto[d])], internal ? "1" : "0")
            << l.file << " line " << i;
        EXPECT_EQ(a[static_cast<std::size_t>(l.ip[d])], internal ? translate(cip) : cip)
            << l.file << " line " << i;
        anonymized += internal;
      }
      for (std::size_t k = 0; k < c.size(); ++k) {
        bool addr_col = false;
        for (int d = 0; d < 2; ++d)
          addr_col |= static_cast<int>(k) == l.ip[d] || static_cast<int>(k) == l.iscrypto[d];
        if (!addr_col) {
          EXPECT_EQ(a[k], c[k]) << l.file << " line " << i << " column " << k + 1;
        }
      }
    }
  }
  if (lines_out) *lines_out = lines;
  return anonymized;
}

}  // namespace

TEST_F(AnonBlock, DescribesItself) {
  const BlockInfo info = anon_plugin().factory().info();
  EXPECT_EQ(info.type, "Anonymizer");
  EXPECT_EQ(info.threading, Threading::serial);
  ASSERT_EQ(info.inputs.size(), 2u);
  EXPECT_EQ(info.inputs[0].type, "PacketBatch");
  EXPECT_EQ(info.inputs[1].type, "FlowBatch");
  EXPECT_TRUE(info.inputs[0].mutates);  // the runtime copies a batch other consumers hold
  EXPECT_TRUE(info.inputs[1].mutates);
  ASSERT_EQ(info.outputs.size(), 2u);
  EXPECT_EQ(info.outputs[0].type, "PacketBatch");
  EXPECT_EQ(info.outputs[1].type, "FlowBatch");
  std::set<std::string> counters;
  for (const auto& c : info.counters) counters.insert(c.name);
  for (const char* n :
       {"addresses_anonymized", "cache_hits", "cache_misses", "whitelisted", "records", "packets_rewritten"})
    EXPECT_TRUE(counters.count(n)) << n;
}

TEST_F(AnonBlock, ConfigErrorsAreOneLineNamingTheFile) {
  const std::string missing = (dir_ / "no.key").string();
  EXPECT_EQ(config_error({{"key_file", missing}}), missing + ": cannot open: No such file or directory");
  const std::string bad64 = file("bad.b64", "@@@@\n");
  EXPECT_EQ(config_error({{"key_base64_file", bad64}}), bad64 + ":1: not valid Base64");
  const std::string long_key = file("long.key", std::string(50, 'a') + "\n");
  EXPECT_EQ(config_error({{"key_file", long_key}}),
            long_key +
                ":1: the key is 50 bytes; a Crypto-PAn key holds at most 32 (shorter keys are zero-padded as "
                "Tstat does)");
  EXPECT_EQ(
      config_error({{"key", std::string(33, 'k')}}),
      "parameter 'key': the key is 33 bytes; a Crypto-PAn key holds at most 32 (shorter keys are zero-padded "
      "as Tstat does)");
  EXPECT_EQ(config_error({{"key", std::string("a")}, {"key_file", key_file_}}),
            "give only one of 'key', 'key_file' and 'key_base64_file' (Tstat's --keyvalue, --keyfile, "
            "--keybase64)");
  EXPECT_EQ(
      config_error({}),
      "no Crypto-PAn key: set 'key', 'key_file' or 'key_base64_file', or 'key_dir' to generate a random key "
      "saved there");
  EXPECT_EQ(config_error({{"mode", std::string("xor")}}), "mode 'xor' needs a nonzero 'xor_mask'");
  EXPECT_EQ(
      config_error({{"mode", std::string("xor")}, {"xor_mask", std::int64_t{255}}, {"key_file", key_file_}}),
      "parameters 'key', 'key_file', 'key_base64_file' and 'key_dir' apply to mode 'cryptopan'");
  EXPECT_EQ(config_error(with_key({{"xor_mask", std::int64_t{255}}})),
            "parameter 'xor_mask' applies to mode 'xor'");
  EXPECT_EQ(config_error(with_key({{"ends", std::string("crypto_nets")}})),
            "ends 'crypto_nets' needs one of 'crypto_nets_file' and 'crypto_nets'");
  EXPECT_EQ(config_error(with_key({{"crypto_nets", std::string("10.0.0.0/8")}})),
            "parameters 'crypto_nets' and 'crypto_nets_file' apply to ends 'crypto_nets'");
  EXPECT_EQ(config_error(with_key({{"whitelist", std::string("10.0.0.0/8, 10.0.0.300/8")}})),
            "parameter 'whitelist' entry:2: '10.0.0.300' is not an IPv4 or IPv6 address");
  const std::string wl = file("white.net", "# -W file\n130.192.0.0/16\n130.192.1.0/33\n");
  EXPECT_EQ(config_error(with_key({{"whitelist_file", wl}})), wl + ":3: prefix length '33' is not in 0..32");
  const std::string nowl = (dir_ / "none.net").string();
  EXPECT_EQ(config_error(with_key({{"whitelist_file", nowl}})),
            nowl + ": cannot open: No such file or directory");
  EXPECT_EQ(config_error(with_key()), "(no error)");
  // A failing configuration leaves no generated key behind.
  const fs::path keys = dir_ / "keys";
  EXPECT_EQ(config_error({{"key_dir", keys.string()}, {"whitelist", std::string("nonsense")}}),
            "parameter 'whitelist' entry:1: 'nonsense' is not an IPv4 or IPv6 network");
  EXPECT_FALSE(fs::exists(keys));
}

TEST_F(AnonBlock, LogsCarryAnonymizedInternalAddressesAndNothingElseChanges) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  auto clear = run(cap, nets, "clear", std::nullopt);
  auto anon = run(cap, nets, "anon", with_key());
  std::uint64_t lines = 0;
  const std::uint64_t expected = compare_logs(dir_ / "clear", dir_ / "anon", reference, &lines);
  EXPECT_GE(lines, 40u);  // android.pcap: 63 flows, most logged
  EXPECT_GT(expected, 0u);
  auto& a = anon->actx;
  EXPECT_EQ(a.value("addresses_anonymized"), expected);
  EXPECT_EQ(a.value("cache_hits") + a.value("cache_misses"), expected);
  EXPECT_LT(a.value("cache_misses"), expected);  // the phone's few addresses repeat
  EXPECT_EQ(a.value("whitelisted"), 0u);
  EXPECT_EQ(a.value("packets_rewritten"), 0u);  // packets=false: bytes untouched
  EXPECT_EQ(a.value("records"), anon->tctx.value("flows_closed"));
  // Distinct internal addresses in the clear logs = Crypto-PAn computations.
  std::set<std::string> internal;
  for (const Layout& l : kLayouts)
    for (const Row& r : rows(dir_ / "clear" / l.file))
      for (int d = 0; d < 2; ++d)
        if (r[static_cast<std::size_t>(l.isint[d])] == "1")
          internal.insert(r[static_cast<std::size_t>(l.ip[d])]);
  EXPECT_EQ(a.value("cache_misses"), internal.size());
  // Packets went through untouched: same bytes as a clear run's.
  ASSERT_EQ(anon->logged.size(), clear->logged.size());
  for (std::size_t i = 0; i < anon->logged.size(); ++i) {
    const auto &x = *anon->logged[i], &y = *clear->logged[i];
    ASSERT_EQ(x.buffer.size(), y.buffer.size());
    if (x.buffer.size()) {
      EXPECT_EQ(std::memcmp(x.buffer.data(), y.buffer.data(), x.buffer.size()), 0);
    }
  }
}

TEST_F(AnonBlock, OtherConsumersKeepTheClearRecord) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  Chain c(nets, dir_ / "logs", with_key());
  std::size_t checked = 0;
  test::for_each_batch(cap, [&](std::shared_ptr<PacketBatch> b) {
    c.tracker->receive(0, b, c.tout);
    for (auto& m : c.tout.out[0]) {
      auto& pb = m->as<PacketBatch>();
      std::vector<std::pair<FlowContext*, FlowKey>> before;
      for (const FlowEvent& e : pb.events)
        if (e.kind == FlowEvent::Kind::closed) before.emplace_back(e.flow, e.flow->record.key);
      c.anon->receive(0, m, c.aout);
      std::size_t k = 0;
      for (const FlowEvent& e : pb.events) {
        if (e.kind != FlowEvent::Kind::closed) continue;
        auto [orig, key] = before[k++];
        EXPECT_NE(e.flow, orig);                         // the event points at the anonymized copy
        EXPECT_EQ(orig->record.key.client, key.client);  // the tracker's context is untouched
        EXPECT_EQ(orig->record.key.server, key.server);
        EXPECT_FALSE(orig->record.crypto[0] || orig->record.crypto[1]);
        EXPECT_EQ(e.flow->record.crypto[0], e.flow->record.internal[0]);
        EXPECT_EQ(e.flow->record.id, orig->record.id);
        ++checked;
      }
      c.aout.out[0].clear();
    }
    c.tout.out[0].clear();
    c.tout.out[1].clear();
  });
  EXPECT_GT(checked, 0u);
}

// Packet checksums computed from scratch (IPv4 header; TCP/UDP over the
// pseudo-header when the whole datagram was captured).
struct Checks {
  std::optional<bool> ip, l4;
};
Checks checks_of(const Packet& p) {
  Checks c;
  if (!p.is_ip() || p.l3_off == kNoOffset || p.has(kTunneled)) return c;
  const std::uint8_t* h = p.data + p.l3_off;
  const std::uint32_t left = p.caplen - p.l3_off;
  std::uint32_t l4len = 0, pseudo = 0;
  if (p.ip_version == 4) {
    if (left < 20) return c;
    const std::uint32_t ihl = 4u * (h[0] & 15), total = static_cast<std::uint32_t>(h[2] << 8 | h[3]);
    c.ip = privacy::ones_fold(privacy::ones_sum(h, ihl)) == 0xFFFF;
    if (total > left || total < ihl) return c;
    l4len = total - (p.l4_off - p.l3_off);
    pseudo = privacy::ones_sum(h + 12, 8);
  } else {
    const std::uint32_t total = 40u + static_cast<std::uint32_t>(h[4] << 8 | h[5]);
    if (total > left) return c;
    l4len = total - (p.l4_off - p.l3_off);
    pseudo = privacy::ones_sum(h + 8, 32);
  }
  if (p.l4_off == kNoOffset || p.has(kFragment) || p.has(kFirstFragment)) return c;
  if (p.l4_proto != 6 && p.l4_proto != 17) return c;
  const std::uint8_t* l4 = p.data + p.l4_off;
  if (p.l4_proto == 17 && p.ip_version == 4 && l4[6] == 0 && l4[7] == 0) return c;  // no checksum
  pseudo += p.l4_proto + (l4len >> 16) + (l4len & 0xFFFF);
  c.l4 = privacy::ones_fold(privacy::ones_sum(l4, l4len, pseudo)) == 0xFFFF;
  return c;
}

TEST_F(AnonBlock, RewrittenPacketsMatchTheLogAndKeepValidChecksums) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  auto rec = run(cap, nets, "records_only", with_key());
  auto pk = run(cap, nets, "packets", with_key({{"packets", true}, {"net_file", nets}}));
  // The logs do not depend on packets=true.
  for (const Layout& l : kLayouts)
    EXPECT_EQ(slurp(dir_ / "packets" / l.file), slurp(dir_ / "records_only" / l.file)) << l.file;

  std::vector<std::shared_ptr<PacketBatch>> originals;
  test::for_each_batch(cap, [&](std::shared_ptr<PacketBatch> b) { originals.push_back(std::move(b)); });
  std::vector<const Packet*> before, after;
  for (auto& b : originals)
    for (const Packet& p : b->packets) before.push_back(&p);
  for (auto& b : pk->logged)
    for (const Packet& p : b->packets) after.push_back(&p);
  ASSERT_EQ(before.size(), after.size());

  std::set<std::string> packet_addrs;
  std::uint64_t rewritten = 0, not_ip = 0, ip_valid = 0, l4_valid = 0;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const Packet &o = *before[i], &n = *after[i];
    // Re-decoded bytes say what Packet::src/dst say.
    std::vector<std::uint8_t> bytes(n.data, n.data + n.caplen);
    auto b2 = std::make_shared<PacketBatch>();
    b2->buffer.reserve(bytes.size() + 1);
    Packet& q = b2->append(bytes.data(), static_cast<std::uint32_t>(bytes.size()));
    q.wirelen = n.wirelen;
    q.linktype = n.linktype;
    decode::decode_packet(q);
    if (!o.is_ip() || o.l3_off == kNoOffset) {
      ++not_ip;
      EXPECT_EQ(std::memcmp(o.data, n.data, o.caplen), 0) << "packet " << i;
      continue;
    }
    EXPECT_EQ(q.src, n.src) << "packet " << i;
    EXPECT_EQ(q.dst, n.dst) << "packet " << i;
    // Expected: the internal ends (by the flow, else the net file) translated.
    for (int e = 0; e < 2; ++e) {
      const IpAddr& was = e == 0 ? o.src : o.dst;
      const IpAddr& now = e == 0 ? n.src : n.dst;
      const bool internal =
          n.flow ? n.flow->record.internal[e == 0 ? (n.flow_dir & 1) : 1 - (n.flow_dir & 1)]
                 : (o.ip_version == 6 || (was[0] == 192 && was[1] == 168));  // no IPv6 net: all
      const std::string text = ip_text(was, o.ip_version);
      EXPECT_EQ(ip_text(now, o.ip_version), internal ? reference(text) : text) << "packet " << i;
      if (n.flow) packet_addrs.insert(ip_text(now, o.ip_version));
    }
    rewritten += o.src != n.src || o.dst != n.dst;
    // A checksum right before is right after.
    const Checks cb = checks_of(o), ca = checks_of(n);
    if (cb.ip) {
      ASSERT_TRUE(ca.ip.has_value());
      EXPECT_EQ(*ca.ip, *cb.ip) << "packet " << i;
      ip_valid += *ca.ip;
    }
    if (cb.l4) {
      ASSERT_TRUE(ca.l4.has_value());
      EXPECT_EQ(*ca.l4, *cb.l4) << "packet " << i;
      l4_valid += *ca.l4;
    }
  }
  EXPECT_EQ(pk->actx.value("packets_rewritten"), rewritten);
  EXPECT_EQ(pk->actx.value("packets_not_ip"), not_ip);
  EXPECT_GT(rewritten, 400u);  // android.pcap: 500 packets, nearly all from/to the phone
  EXPECT_GT(ip_valid, 400u);
  EXPECT_GT(l4_valid, 300u);
  // Every address in the logs is one the rewritten packets carry.
  std::size_t log_addrs = 0;
  for (const Layout& l : kLayouts)
    for (const Row& r : rows(dir_ / "packets" / l.file))
      for (int d = 0; d < 2; ++d, ++log_addrs)
        EXPECT_TRUE(packet_addrs.count(r[static_cast<std::size_t>(l.ip[d])]))
            << r[static_cast<std::size_t>(l.ip[d])];
  EXPECT_GT(log_addrs, 0u);
}

TEST_F(AnonBlock, SameKeyGivesIdenticalLogs) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  run(cap, nets, "one", with_key());
  run(cap, nets, "two", with_key());
  const std::string b64 = file("reference.b64", "FSIXjTOkz4ATClsWSZB9ENiYj4N5eWUnYldMLSqEIgI=\n");
  run(cap, nets, "b64", Over{{"key_base64_file", b64}});
  run(cap, nets, "other", Over{{"key", std::string("another key")}});
  for (const Layout& l : kLayouts) {
    const std::string one = slurp(dir_ / "one" / l.file);
    EXPECT_EQ(slurp(dir_ / "two" / l.file), one) << l.file;
    EXPECT_EQ(slurp(dir_ / "b64" / l.file), one) << l.file;
    if (std::string(l.file) != "log_tcp_nocomplete") {
      EXPECT_NE(slurp(dir_ / "other" / l.file), one) << l.file;
    }
  }
}

TEST_F(AnonBlock, GeneratedKeyIsSavedAndGivesTheSameLogsWhenReused) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  const fs::path keys = dir_ / "keys";
  auto gen = run(cap, nets, "generated", Over{{"key_dir", keys.string()}});
  std::vector<fs::path> saved;
  for (const auto& e : fs::directory_iterator(keys)) saved.push_back(e.path());
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved[0].filename().string().rfind("CPanKey_", 0), 0u);
  EXPECT_EQ(saved[0].filename().string().size(), std::string("CPanKey_YYYY_MM_DD_HH_MM").size());
  ASSERT_EQ(gen->actx.logs.size(), 1u);
  EXPECT_EQ(gen->actx.logs[0], "random Crypto-PAn key generated and saved to " + saved[0].string());
  // A given key is saved too when key_dir is set (Tstat always stores the key in use).
  const fs::path keys2 = dir_ / "keys2";
  auto given = run(cap, nets, "given", with_key({{"key_dir", keys2.string()}}));
  std::vector<fs::path> saved2;
  for (const auto& e : fs::directory_iterator(keys2)) saved2.push_back(e.path());
  ASSERT_EQ(saved2.size(), 1u);
  EXPECT_EQ(slurp(saved2[0]), "FSIXjTOkz4ATClsWSZB9ENiYj4N5eWUnYldMLSqEIgI=\n");
  ASSERT_EQ(given->actx.logs.size(), 1u);
  EXPECT_EQ(given->actx.logs[0], "Crypto-PAn key saved to " + saved2[0].string());
  run(cap, nets, "reused", Over{{"key_base64_file", saved[0].string()}});
  run(cap, nets, "reference", with_key());
  for (const Layout& l : kLayouts) {
    EXPECT_EQ(slurp(dir_ / "reused" / l.file), slurp(dir_ / "generated" / l.file)) << l.file;
    if (std::string(l.file) != "log_tcp_nocomplete") {
      EXPECT_NE(slurp(dir_ / "reference" / l.file), slurp(dir_ / "generated" / l.file)) << l.file;
    }
  }
}

TEST_F(AnonBlock, XorModeMasksInternalIpv4Addresses) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "192.168.0.0/16\n");
  run(cap, nets, "clear", std::nullopt);
  auto x = run(cap, nets, "xor", Over{{"mode", std::string("xor")}, {"xor_mask", std::int64_t{0x00FF00FF}}});
  auto mask = [](const std::string& s) {
    std::uint8_t v;
    IpAddr a = parse_ip(s, v);
    a[1] ^= 0xFF;
    a[3] ^= 0xFF;
    return ip_text(a, v);
  };
  const std::uint64_t n = compare_logs(dir_ / "clear", dir_ / "xor", mask, nullptr, true);
  EXPECT_GT(n, 0u);
  EXPECT_EQ(x->actx.value("addresses_anonymized"), n);
  // android.pcap's one IPv6 flow (DHCPv6, fe80:: -> ff02::1:2; internal as
  // the net file lists no IPv6 network): both ends left in clear, counted.
  EXPECT_EQ(x->actx.value("not_maskable"), 2u);
  EXPECT_EQ(x->actx.value("cache_misses"), 0u);
}

TEST_F(AnonBlock, Ipv6FlowsKeepTheirPrefixStructure) {
  const fs::path cap = corpus("quic_interop_V.pcapng");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  const std::string nets = file("internal.net", "2001:b07::/32\n192.168.0.0/16\n");
  run(cap, nets, "clear", std::nullopt);
  auto a = run(cap, nets, "all", with_key({{"ends", std::string("all")}}));
  // ends=all: every address translated, crypto set on both ends.
  std::map<std::string, std::string> mapping;
  for (const Layout& l : kLayouts) {
    const auto c = rows(dir_ / "clear" / l.file), x = rows(dir_ / "all" / l.file);
    ASSERT_EQ(c.size(), x.size());
    for (std::size_t i = 0; i < c.size(); ++i)
      for (int d = 0; d < 2; ++d) {
        const std::string& cip = c[i][static_cast<std::size_t>(l.ip[d])];
        EXPECT_EQ(x[i][static_cast<std::size_t>(l.ip[d])], reference(cip));
        EXPECT_EQ(x[i][static_cast<std::size_t>(l.iscrypto[d])], "1");
        mapping[cip] = x[i][static_cast<std::size_t>(l.ip[d])];
      }
  }
  std::size_t v6 = 0;
  for (const auto& [c, x] : mapping) v6 += c.find(':') != std::string::npos;
  ASSERT_GE(v6, 5u);  // the capture's IPv6 client and its servers
  // Every pair of IPv6 addresses shares as many leading bits after as before.
  auto prefix = [](const std::string& p, const std::string& q) {
    std::uint8_t v;
    const IpAddr a = parse_ip(p, v), b = parse_ip(q, v);
    for (int i = 0; i < 16; ++i)
      if (const int x = a[i] ^ b[i]) return i * 8 + __builtin_clz(static_cast<unsigned>(x)) - 24;
    return 128;
  };
  for (const auto& [c1, x1] : mapping)
    for (const auto& [c2, x2] : mapping)
      if (c1 < c2 && c1.find(':') != std::string::npos && c2.find(':') != std::string::npos) {
        EXPECT_EQ(prefix(x1, x2), prefix(c1, c2)) << c1 << " " << c2;
      }
  // Both ends of every closed flow, logged or not.
  EXPECT_EQ(a->actx.value("records"), a->tctx.value("flows_closed"));
  EXPECT_EQ(a->actx.value("addresses_anonymized"), 2 * a->actx.value("records"));
}

TEST_F(AnonBlock, RecordsPortWhitelistAndStrict) {
  test::FakeContext ctx;
  const std::string wl = file("white.net", "10.9.0.0/16\n");
  auto b =
      test::make_block(anon_plugin().factory(), ctx,
                       with_key({{"strict", true}, {"whitelist_file", wl}, {"ends", std::string("all")}}));
  auto fb = std::make_shared<FlowBatch>();
  FlowRecord r;
  r.key.ip_version = 4;
  r.key.client = IpAddr{10, 0, 0, 1};
  r.key.server = IpAddr{10, 9, 1, 1};  // whitelisted
  r.l7.tls_sni = "private.example";
  r.l7.http_host = "private.example";
  r.l7.tls_cn = "*.example";
  fb->records.push_back(r);
  r.l7 = {};
  r.key.client = IpAddr{10, 0, 0, 2};
  fb->records.push_back(r);
  Collect out;
  b->receive(1, fb, out);
  ASSERT_EQ(out.out[1].size(), 1u);
  const auto& got = out.out[1][0]->as<FlowBatch>().records;
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(ip_text(got[0].key.client, 4), reference("10.0.0.1"));
  EXPECT_EQ(ip_text(got[0].key.server, 4), "10.9.1.1");
  EXPECT_TRUE(got[0].crypto[0]);
  EXPECT_FALSE(got[0].crypto[1]);
  EXPECT_EQ(got[0].l7.tls_sni, "");
  EXPECT_EQ(got[0].l7.http_host, "");
  EXPECT_EQ(got[0].l7.tls_cn, "");
  EXPECT_EQ(ip_text(got[1].key.client, 4), reference("10.0.0.2"));
  EXPECT_EQ(ctx.value("records"), 2u);
  EXPECT_EQ(ctx.value("addresses_anonymized"), 2u);
  EXPECT_EQ(ctx.value("whitelisted"), 2u);
  EXPECT_EQ(ctx.value("strings_cleared"), 3u);
  EXPECT_EQ(ctx.value("cache_misses"), 2u);
  EXPECT_EQ(b->summary(), "2 addresses anonymized in 2 records; cache 0 hits, 2 misses");
}

// Figures for docs/privacy.md (run with --gtest_also_run_disabled_tests):
// packet header rewriting over a real capture, cache warm.
TEST_F(AnonBlock, DISABLED_PacketThroughput) {
  const fs::path cap = corpus("android.pcap");
  if (!fs::exists(cap)) GTEST_SKIP() << "corpus capture not found: " << cap;
  std::vector<std::shared_ptr<PacketBatch>> batches;
  test::for_each_batch(cap, [&](std::shared_ptr<PacketBatch> b) { batches.push_back(std::move(b)); });
  for (const bool cached : {true, false}) {
    privacy::Policy pol;
    pol.key = kReferenceKey;
    pol.internal_nets = flow::NetList::parse("192.168.0.0/16\n", "-N");
    pol.cache_size = cached ? 130000 : 0;
    privacy::Anonymizer a(std::move(pol));
    double ns = 0;
    std::uint64_t packets = 0;
    for (int rep = 0; rep < 100; ++rep)
      for (const auto& b : batches) {
        auto copy = std::static_pointer_cast<PacketBatch>(b->clone());
        const auto t0 = std::chrono::steady_clock::now();
        for (Packet& p : copy->packets) a.apply(p);
        ns += std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
        packets += copy->packets.size();
      }
    std::printf("packets=true, cache %s: %.0f ns/packet (%.2f Mpkt/s); hits %llu misses %llu\n",
                cached ? "on" : "off", ns / static_cast<double>(packets),
                1e3 * static_cast<double>(packets) / ns,
                static_cast<unsigned long long>(a.stats().cache_hits),
                static_cast<unsigned long long>(a.stats().cache_misses));
  }
}
