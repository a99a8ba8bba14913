// IPFIXExporter and IPFIXSource loaded from the plugin (as the runtime loads
// them) and driven over loopback sockets: records through both blocks, the
// UDP template refresh reaching a collector that started late, malformed
// messages counted with their exporter, TCP withdrawal and reconnection, and
// back-pressure: receive() never blocks and every record fed is either
// exported or counted as dropped.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "block_harness.hpp"
#include "ipfix_codec.hpp"
#include "ipfix_flow.hpp"
#include "loopback_port.hpp"

using namespace netloom;
using namespace std::chrono_literals;
using netloom::test::FakeContext;
using netloom::test::free_port;
using netloom::test::make_block;
using netloom::test::PluginFile;

namespace {

using Clock = std::chrono::steady_clock;

const PluginFile& plugin() {
  static PluginFile p("netloom_ipfix.so");
  return p;
}
const BlockFactory& factory(std::string_view type) {
  const PluginManifest* m = plugin().manifest();
  for (std::size_t i = 0; i < m->count; ++i)
    if (m->blocks[i].info().type == type) return m->blocks[i];
  throw std::runtime_error("no block " + std::string(type));
}

struct Ctx : FakeContext {
  bool stop = false;
  bool stopping() const override { return stop; }
  bool logged(std::string_view needle, std::size_t times = 1) const {
    std::size_t n = 0;
    for (const auto& l : logs) n += l.find(needle) != std::string::npos;
    return n >= times;
  }
  std::string all_logs() const {
    std::string s;
    for (const auto& l : logs) s += l + "\n";
    return s;
  }
};

struct Collect : Emit {
  std::vector<FlowRecord> records;
  void operator()(unsigned, MessagePtr m) override {
    for (auto& r : m->as<FlowBatch>().records) records.push_back(r);
  }
};

int bound_socket(int type, std::uint16_t port) {
  int fd = ::socket(AF_INET, type, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint16_t local_port(int fd) {
  sockaddr_in a{};
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

void send_to(int fd, std::uint16_t port, const ipfix::Bytes& m) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  ::sendto(fd, m.data(), m.size(), 0, reinterpret_cast<sockaddr*>(&a), sizeof a);
}

std::string loop(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

FlowRecord make_record(std::uint64_t i) {
  FlowRecord r;
  const bool v6 = i % 4 >= 2;
  r.key.ip_version = v6 ? 6 : 4;
  r.key.l4_proto = i % 2 ? 17 : 6;
  if (v6) {
    r.key.client = IpAddr{0x20, 0x01, 0x0d, 0xb8};
    r.key.server = IpAddr{0x20, 0x01, 0x0d, 0xb8, 0, 1};
    r.key.server[15] = 1;
  } else {
    r.key.client = IpAddr{10, 0, 0, 1};
    r.key.server = IpAddr{192, 0, 2, static_cast<std::uint8_t>(i % 250)};
  }
  r.key.client_port = static_cast<std::uint16_t>(1024 + i % 60000);
  r.key.server_port = r.key.l4_proto == 6 ? 443 : 53;
  r.id = i;
  r.first_ns = 1700000000000000000ull + i * 1'000'001;
  r.last_ns = r.first_ns + 5'000'000'000ull;
  r.end = FlowEnd::idle;
  r.internal = {true, i % 3 == 0};
  r.labels.app = "app" + std::to_string(i % 5);
  if (r.key.l4_proto == 6) {
    r.complete = true;
    r.tcp[0].pkts_all = i + 1;
    r.tcp[0].bytes_all = 100 * i;
    r.tcp[1].pkts_all = 2 * i + 1;
    r.tcp[1].bytes_all = 1000 * i;
  } else {
    r.udp[0] = UdpDirStats{r.first_ns, r.first_ns + 10, 50 * i, i + 1};
    r.udp[1] = UdpDirStats{r.first_ns + 20, r.last_ns, 60 * i, i + 2};
  }
  return r;
}

std::shared_ptr<FlowBatch> batch(std::uint64_t from, std::uint64_t n) {
  auto b = std::make_shared<FlowBatch>();
  for (std::uint64_t i = from; i < from + n; ++i) b->records.push_back(make_record(i));
  return b;
}

using Over = std::map<std::string, ParamValue>;

Over exporter_params(std::uint16_t port, const char* transport = "udp") {
  return {{"collector", loop(port)}, {"transport", std::string(transport)}};
}

// Calls produce() until `want` records came out or `timeout` passed.
void drain(Block& src, Collect& out, std::size_t want, std::chrono::milliseconds timeout = 5000ms,
           const std::function<void()>& between = {}) {
  const auto end = Clock::now() + timeout;
  while (out.records.size() < want && Clock::now() < end) {
    src.produce(out);
    if (between) between();
  }
}

std::string config_error(const BlockFactory& f, const Over& over) {
  Ctx ctx;
  try {
    make_block(f, ctx, over);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

ipfix::Bytes templates_and(const std::vector<FlowRecord>& recs, std::uint32_t seq = 0) {
  using namespace ipfix;
  Bytes m;
  begin_message(m, 0, seq, 1);
  std::size_t s = open_set(m, kTemplateSetId);
  for (const Template& t : export_templates()) put_template(m, t);
  close_set(m, s);
  for (const FlowRecord& r : recs) {
    s = open_set(m, static_cast<std::uint16_t>(layout_of(r)));
    put_record(m, r, layout_of(r));
    close_set(m, s);
  }
  finish_message(m);
  return m;
}

}  // namespace

TEST(IpfixBlocks, ExporterRefusesBadParametersInOneLine) {
  const auto& f = factory("IPFIXExporter");
  const std::pair<Over, std::string> cases[] = {
      {{{"collector", std::string("collector.example")}}, "no port"},
      {{{"collector", std::string("127.0.0.1:0")}}, "port 0"},
      {{{"collector", std::string("127.0.0.1:70000")}}, "port is not a number"},
      {{{"collector", std::string("127.0.0.1:http")}}, "port is not a number"},
      {{{"collector", std::string("::1:4739")}}, "needs brackets"},
      {{{"collector", std::string("[::1:4739")}}, "unclosed"},
      {{{"collector", std::string(":4739")}}, "no host"},
      {{{"collector", std::string("127.0.0.1:4739")},
        {"template_refresh", std::int64_t{0}},
        {"template_refresh_messages", std::int64_t{0}}},
       "template_refresh"},
      {{{"collector", std::string("127.0.0.1:4739")},
        {"transport", std::string("tcp")},
        {"reconnect_min", std::int64_t{2'000'000'000}},
        {"reconnect_max", std::int64_t{1'000'000'000}}},
       "reconnect_max"},
  };
  for (const auto& [over, expect] : cases) {
    const std::string e = config_error(f, over);
    EXPECT_NE(e.find(expect), std::string::npos) << "expected '" << expect << "', got '" << e << "'";
    EXPECT_EQ(e.find('\n'), std::string::npos) << e;
  }
  EXPECT_EQ(config_error(f, {{"collector", std::string("[::1]:4739")}}), "");
}

TEST(IpfixBlocks, SourceRefusesBadParametersInOneLine) {
  const auto& f = factory("IPFIXSource");
  const std::uint16_t port = free_port(SOCK_DGRAM);
  const int taken = bound_socket(SOCK_DGRAM, port);
  ASSERT_GE(taken, 0);
  std::string e = config_error(f, {{"listen", loop(port)}});
  EXPECT_NE(e.find("cannot listen on 127.0.0.1:" + std::to_string(port) + " (udp)"), std::string::npos) << e;
  ::close(taken);
  e = config_error(f, {{"listen", std::string("localhost")}});
  EXPECT_NE(e.find("parameter 'listen'"), std::string::npos) << e;
  e = config_error(f, {{"listen", loop(port)}, {"template_lifetime", std::int64_t{0}}});
  EXPECT_NE(e.find("template_lifetime"), std::string::npos) << e;
  for (const auto& x : {std::string("localhost"), loop(port)}) (void)x;
}

TEST(IpfixBlocks, UdpRecordsReachTheSourceBlock) {
  const std::uint16_t port = free_port(SOCK_DGRAM);
  Ctx sctx, ectx;
  auto src = make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}});
  auto exp = make_block(factory("IPFIXExporter"), ectx, exporter_params(port));
  Collect out, none;
  for (int b = 0; b < 5; ++b) exp->receive(0, batch(b * 100, 100), none);
  drain(*src, out, 500);
  ASSERT_EQ(out.records.size(), 500u) << sctx.all_logs();
  for (std::size_t i = 0; i < out.records.size(); ++i) {
    const FlowRecord want = make_record(i);
    const FlowRecord& got = out.records[i];
    ASSERT_EQ(got.key.client, want.key.client) << i;
    ASSERT_EQ(got.key.server, want.key.server) << i;
    ASSERT_EQ(got.key.client_port, want.key.client_port) << i;
    ASSERT_EQ(got.first_ns, want.first_ns) << i;
    ASSERT_EQ(got.labels.app, want.labels.app) << i;
    ASSERT_EQ(got.internal, want.internal) << i;
    if (want.key.l4_proto == 6) {
      ASSERT_EQ(got.tcp[1].bytes_all, want.tcp[1].bytes_all) << i;
    } else {
      ASSERT_EQ(got.udp[1].pkts_all, want.udp[1].pkts_all) << i;
      ASSERT_EQ(got.udp[1].first_ns, want.udp[1].first_ns) << i;
    }
  }
  EXPECT_EQ(ectx.value("records_exported"), 500u);
  EXPECT_EQ(ectx.value("templates_sent"), 4u);
  EXPECT_EQ(ectx.value("dropped"), 0u);
  EXPECT_EQ(sctx.value("records"), 500u);
  EXPECT_EQ(sctx.value("exporters"), 1u);
  EXPECT_EQ(sctx.value("lost_records"), 0u);
}

// RFC 7011 §8.4: over UDP the templates are resent, so a collector that
// starts after the exporter decodes once the refresh is due - and not before.
TEST(IpfixBlocks, UdpTemplateRefreshByTimeReachesALateCollector) {
  const std::uint16_t port = free_port(SOCK_DGRAM);
  int early = bound_socket(SOCK_DGRAM, port);  // takes (and loses) the first templates
  ASSERT_GE(early, 0);
  Ctx ectx, sctx;
  Over p = exporter_params(port);
  p["template_refresh"] = std::int64_t{1'500'000'000};  // 1.5 s
  auto exp = make_block(factory("IPFIXExporter"), ectx, p);
  Collect none, out;
  const auto t0 = Clock::now();
  exp->receive(0, batch(0, 10), none);
  EXPECT_EQ(ectx.value("templates_sent"), 4u);
  ::close(early);
  auto src = make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}});
  exp->receive(0, batch(10, 10), none);  // no templates yet: undecodable
  drain(*src, out, 1, 300ms);
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_GE(sctx.value("unknown_template"), 1u);
  EXPECT_TRUE(sctx.logged("it has not sent (yet)")) << sctx.all_logs();
  ASSERT_LT(Clock::now() - t0, 1500ms) << "too slow a machine for this test's timing";
  std::this_thread::sleep_for(1500ms - (Clock::now() - t0) + 50ms);
  exp->receive(0, batch(20, 10), none);  // the refresh goes out first
  drain(*src, out, 10);
  ASSERT_EQ(out.records.size(), 10u) << sctx.all_logs();
  EXPECT_EQ(out.records[0].key.client_port, make_record(20).key.client_port);
  EXPECT_EQ(ectx.value("templates_sent"), 8u);
  EXPECT_EQ(ectx.value("records_exported"), 30u);
}

TEST(IpfixBlocks, UdpTemplateRefreshByMessageCount) {
  const std::uint16_t port = free_port(SOCK_DGRAM);
  int early = bound_socket(SOCK_DGRAM, port);
  ASSERT_GE(early, 0);
  Ctx ectx, sctx;
  Over p = exporter_params(port);
  p["template_refresh"] = std::int64_t{0};
  p["template_refresh_messages"] = std::int64_t{3};
  auto exp = make_block(factory("IPFIXExporter"), ectx, p);
  Collect none, out;
  exp->receive(0, batch(0, 2), none);  // templates + data message 1, lost
  ::close(early);
  auto src = make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}});
  exp->receive(0, batch(2, 2), none);  // data message 2
  exp->receive(0, batch(4, 2), none);  // data message 3
  drain(*src, out, 1, 300ms);
  EXPECT_EQ(out.records.size(), 0u);
  EXPECT_EQ(sctx.value("unknown_template"), 4u);  // a TCP and a UDP set in each
  exp->receive(0, batch(6, 2), none);             // 3 data messages since the templates: resent first
  drain(*src, out, 2);
  EXPECT_EQ(out.records.size(), 2u);
  EXPECT_EQ(ectx.value("templates_sent"), 8u);
}

TEST(IpfixBlocks, MalformedUdpMessagesAreCountedAndReportedWithTheExporter) {
  using namespace ipfix;
  const std::uint16_t port = free_port(SOCK_DGRAM);
  Ctx sctx;
  auto src = make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}});
  const int tx = bound_socket(SOCK_DGRAM, 0);
  const std::string exporter = "udp 127.0.0.1:" + std::to_string(local_port(tx));

  send_to(tx, port, {0x00, 0x0a, 0x00, 0x10, 0, 0, 0, 0, 0, 0});  // truncated header
  Bytes m = templates_and({});
  m[16 + 2] = 0x0f;  // set length past the message
  send_to(tx, port, m);
  {  // template with zero fields (a withdrawal, forbidden over UDP)
    Bytes z;
    begin_message(z, 0, 0, 1);
    std::size_t s = open_set(z, kTemplateSetId);
    put16(z, 300);
    put16(z, 0);
    close_set(z, s);
    finish_message(z);
    send_to(tx, port, z);
  }
  {  // huge field count
    Bytes h;
    begin_message(h, 0, 0, 1);
    std::size_t s = open_set(h, kTemplateSetId);
    put16(h, 301);
    put16(h, 60000);
    put32(h, 0x00080004);
    close_set(h, s);
    finish_message(h);
    send_to(tx, port, h);
  }
  m = templates_and({});
  m[1] = 5;  // NetFlow v5
  send_to(tx, port, m);
  {  // data set for a template never sent: skipped, counted apart
    Bytes u;
    begin_message(u, 0, 0, 99);
    std::size_t s = open_set(u, 777);
    put32(u, 1);
    close_set(u, s);
    finish_message(u);
    send_to(tx, port, u);
  }
  send_to(tx, port, templates_and({make_record(1), make_record(2)}));  // still decoded
  Collect out;
  drain(*src, out, 2);
  ::close(tx);
  ASSERT_EQ(out.records.size(), 2u) << sctx.all_logs();
  EXPECT_EQ(sctx.value("malformed"), 5u) << sctx.all_logs();
  EXPECT_EQ(sctx.value("unknown_template"), 1u);
  EXPECT_EQ(sctx.value("messages"), 7u);
  const std::string who = "malformed IPFIX from " + exporter + ": ";
  EXPECT_TRUE(sctx.logged(who + "truncated message header")) << sctx.all_logs();
  EXPECT_TRUE(sctx.logged(who + "set 2 of")) << sctx.all_logs();
  EXPECT_TRUE(sctx.logged(who + "template 300 has no fields")) << sctx.all_logs();
  EXPECT_TRUE(sctx.logged(who + "template 301 declares 60000 fields")) << sctx.all_logs();
  EXPECT_TRUE(sctx.logged(who + "version 5")) << sctx.all_logs();
  EXPECT_TRUE(sctx.logged("exporter " + exporter + " domain 99: data set for template 777"))
      << sctx.all_logs();
  EXPECT_NE(src->summary().find(exporter + ": 5"), std::string::npos) << src->summary();
}

TEST(IpfixBlocks, TcpStreamWithdrawalAndBrokenFraming) {
  using namespace ipfix;
  const std::uint16_t port = free_port(SOCK_STREAM);
  Ctx sctx;
  auto src =
      make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}, {"transport", std::string("tcp")}});
  auto connect_client = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  auto send_all = [](int fd, const Bytes& b) {
    EXPECT_EQ(::send(fd, b.data(), b.size(), 0), ssize_t(b.size()));
  };
  Collect out;
  int c = connect_client();
  // A message split across two writes still frames.
  Bytes m = templates_and({make_record(0), make_record(1)});
  send_all(c, Bytes(m.begin(), m.begin() + 21));
  drain(*src, out, 1, 200ms);
  send_all(c, Bytes(m.begin() + 21, m.end()));
  drain(*src, out, 2);
  ASSERT_EQ(out.records.size(), 2u) << sctx.all_logs();
  // Withdraw the UDP/IPv4 template, then use it: skipped.
  Bytes w;
  begin_message(w, 0, 2, 1);
  std::size_t s = open_set(w, kTemplateSetId);
  put16(w, static_cast<std::uint16_t>(Layout::udp4));
  put16(w, 0);
  close_set(w, s);
  s = open_set(w, static_cast<std::uint16_t>(Layout::udp4));
  put_record(w, make_record(1), Layout::udp4);
  close_set(w, s);
  finish_message(w);
  send_all(c, w);
  // Then bytes that are no IPFIX header: the stream cannot be framed.
  send_all(c, Bytes{0x12, 0x34, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  const auto end = Clock::now() + 3s;
  while (sctx.value("malformed") == 0 && Clock::now() < end) src->produce(out);
  EXPECT_EQ(sctx.value("withdrawals"), 1u);
  EXPECT_EQ(sctx.value("unknown_template"), 1u);
  EXPECT_EQ(sctx.value("malformed"), 1u);
  EXPECT_TRUE(sctx.logged("not IPFIX (10): stream closed")) << sctx.all_logs();
  char byte;
  EXPECT_EQ(::recv(c, &byte, 1, 0), 0);  // closed by the source
  ::close(c);
  // A new connection is a new session: templates again, decoded again.
  c = connect_client();
  send_all(c, templates_and({make_record(4)}));
  drain(*src, out, 3);
  EXPECT_EQ(out.records.size(), 3u);
  EXPECT_EQ(sctx.value("connections"), 2u);
  ::close(c);
}

// ---- back-pressure -------------------------------------------------------------

namespace {
struct Feed {
  std::uint64_t fed = 0;
  Clock::duration slowest{};
};
Feed feed(Block& exp, int batches, int per_batch) {
  Feed f;
  Collect none;
  for (int b = 0; b < batches; ++b) {
    auto msg = batch(f.fed, static_cast<std::uint64_t>(per_batch));
    const auto t = Clock::now();
    exp.receive(0, msg, none);
    f.slowest = std::max(f.slowest, Clock::now() - t);
    f.fed += static_cast<std::uint64_t>(per_batch);
  }
  return f;
}
// A receive() of a few hundred records that waited for the network would
// take far longer than this, even under the sanitizers.
constexpr auto kNeverBlocks = 500ms;
}  // namespace

TEST(IpfixBlocks, UdpWithoutCollectorNeverBlocksAndCountsEveryRecord) {
  const std::uint16_t port = free_port(SOCK_DGRAM);  // nobody listens
  Ctx ectx;
  auto exp = make_block(factory("IPFIXExporter"), ectx, exporter_params(port));
  const Feed f = feed(*exp, 200, 100);
  Collect none;
  const auto t = Clock::now();
  exp->flush(none);
  EXPECT_LT(Clock::now() - t, kNeverBlocks);
  EXPECT_LT(f.slowest, kNeverBlocks);
  EXPECT_EQ(ectx.value("records_exported") + ectx.value("dropped"), f.fed);
  EXPECT_GE(ectx.value("send_errors"), 1u);  // ICMP port unreachable, reported as ECONNREFUSED
  EXPECT_GT(ectx.value("dropped"), 0u);
  EXPECT_TRUE(ectx.logged("Connection refused")) << ectx.all_logs();
}

TEST(IpfixBlocks, TcpPeerNotReadingNeverBlocksAndCountsEveryRecord) {
  const std::uint16_t port = free_port(SOCK_STREAM);
  const int lst = bound_socket(SOCK_STREAM, port);
  ASSERT_GE(lst, 0);
  ASSERT_EQ(::listen(lst, 4), 0);  // the kernel completes the handshake; nobody ever reads
  Ctx ectx;
  Over p = exporter_params(port, "tcp");
  p["queue"] = std::int64_t{256 * 1024};
  p["linger"] = std::int64_t{300'000'000};
  auto exp = make_block(factory("IPFIXExporter"), ectx, p);
  std::this_thread::sleep_for(50ms);
  const Feed f = feed(*exp, 400, 250);  // ~25 MB of records
  Collect none;
  const auto t = Clock::now();
  exp->flush(none);
  EXPECT_LT(Clock::now() - t, 300ms + kNeverBlocks);
  EXPECT_LT(f.slowest, kNeverBlocks);
  EXPECT_EQ(ectx.value("connections"), 1u);
  EXPECT_EQ(ectx.value("records_exported") + ectx.value("dropped"), f.fed);
  EXPECT_GT(ectx.value("dropped"), 0u);
  EXPECT_GT(ectx.value("records_exported"), 0u);
  EXPECT_TRUE(ectx.logged("the collector is not reading")) << ectx.all_logs();
  ::close(lst);
}

TEST(IpfixBlocks, TcpCollectorAbsentNeverBlocksAndDropsEveryRecord) {
  const std::uint16_t port = free_port(SOCK_STREAM);  // nobody listens
  Ctx ectx;
  Over p = exporter_params(port, "tcp");
  p["queue"] = std::int64_t{64 * 1024};
  p["reconnect_min"] = std::int64_t{20'000'000};
  p["linger"] = std::int64_t{200'000'000};
  auto exp = make_block(factory("IPFIXExporter"), ectx, p);
  const Feed f = feed(*exp, 100, 100);
  Collect none;
  exp->flush(none);
  EXPECT_LT(f.slowest, kNeverBlocks);
  EXPECT_EQ(ectx.value("records_exported"), 0u);
  EXPECT_EQ(ectx.value("dropped"), f.fed);
  EXPECT_EQ(ectx.value("connections"), 0u);
  EXPECT_GE(ectx.value("send_errors"), 1u);
  EXPECT_TRUE(ectx.logged("Connection refused")) << ectx.all_logs();
}

// Records queued while the collector is away go out after the templates once
// it is up; a lost connection is re-established and gets the templates again.
TEST(IpfixBlocks, TcpReconnectsWithBackoffAndSendsTemplatesPerConnection) {
  const std::uint16_t port = free_port(SOCK_STREAM);
  Ctx ectx;
  Over p = exporter_params(port, "tcp");
  p["reconnect_min"] = std::int64_t{20'000'000};
  p["reconnect_max"] = std::int64_t{100'000'000};
  auto exp = make_block(factory("IPFIXExporter"), ectx, p);
  Collect none, out;
  exp->receive(0, batch(0, 100), none);  // refused: queued
  EXPECT_EQ(ectx.value("records_exported"), 0u);
  Ctx sctx;
  auto src =
      make_block(factory("IPFIXSource"), sctx, {{"listen", loop(port)}, {"transport", std::string("tcp")}});
  drain(*src, out, 100, 5000ms, [&] { exp->on_timer(0, 0, none); });
  ASSERT_EQ(out.records.size(), 100u) << ectx.all_logs() << sctx.all_logs();
  EXPECT_EQ(ectx.value("connections"), 1u);
  EXPECT_GE(ectx.value("send_errors"), 1u);
  EXPECT_EQ(ectx.value("templates_sent"), 4u);
  // The collector restarts: the exporter notices, reconnects, resends the templates.
  src.reset();
  Ctx sctx2;
  auto src2 =
      make_block(factory("IPFIXSource"), sctx2, {{"listen", loop(port)}, {"transport", std::string("tcp")}});
  Collect out2;
  const auto end = Clock::now() + 5s;
  std::uint64_t next = 100;
  while (out2.records.size() < 10 && Clock::now() < end) {
    exp->receive(0, batch(next, 10), none);
    next += 10;
    drain(*src2, out2, 10, 50ms);
  }
  ASSERT_GE(out2.records.size(), 10u) << ectx.all_logs();
  EXPECT_EQ(ectx.value("connections"), 2u);
  EXPECT_EQ(ectx.value("templates_sent"), 8u);
  exp->flush(none);
  EXPECT_EQ(ectx.value("records_exported") + ectx.value("dropped"), next);
}

TEST(IpfixBlocks, SourceIsIdleQuicklyAndStopsPromptly) {
  const std::uint16_t port = free_port(SOCK_DGRAM);
  Ctx sctx;
  auto src = make_block(
      factory("IPFIXSource"), sctx,
      {{"listen", loop(port)}, {"transport", std::string("both")}, {"idle_exit", std::int64_t{300'000'000}}});
  Collect out;
  auto t = Clock::now();
  EXPECT_EQ(src->produce(out), SourceStatus::idle);
  EXPECT_LT(Clock::now() - t, 200ms);
  // idle_exit counts only after a first message.
  std::this_thread::sleep_for(350ms);
  EXPECT_EQ(src->produce(out), SourceStatus::idle);
  const int tx = bound_socket(SOCK_DGRAM, 0);
  send_to(tx, port, templates_and({make_record(0)}));
  ::close(tx);
  drain(*src, out, 1);
  ASSERT_EQ(out.records.size(), 1u);
  t = Clock::now();
  SourceStatus st = SourceStatus::idle;
  while (st != SourceStatus::done && Clock::now() - t < 3s) st = src->produce(out);
  EXPECT_EQ(st, SourceStatus::done);
  EXPECT_LT(Clock::now() - t, 1s);
  // A stop request ends it at once and frees the port.
  Ctx sctx2;
  auto src2 =
      make_block(factory("IPFIXSource"), sctx2, {{"listen", loop(port)}, {"transport", std::string("both")}});
  sctx2.stop = true;
  t = Clock::now();
  EXPECT_EQ(src2->produce(out), SourceStatus::done);
  EXPECT_LT(Clock::now() - t, 500ms);
  const int again = bound_socket(SOCK_DGRAM, port);
  EXPECT_GE(again, 0);
  ::close(again);
}
