// KafkaSink, loaded from build/plugins/netloom_kafka.so, against librdkafka's
// in-process mock cluster (rdkafka_mock.h): what it sends is read back with a
// real librdkafka consumer and compared with what LogSink writes for the same
// records (data/demo.pcap through a real FlowTracker and PDPI), with drops,
// failures and purges counted exactly, and a whole `netloom run` of
// compositions/probe-kafka.xml against the same mock cluster.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "block_harness.hpp"
#include "capture_batches.hpp"
#include "netloom/netloom.hpp"
#include "subprocess.hpp"

namespace fs = std::filesystem;
using namespace netloom;
using Over = std::map<std::string, ParamValue>;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::int64_t kSecNs = 1'000'000'000;
const std::string kSrc = NETLOOM_SOURCE_ROOT;
const std::string kDemo = kSrc + "/data/demo.pcap";

// Every librdkafka handle of the tests and of the plugin must be gone at the
// end, so LeakSanitizer sees none of their memory.
class RdkafkaEnv : public ::testing::Environment {
 public:
  void TearDown() override {
    EXPECT_EQ(rd_kafka_wait_destroyed(10000), 0) << "librdkafka handles still alive at exit";
  }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new RdkafkaEnv);

test::PluginFile& plugin(const std::string& file) {
  static std::map<std::string, std::unique_ptr<test::PluginFile>> loaded;
  auto& p = loaded[file];
  if (!p) p = std::make_unique<test::PluginFile>(file);
  return *p;
}
const BlockFactory& kafka_factory() { return plugin("netloom_kafka.so").factory(); }

void quiet_log(const rd_kafka_t*, int, const char*, const char*) {}

// ---- the mock cluster ------------------------------------------------------

class Mock {
 public:
  explicit Mock(int brokers = 1) {
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, &quiet_log);  // "no bootstrap.servers": this handle only owns the cluster
    char err[512];
    owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (owner_ == nullptr) throw std::runtime_error(err);
    mc_ = rd_kafka_mock_cluster_new(owner_, brokers);
    if (mc_ == nullptr) throw std::runtime_error("rd_kafka_mock_cluster_new failed");
    bootstraps_ = rd_kafka_mock_cluster_bootstraps(mc_);
  }
  ~Mock() {
    rd_kafka_mock_cluster_destroy(mc_);
    rd_kafka_destroy(owner_);
  }
  Mock(const Mock&) = delete;
  Mock& operator=(const Mock&) = delete;

  const std::string& bootstraps() const { return bootstraps_; }
  rd_kafka_mock_cluster_t* cluster() { return mc_; }
  void topic(const std::string& name, int partitions) {
    ASSERT_EQ(rd_kafka_mock_topic_create(mc_, name.c_str(), partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    partitions_[name] = partitions;
  }
  int partitions(const std::string& name) const { return partitions_.at(name); }

 private:
  rd_kafka_t* owner_ = nullptr;
  rd_kafka_mock_cluster_t* mc_ = nullptr;
  std::string bootstraps_;
  std::map<std::string, int> partitions_;
};

// ---- a real consumer ---------------------------------------------------------

struct Msg {
  std::string topic, key, value;
  bool has_key = false;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::map<std::string, std::string> headers;
};

struct Consumed {
  std::vector<Msg> msgs;
  std::int64_t in_topic = -1;  // sum of the partitions' high watermarks
};

// Everything in `topic` from the beginning: stops once `expect` messages
// arrived (or after `timeout`), then asks the cluster how many the topic
// holds, so extra messages (duplicates) show up without waiting for them.
Consumed consume(const Mock& mock, const std::string& topic, std::size_t expect,
                 std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  Consumed out;
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  for (auto [k, v] : {std::pair<const char*, std::string>{"bootstrap.servers", mock.bootstraps()},
                      {"group.id", "netloom-test"},
                      {"enable.auto.commit", "false"},
                      {"enable.partition.eof", "false"}})
    EXPECT_EQ(rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err), RD_KAFKA_CONF_OK) << err;
  rd_kafka_conf_set_log_cb(conf, &quiet_log);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  if (rk == nullptr) {
    ADD_FAILURE() << err;
    return out;
  }
  const int parts = mock.partitions(topic);
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(parts);
  for (int p = 0; p < parts; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  EXPECT_EQ(rd_kafka_assign(rk, list), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline = Clock::now() + timeout;
  while (out.msgs.size() < expect && Clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err) {
      ADD_FAILURE() << "consumer: " << rd_kafka_message_errstr(m);
    } else {
      Msg g;
      g.topic = rd_kafka_topic_name(m->rkt);
      g.partition = m->partition;
      g.offset = m->offset;
      g.value.assign(static_cast<const char*>(m->payload), m->len);
      g.has_key = m->key != nullptr;
      if (m->key) g.key.assign(static_cast<const char*>(m->key), m->key_len);
      rd_kafka_headers_t* hdrs = nullptr;
      if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &val, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i)
          g.headers[name] = val ? std::string(static_cast<const char*>(val), size) : std::string();
      }
      out.msgs.push_back(std::move(g));
    }
    rd_kafka_message_destroy(m);
  }
  out.in_topic = 0;
  for (int p = 0; p < parts; ++p) {
    std::int64_t lo = 0, hi = 0;
    EXPECT_EQ(rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000),
              RD_KAFKA_RESP_ERR_NO_ERROR);
    out.in_topic += hi - lo;
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return out;
}

// ---- expected texts, computed here -------------------------------------------

std::string ip_text(const IpAddr& a, int version) {
  char b[INET6_ADDRSTRLEN] = {};
  inet_ntop(version == 6 ? AF_INET6 : AF_INET, a.data(), b, sizeof b);
  return b;
}
// The documented key: "tcp 10.0.0.1:1234 10.0.0.2:80", IPv6 in brackets.
std::string tuple_key(const FlowKey& k) {
  std::string proto = k.l4_proto == 6 ? "tcp" : k.l4_proto == 17 ? "udp" : std::to_string(k.l4_proto);
  auto end = [&](const IpAddr& a, std::uint16_t port) {
    const std::string ip = ip_text(a, k.ip_version);
    return (k.ip_version == 6 ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
  };
  return proto + " " + end(k.client, k.client_port) + " " + end(k.server, k.server_port);
}
const char* end_text(FlowEnd e) {
  static const char* const names[] = {"open",         "fin",     "rst",         "idle",   "singleton",
                                      "end_of_input", "evicted", "half_duplex", "interim"};
  return names[static_cast<int>(e)];
}
const char* log_of(const FlowRecord& r) {
  return r.key.l4_proto == 17 ? "log_udp_complete" : r.complete ? "log_tcp_complete" : "log_tcp_nocomplete";
}

std::vector<std::string> lines_of(const fs::path& f) {
  std::vector<std::string> v;
  std::ifstream in(f);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// ---- feeding blocks ----------------------------------------------------------

struct NoEmit : Emit {
  void operator()(unsigned, MessagePtr) override { ADD_FAILURE() << "sinks emit nothing"; }
};
struct Collect : Emit {
  std::vector<std::pair<unsigned, MessagePtr>> got;
  void operator()(unsigned port, MessagePtr msg) override { got.emplace_back(port, std::move(msg)); }
};

// A configured KafkaSink with its fake context.
struct Sink {
  test::FakeContext ctx;
  std::unique_ptr<Block> block;
  NoEmit none;
  explicit Sink(const Over& over) {
    ctx.id = "kafka";
    block = test::make_block(kafka_factory(), ctx, over);
  }
  void flows(std::vector<FlowRecord> recs) {
    auto b = std::make_shared<FlowBatch>();
    b->records = std::move(recs);
    block->receive(0, b, none);
  }
  void flush() { block->flush(none); }
  std::uint64_t operator[](const char* counter) { return ctx.value(counter); }
  std::uint64_t offered() {
    return (*this)["flows"] + (*this)["skype"] + (*this)["events"] + (*this)["histograms"];
  }
  std::uint64_t accounted() {
    return (*this)["delivered"] + (*this)["delivery_failed"] + (*this)["dropped_queue_full"] +
           (*this)["produce_failed"] + (*this)["undelivered_at_exit"];
  }
  std::size_t logs_containing(const std::string& s) const {
    return static_cast<std::size_t>(std::count_if(ctx.logs.begin(), ctx.logs.end(),
                                                  [&](const std::string& l) { return l.find(s) != l.npos; }));
  }
  std::string all_logs() const {
    std::string s;
    for (const auto& l : ctx.logs) s += l + "\n";
    return s;
  }
};

// FlowTracker -> PDPI over a capture, fed as the runtime feeds them (packet-
// time timers included): PDPI's `records` batches (closed flows, labelled)
// and `events` batches.
struct Classified {
  std::vector<std::shared_ptr<FlowBatch>> records;
  std::vector<std::shared_ptr<ClassificationBatch>> events;
};
Classified classify(const fs::path& capture) {
  Classified c;
  test::FakeContext tctx, pctx;
  tctx.id = "trk";
  tctx.batch = 256;
  auto tracker = test::make_block(plugin("netloom_flow.so").factory(), tctx, {});
  pctx.id = "pdpi";
  pctx.slots = tctx.slots;
  auto pdpi = test::make_block(plugin("netloom_pdpi.so").factory(), pctx, {});
  Collect mid, out;
  auto pass = [&] {
    for (auto& [port, m] : mid.got)
      if (port == 0) pdpi->receive(0, m, out);
    mid.got.clear();
    for (auto& [port, m] : out.got) {
      if (port == 1) c.records.push_back(std::static_pointer_cast<FlowBatch>(m));
      if (port == 2) c.events.push_back(std::static_pointer_cast<ClassificationBatch>(m));
    }
    out.got.clear();
  };
  std::uint64_t clock = 0;
  test::for_each_batch(capture, [&](std::shared_ptr<PacketBatch> b) {
    if (!b->packets.empty()) {
      b->clock_ns = b->packets.back().ts_ns;
      const std::uint64_t t = b->packets.front().ts_ns;
      if (t > clock) {
        clock = t;
        for (auto& tm : tctx.timers) {
          if (tm.next == 0) tm.next = (t / tm.period + 1) * tm.period;
          while (tm.next <= t) {
            tracker->on_timer(tm.id, tm.next, mid);
            tm.next += tm.period;
          }
        }
      }
    }
    tracker->receive(0, b, mid);
    pass();
  });
  tracker->flush(mid);
  pass();
  pdpi->flush(out);
  pass();
  return c;
}

// A fresh directory per test, removed afterwards unless the test failed.
class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("netloom-kafka-" + std::to_string(::getpid()) + "-" + t->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  Over sink_params(const Mock& m, Over extra = {}) const {
    extra.emplace("brokers", m.bootstraps());
    extra.emplace("probe", std::string("probe-test"));
    return extra;
  }
  fs::path dir_;
};

FlowRecord tcp_record(std::uint16_t client_port, bool complete = false) {
  FlowRecord r;
  r.key.ip_version = 4;
  r.key.l4_proto = 6;
  inet_pton(AF_INET, "10.1.2.3", r.key.client.data());
  inet_pton(AF_INET, "192.0.2.80", r.key.server.data());
  r.key.client_port = client_port;
  r.key.server_port = 443;
  r.id = client_port;
  r.complete = complete;
  r.end = complete ? FlowEnd::fin : FlowEnd::rst;
  r.internal = {true, false};
  r.first_ns = 1700000000ull * kSecNs + client_port * 1000ull;
  r.last_ns = r.first_ns + 250'000'000;
  r.tcp[0].pkts_all = 3 + client_port % 7;
  r.tcp[0].syn_cnt = 1;
  r.tcp[1].pkts_all = 2;
  r.tcp[1].rst_cnt = 1;
  return r;
}

}  // namespace

// ======================================================================= tests

TEST(KafkaSinkBlock, DescribesItself) {
  BlockInfo info = kafka_factory().info();
  EXPECT_EQ(info.type, "KafkaSink");
  EXPECT_EQ(info.threading, Threading::serial);
  ASSERT_EQ(info.inputs.size(), 3u);
  EXPECT_EQ(info.inputs[0].name, "flows");
  EXPECT_EQ(info.inputs[0].type, "FlowBatch");
  EXPECT_EQ(info.inputs[1].name, "events");
  EXPECT_EQ(info.inputs[1].type, "ClassificationBatch");
  EXPECT_EQ(info.inputs[2].name, "windows");
  EXPECT_EQ(info.inputs[2].type, "HistogramWindow");
  for (const auto& p : info.inputs) EXPECT_FALSE(p.required) << p.name;
  EXPECT_TRUE(info.outputs.empty());
  std::map<std::string, std::string> defaults;
  for (const auto& p : info.params) {
    EXPECT_FALSE(p.doc.empty()) << p.name;
    defaults[p.name] = p.default_text.value_or("(required)");
  }
  EXPECT_EQ(defaults["topic_flows"], "netloom.flows");
  EXPECT_EQ(defaults["topic_events"], "netloom.events");
  EXPECT_EQ(defaults["topic_windows"], "netloom.histograms");
  EXPECT_EQ(defaults["flush_timeout"], "10s");
  for (const char* p : {"brokers", "properties", "properties_file", "max_queue", "max_queue_size", "key"})
    EXPECT_TRUE(defaults.count(p)) << p;
  std::vector<std::string> counters;
  for (const auto& c : info.counters) {
    EXPECT_FALSE(c.doc.empty()) << c.name;
    counters.push_back(c.name);
  }
  for (const char* c : {"delivered", "delivery_failed", "dropped_queue_full", "undelivered_at_exit"})
    EXPECT_NE(std::find(counters.begin(), counters.end(), c), counters.end()) << c;
}

// A real run: data/demo.pcap through FlowTracker and PDPI. Every flow record
// and every classification event arrives exactly once, each flow record's
// value is byte for byte the line LogSink (format=json) writes for it, keys
// are the documented 5-tuples, headers say probe, log and end.
TEST_F(KafkaSinkTest, EveryRecordOfARealRunArrivesOnceAsLogSinksJson) {
  Classified run = classify(kDemo);
  Mock mock(3);
  mock.topic("netloom.flows", 4);
  mock.topic("netloom.events", 2);

  Sink sink(sink_params(mock));
  test::FakeContext lctx;
  auto logs = test::make_block(plugin("netloom_logs.so").factory(), lctx,
                               {{"dir", dir_.string()},
                                {"format", std::string("json")},
                                {"layout", std::string("flat")},
                                {"log_external", true}});
  NoEmit none;
  std::vector<FlowRecord> fed;
  std::size_t events_fed = 0;
  for (auto& b : run.records) {
    sink.block->receive(0, b, none);
    logs->receive(0, b, none);
    for (const auto& r : b->records) fed.push_back(r);
  }
  for (auto& b : run.events) {
    sink.block->receive(1, b, none);
    events_fed += b->events.size();
  }
  logs->flush(none);
  sink.flush();

  ASSERT_GT(fed.size(), 50u) << "demo.pcap should give many flows";
  ASSERT_GT(events_fed, 10u) << "PDPI should classify some demo flows";
  // (key, log header, end header, value) per flow message, in the order the
  // records were fed; the i-th record of a log is the i-th line of its file.
  std::map<std::string, std::vector<std::string>> lines;
  for (const char* log : {"log_tcp_complete", "log_tcp_nocomplete", "log_udp_complete"})
    lines[log] = lines_of(dir_ / (std::string(log) + ".jsonl"));
  std::map<std::string, std::size_t> next;
  using Row = std::tuple<std::string, std::string, std::string, std::string>;
  std::vector<Row> expected;
  for (const auto& r : fed) {
    ASSERT_NE(r.end, FlowEnd::interim);
    const char* log = log_of(r);
    ASSERT_LT(next[log], lines[log].size()) << log;
    expected.emplace_back(tuple_key(r.key), log, end_text(r.end), lines[log][next[log]++]);
  }
  for (const auto& [log, l] : lines) EXPECT_EQ(next[log], l.size()) << log << ": LogSink wrote other lines";

  EXPECT_EQ(sink["flows"], fed.size());
  EXPECT_EQ(sink["events"], events_fed);
  EXPECT_EQ(sink["delivered"], fed.size() + events_fed);
  EXPECT_EQ(sink.accounted(), sink["delivered"]) << sink.all_logs();
  EXPECT_EQ(sink["interim"] + sink["other"] + sink["skype"] + sink["histograms"], 0u);
  EXPECT_EQ(sink.block->summary(), std::to_string(fed.size() + events_fed) + " of " +
                                       std::to_string(fed.size() + events_fed) + " messages delivered to " +
                                       mock.bootstraps());

  Consumed flows = consume(mock, "netloom.flows", fed.size());
  EXPECT_EQ(flows.in_topic, static_cast<std::int64_t>(fed.size())) << "the topic holds other messages";
  std::vector<Row> got;
  std::map<std::string, int> partition_of;
  for (const auto& m : flows.msgs) {
    EXPECT_TRUE(m.has_key);
    EXPECT_EQ(m.headers.at("probe"), "probe-test");
    got.emplace_back(m.key, m.headers.count("log") ? m.headers.at("log") : "",
                     m.headers.count("end") ? m.headers.at("end") : "", m.value);
    auto [it, fresh] = partition_of.emplace(m.key, m.partition);
    EXPECT_EQ(it->second, m.partition) << "one key, two partitions: " << m.key;
  }
  EXPECT_GT(partition_of.size(), 10u);
  std::sort(expected.begin(), expected.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(std::adjacent_find(got.begin(), got.end()), got.end()) << "a message arrived twice";
  EXPECT_EQ(got, expected);

  // Events: one message each, keyed by the flow's tuple, carrying its label.
  std::vector<std::string> want_events, got_events;
  for (const auto& b : run.events)
    for (const auto& e : b->events)
      want_events.push_back(tuple_key(e.key) + "|" + std::to_string(e.flow_id) + "|" + e.classifier + "|" +
                            e.label);
  Consumed events = consume(mock, "netloom.events", events_fed);
  EXPECT_EQ(events.in_topic, static_cast<std::int64_t>(events_fed));
  const std::regex fields(
      R"re(^\{"ts":\d+\.\d{6},"flow_id":(\d+),.*"classifier":"([^"]*)","label":"([^"]*)")re");
  for (const auto& m : events.msgs) {
    std::smatch s;
    ASSERT_TRUE(std::regex_search(m.value, s, fields)) << m.value;
    got_events.push_back(m.key + "|" + s[1].str() + "|" + s[2].str() + "|" + s[3].str());
  }
  std::sort(want_events.begin(), want_events.end());
  std::sort(got_events.begin(), got_events.end());
  EXPECT_EQ(got_events, want_events);
}

// Hand-built items of every kind: the flow lines (Skype's second line
// included) equal LogSink's, events and histograms are the documented JSON,
// records that are not sent are counted, keys follow `key`.
TEST_F(KafkaSinkTest, EveryKindIsTheDocumentedJson) {
  Mock mock;
  for (const char* t : {"f", "e", "w"}) mock.topic(t, 1);

  FlowRecord udp6;
  udp6.key.ip_version = 6;
  udp6.key.l4_proto = 17;
  inet_pton(AF_INET6, "2001:db8::1", udp6.key.client.data());
  inet_pton(AF_INET6, "2001:db8::53", udp6.key.server.data());
  udp6.key.client_port = 5353;
  udp6.key.server_port = 53;
  udp6.id = 7;
  udp6.end = FlowEnd::idle;
  udp6.udp[0] = {1700000000ull * kSecNs, 1700000001ull * kSecNs, 80, 2};
  udp6.first_ns = udp6.udp[0].first_ns;
  udp6.last_ns = udp6.udp[0].last_ns;
  udp6.labels.udp_type = {19, 19};
  udp6.labels.app = "DNS \"quoted\"";
  FlowRecord skype = tcp_record(40000, true);
  skype.labels.app = "Skype";
  auto facts = std::make_shared<SkypeFacts>();
  facts->tcp = true;
  facts->dir[0].pkts = 60;
  skype.skype = facts;
  FlowRecord interim = tcp_record(40001);
  interim.end = FlowEnd::interim;
  FlowRecord icmp = tcp_record(40002);
  icmp.key.l4_proto = 1;
  const std::vector<FlowRecord> recs = {udp6, skype, interim, icmp, tcp_record(40003)};

  ClassificationEvent ev;
  ev.flow_id = 7;
  ev.key = udp6.key;
  ev.ts_ns = 1700000000ull * kSecNs + 1500;
  ev.packets = 1;
  ev.dir = 0;
  ev.classifier = "PDPI";
  ev.label = "DNS";
  ev.labels = udp6.labels;
  auto events = std::make_shared<ClassificationBatch>();
  events->events = {ev};

  auto window = std::make_shared<HistogramWindow>();
  window->start_ns = 1700000000ull * kSecNs;
  window->end_ns = window->start_ns + 300 * kSecNs;
  window->step = 2;
  HistogramData h;
  h.name = "ip_len_in";
  h.description = "IP length";
  h.min = 0, h.max = 8, h.bin = 4;
  h.bins = {1, 2, 3, 4, 5};
  h.count = 3, h.mean = 2.5, h.m2 = 2.0, h.vmin = 1, h.vmax = 4;
  HistogramData pseudo;
  pseudo.name = "L4_bitrate_in";
  pseudo.min = 0, pseudo.max = 2, pseudo.bin = 1;
  pseudo.bins = {0, 10, 20, 0, 0};
  pseudo.pseudo = true;
  window->histograms = {h, pseudo};

  Over p = sink_params(mock, {{"topic_flows", std::string("f")},
                              {"topic_events", std::string("e")},
                              {"topic_windows", std::string("w")},
                              {"key", std::string("flow_id")}});
  Sink sink(p);
  test::FakeContext lctx;
  auto logs = test::make_block(plugin("netloom_logs.so").factory(), lctx,
                               {{"dir", dir_.string()},
                                {"format", std::string("json")},
                                {"layout", std::string("flat")},
                                {"log_external", true}});
  NoEmit none;
  sink.flows(recs);
  sink.block->receive(1, events, none);
  sink.block->receive(2, window, none);
  auto b = std::make_shared<FlowBatch>();
  b->records = recs;
  logs->receive(0, b, none);
  logs->flush(none);
  sink.flush();

  EXPECT_EQ(sink["flows"], 3u);  // udp6, skype, 40003
  EXPECT_EQ(sink["skype"], 1u);
  EXPECT_EQ(sink["interim"], 1u);
  EXPECT_EQ(sink["other"], 1u);
  EXPECT_EQ(sink["events"], 1u);
  EXPECT_EQ(sink["histograms"], 2u);
  EXPECT_EQ(sink["delivered"], 7u) << sink.all_logs();
  EXPECT_EQ(sink.accounted(), 7u);

  Consumed f = consume(mock, "f", 4);
  ASSERT_EQ(f.msgs.size(), 4u);
  EXPECT_EQ(f.in_topic, 4);
  // One partition: the order they were sent in.
  const auto udp_lines = lines_of(dir_ / "log_udp_complete.jsonl");
  const auto tcp_lines = lines_of(dir_ / "log_tcp_complete.jsonl");
  const auto noc_lines = lines_of(dir_ / "log_tcp_nocomplete.jsonl");
  const auto sky_lines = lines_of(dir_ / "log_skype_complete.jsonl");
  ASSERT_EQ(udp_lines.size(), 1u);
  ASSERT_EQ(tcp_lines.size(), 1u);
  ASSERT_EQ(noc_lines.size(), 1u);
  ASSERT_EQ(sky_lines.size(), 1u);
  EXPECT_EQ(f.msgs[0].value, udp_lines[0]);
  EXPECT_EQ(f.msgs[0].key, "7");
  EXPECT_EQ(f.msgs[0].headers.at("log"), "log_udp_complete");
  EXPECT_EQ(f.msgs[0].headers.at("end"), "idle");
  EXPECT_EQ(f.msgs[1].value, tcp_lines[0]);
  EXPECT_EQ(f.msgs[1].key, "40000");
  EXPECT_EQ(f.msgs[1].headers.at("log"), "log_tcp_complete");
  EXPECT_EQ(f.msgs[2].value, sky_lines[0]);
  EXPECT_EQ(f.msgs[2].key, "40000");
  EXPECT_EQ(f.msgs[2].headers.at("log"), "log_skype_complete");
  EXPECT_EQ(f.msgs[2].headers.at("end"), "fin");
  EXPECT_EQ(f.msgs[3].value, noc_lines[0]);
  EXPECT_EQ(f.msgs[3].headers.at("end"), "rst");
  for (const auto& m : f.msgs) EXPECT_EQ(m.headers.at("probe"), "probe-test");

  Consumed e = consume(mock, "e", 1);
  ASSERT_EQ(e.msgs.size(), 1u);
  EXPECT_EQ(e.msgs[0].key, "7");
  EXPECT_EQ(e.msgs[0].value,
            R"({"ts":1700000000000.001465,"flow_id":7,"proto":"udp","c_ip":"2001:db8::1","c_port":5353,)"
            R"("s_ip":"2001:db8::53","s_port":53,"packets":1,"dir":"c2s","classifier":"PDPI","label":"DNS",)"
            R"("app":"DNS \"quoted\"","con_t":0,"p2p_t":0,"p2p_st":0,"http_t":0,"c_type":19,"s_type":19})");

  Consumed w = consume(mock, "w", 2);
  ASSERT_EQ(w.msgs.size(), 2u);
  EXPECT_EQ(w.msgs[0].key, "ip_len_in");
  EXPECT_EQ(w.msgs[0].value,
            R"({"start":1700000000000.000000,"end":1700000300000.000000,"step":2,"last":false,)"
            R"("name":"ip_len_in","description":"IP length","min":0,"max":8,"bin":4,"pseudo":false,)"
            R"("underflow":1,"overflow":4,"in_range":5,"bins":[2,3],"count":3,"mean":2.5,"stdev":1,)"
            R"("value_min":1,"value_max":4})");
  EXPECT_EQ(w.msgs[1].key, "L4_bitrate_in");
  EXPECT_EQ(w.msgs[1].value,
            R"({"start":1700000000000.000000,"end":1700000300000.000000,"step":2,"last":false,)"
            R"("name":"L4_bitrate_in","description":"","min":0,"max":2,"bin":1,"pseudo":true,)"
            R"("underflow":0,"overflow":0,"in_range":0,"bins":[10,20],"count":null,"mean":null,)"
            R"("stdev":null,"value_min":null,"value_max":null})");
}

// interim=true sends interim records too (header end=interim); key=none
// sends no key.
TEST_F(KafkaSinkTest, InterimRecordsWhenAskedAndNoKey) {
  Mock mock;
  mock.topic("netloom.flows", 1);
  Sink sink(sink_params(mock, {{"interim", true}, {"key", std::string("none")}}));
  FlowRecord r = tcp_record(1234);
  r.end = FlowEnd::interim;
  sink.flows({r});
  sink.flush();
  EXPECT_EQ(sink["interim"], 0u);
  EXPECT_EQ(sink["delivered"], 1u);
  Consumed c = consume(mock, "netloom.flows", 1);
  ASSERT_EQ(c.msgs.size(), 1u);
  EXPECT_FALSE(c.msgs[0].has_key);
  EXPECT_EQ(c.msgs[0].headers.at("end"), "interim");
}

// Back-pressure with the broker down: 100,000 records are fed without
// receive() ever waiting; exactly max_queue of them are queued, the rest
// dropped and counted; once the broker is back, flush delivers exactly the
// queued ones (the first ones fed), which are then what the topic holds.
class KafkaBackPressure : public KafkaSinkTest, public ::testing::WithParamInterface<bool> {};

TEST_P(KafkaBackPressure, FullQueueDropsAndCountsWithoutWaiting) {
  const bool broker_comes_back = GetParam();
  constexpr std::size_t kRecords = 100000, kQueue = 50;
  Mock mock;
  mock.topic("netloom.flows", 2);
  ASSERT_EQ(rd_kafka_mock_broker_set_down(mock.cluster(), -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  Sink sink(sink_params(mock, {{"max_queue", static_cast<std::int64_t>(kQueue)},
                               {"flush_timeout", (broker_comes_back ? 60 : 1) * kSecNs}}));

  std::vector<FlowRecord> all;
  for (std::size_t i = 0; i < kRecords; ++i) {
    FlowRecord r = tcp_record(static_cast<std::uint16_t>(1024 + i % 60000));
    r.key.server_port = static_cast<std::uint16_t>(1 + i / 60000);  // every tuple distinct
    all.push_back(r);
  }
  // The feed runs on its own thread: if receive() ever blocked on the dead
  // broker, the test would report it instead of hanging.
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  double worst_ms = 0;
  const auto t0 = Clock::now();
  std::thread feeder([&] {
    for (std::size_t at = 0; at < all.size(); at += 256) {
      std::vector<FlowRecord> part(all.begin() + static_cast<std::ptrdiff_t>(at),
                                   all.begin() + static_cast<std::ptrdiff_t>(std::min(at + 256, all.size())));
      const auto s = Clock::now();
      sink.flows(std::move(part));
      worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(Clock::now() - s).count());
    }
    std::lock_guard l(mu);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock l(mu);
    if (!cv.wait_for(l, std::chrono::seconds(120), [&] { return done; })) {
      ADD_FAILURE() << "feeding 100000 records with the broker down did not finish in 120 s: receive() waits";
      std::_Exit(1);
    }
  }
  feeder.join();
  const double feed_s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_LT(worst_ms, 2000.0) << "one receive() took " << worst_ms << " ms";
  EXPECT_EQ(sink["flows"], kRecords);
  EXPECT_EQ(sink["dropped_queue_full"], kRecords - kQueue);
  EXPECT_EQ(sink["delivered"], 0u);
  EXPECT_EQ(sink.logs_containing("queue is full"), 1u + static_cast<std::size_t>(feed_s / 60))
      << sink.all_logs();

  if (broker_comes_back) {
    ASSERT_EQ(rd_kafka_mock_broker_set_up(mock.cluster(), -1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  const auto f0 = Clock::now();
  sink.flush();
  const double flush_s = std::chrono::duration<double>(Clock::now() - f0).count();
  EXPECT_EQ(sink.accounted(), kRecords) << sink.all_logs();
  EXPECT_EQ(sink["dropped_queue_full"], kRecords - kQueue);
  EXPECT_EQ(sink["delivery_failed"] + sink["produce_failed"], 0u);
  if (broker_comes_back) {
    EXPECT_EQ(sink["delivered"], kQueue) << sink.all_logs();
    EXPECT_EQ(sink["undelivered_at_exit"], 0u);
    Consumed c = consume(mock, "netloom.flows", kQueue);
    EXPECT_EQ(c.in_topic, static_cast<std::int64_t>(kQueue));
    std::vector<std::string> want, got;
    for (std::size_t i = 0; i < kQueue; ++i) want.push_back(tuple_key(all[i].key));
    for (const auto& m : c.msgs) got.push_back(m.key);
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_EQ(got, want) << "the queued messages are the first ones fed";
  } else {
    EXPECT_EQ(sink["delivered"], 0u);
    EXPECT_EQ(sink["undelivered_at_exit"], kQueue);
    EXPECT_LT(flush_s, 1.0 + 5.0) << "flush_timeout is 1 s";
    EXPECT_EQ(sink.logs_containing("50 message(s) not delivered to " + mock.bootstraps()), 1u)
        << sink.all_logs();
    EXPECT_NE(sink.block->summary().find("(99950 dropped (queue full), 50 undelivered at exit)"),
              std::string::npos)
        << sink.block->summary();
  }
}
INSTANTIATE_TEST_SUITE_P(Broker, KafkaBackPressure, ::testing::Values(true, false),
                         [](const auto& i) { return i.param ? "ComesBack" : "StaysDown"; });

// A broker refusing a produce request: the messages it carried are counted
// in delivery_failed (and logged), the others delivered, and the topic holds
// exactly the delivered ones.
TEST_F(KafkaSinkTest, RefusedDeliveriesAreCountedAndTheRestArrives) {
  Mock mock;
  mock.topic("netloom.flows", 1);
  rd_kafka_mock_push_request_errors(mock.cluster(), 0 /* Produce */, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
  Sink sink(sink_params(mock));
  std::vector<FlowRecord> first, second;
  for (std::uint16_t i = 0; i < 5; ++i) first.push_back(tcp_record(2000 + i));
  for (std::uint16_t i = 0; i < 5; ++i) second.push_back(tcp_record(3000 + i));
  sink.flows(first);
  // receive() serves the delivery reports: empty batches until the first five are settled.
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (sink["delivered"] + sink["delivery_failed"] < 5 && Clock::now() < deadline) {
    sink.flows({});
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sink.flows(second);
  sink.flush();
  EXPECT_GE(sink["delivery_failed"], 1u);
  EXPECT_GE(sink["delivered"], 5u);
  EXPECT_EQ(sink["delivered"] + sink["delivery_failed"], 10u) << sink.all_logs();
  EXPECT_EQ(sink.accounted(), 10u);
  EXPECT_EQ(sink["produce_failed"], 0u);
  EXPECT_GE(sink.logs_containing("delivery to 'netloom.flows' failed: Broker: Message size too large"), 1u)
      << sink.all_logs();
  Consumed c = consume(mock, "netloom.flows", sink["delivered"]);
  EXPECT_EQ(c.in_topic, static_cast<std::int64_t>(sink["delivered"]));
  EXPECT_EQ(c.msgs.size(), sink["delivered"]);
}

// A message librdkafka refuses outright (here: larger than message.max.bytes)
// is counted in produce_failed and logged; the others go on.
TEST_F(KafkaSinkTest, RefusedProducesAreCounted) {
  Mock mock;
  mock.topic("netloom.histograms", 1);
  Sink sink(sink_params(mock, {{"properties", std::string("message.max.bytes=1000")}}));
  auto window = std::make_shared<HistogramWindow>();
  HistogramData small, big;
  small.name = "small";
  small.bins = {0, 1, 0, 1};
  big.name = "big";
  big.max = 2000;
  big.bins.assign(2003, 123456);
  window->histograms = {small, big, small};
  NoEmit none;
  sink.block->receive(2, window, none);
  sink.flush();
  EXPECT_EQ(sink["histograms"], 3u);
  EXPECT_EQ(sink["produce_failed"], 1u);
  EXPECT_EQ(sink["delivered"], 2u);
  EXPECT_EQ(sink.accounted(), 3u);
  EXPECT_EQ(sink.logs_containing("cannot produce to 'netloom.histograms': Broker: Message size too large "
                                 "(counted in produce_failed)"),
            1u)
      << sink.all_logs();
  Consumed c = consume(mock, "netloom.histograms", 2);
  EXPECT_EQ(c.in_topic, 2);
  for (const auto& m : c.msgs) EXPECT_EQ(m.key, "small");
}

// Bad configuration: one line naming the parameter (and librdkafka's words).
TEST_F(KafkaSinkTest, BadParametersAreOneClearLine) {
  auto error = [&](Over o) -> std::string {
    o.emplace("brokers", std::string("127.0.0.1:1"));
    try {
      test::FakeContext ctx;
      auto b = test::make_block(kafka_factory(), ctx, o);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(error({{"brokers", std::string("")}}),
            "parameter 'brokers' must not be empty (the bootstrap servers, host:port[,host:port...])");
  EXPECT_EQ(error({{"brokers", std::string("  ")}}),
            "parameter 'brokers' must not be empty (the bootstrap servers, host:port[,host:port...])");
  EXPECT_EQ(error({{"properties", std::string("security.protocol=plaintext,foo.bar=1")}}),
            "parameter 'properties': foo.bar=1: No such configuration property: \"foo.bar\"");
  EXPECT_EQ(error({{"properties", std::string("compression.type=zip")}}),
            "parameter 'properties': compression.type=zip: Invalid value \"zip\" for configuration property "
            "\"compression.codec\"");
  EXPECT_EQ(error({{"properties", std::string("linger.ms=soon")}}),
            "parameter 'properties': linger.ms=soon: Invalid value for configuration property "
            "\"queue.buffering.max.ms\"");
  EXPECT_EQ(error({{"properties", std::string("message.timeout.ms=-1")}}),
            "parameter 'properties': message.timeout.ms=-1: Configuration property \"message.timeout.ms\" "
            "value -1 is outside allowed range 0..2147483647");
  EXPECT_EQ(error({{"properties", std::string("queue.buffering.max.messages=5")}}),
            "parameter 'properties': 'queue.buffering.max.messages' is set by parameter 'max_queue'");
  EXPECT_EQ(error({{"properties", std::string("bootstrap.servers=x:1")}}),
            "parameter 'properties': 'bootstrap.servers' is set by parameter 'brokers'");
  EXPECT_EQ(error({{"properties", std::string("acks")}}), "parameter 'properties': 'acks' is not key=value");
  // Settings librdkafka only rejects when the client is created (here: its TLS context).
  EXPECT_EQ(error({{"properties", std::string("security.protocol=ssl,ssl.ca.location=/nonexistent/ca.pem")}})
                .rfind("parameters 'properties'/'properties_file': librdkafka refuses the configuration: "
                       "ssl.ca.location failed: ",
                       0),
            0u);
  EXPECT_EQ(error({{"topic_flows", std::string("bad topic")}}),
            "parameter 'topic_flows': 'bad topic' is not a valid Kafka topic name (letters, digits, '.', '_' "
            "and '-' only)");
  EXPECT_EQ(error({{"topic_events", std::string("")}}), "parameter 'topic_events' must not be empty");
  EXPECT_EQ(error({{"properties_file", (dir_ / "missing.properties").string()}}),
            "parameter 'properties_file': cannot read '" + (dir_ / "missing.properties").string() +
                "': No such file or directory");
  const fs::path file = dir_ / "client.properties";
  std::ofstream(file) << "# a comment\n\ncompression.type = lz4\nbatch.num.messages=many\n";
  EXPECT_EQ(
      error({{"properties_file", file.string()}}),
      "parameter 'properties_file': " + file.string() +
          ":4: batch.num.messages=many: Invalid value for configuration property \"batch.num.messages\"");
  // Numbers of the block's own parameters are checked by the runtime's parser.
  const BlockInfo info = kafka_factory().info();
  const auto spec = std::find_if(info.params.begin(), info.params.end(),
                                 [](const ParamSpec& s) { return s.name == "max_queue"; });
  ASSERT_NE(spec, info.params.end());
  auto parse_error = [&](const char* text) -> std::string {
    try {
      core::parse_param_value(*spec, text);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  };
  EXPECT_EQ(parse_error("lots"), "parameter 'max_queue': 'lots' is not an integer");
  EXPECT_EQ(parse_error("0"), "parameter 'max_queue': '0' is below the minimum 1");
  const auto timeout = std::find_if(info.params.begin(), info.params.end(),
                                    [](const ParamSpec& s) { return s.name == "flush_timeout"; });
  ASSERT_NE(timeout, info.params.end());
  EXPECT_EQ(std::get<std::int64_t>(core::parse_param_value(*timeout, "90s")), 90 * kSecNs);
  try {
    core::parse_param_value(*timeout, "25h");
    ADD_FAILURE() << "flush_timeout 25h accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("parameter 'flush_timeout': '25h' is above the maximum", 0), 0u)
        << e.what();
  }
  // A good file and good properties are accepted (a value with an escaped comma too).
  std::ofstream(file) << "compression.type: lz4\n! another comment\n";
  EXPECT_EQ(error({{"properties_file", file.string()},
                   {"properties", std::string("debug=broker\\,topic, linger.ms = 20")}}),
            "(accepted)");
}

// The whole command: `netloom run compositions/probe-kafka.xml` on the demo
// capture against the mock cluster of this process. What the topics hold is
// what the run's counters say was delivered, and the flow messages are the
// records the classifier chain handed to the sink.
//
// Sanitizer builds: GCC 12's LeakSanitizer guesses the bounds of a dlopen'ed
// library's dynamic TLS block (here GnuTLS's, which netloom_capture pulls in
// through wiretap) with a glibc 2.19 heuristic: when glibc 2.36 happens to put
// that block at offset 16 of a page, LSan takes ASan's chunk header for a TLS
// header, scans a garbage range and dies ("Tracer caught signal 11",
// "LeakSanitizer has encountered a fatal error") before checking anything.
// That exit is LSan's own crash, not a leak report: such a run is repeated
// (a leak report is never retried).
TEST_F(KafkaSinkTest, ProbeCompositionEndToEnd) {
  std::unique_ptr<Mock> owned;
  test::Result r;
  for (int attempt = 0; attempt < 3; ++attempt) {
    owned = std::make_unique<Mock>(2);
    owned->topic("netloom.flows", 3);
    owned->topic("netloom.events", 3);
    owned->topic("netloom.histograms", 1);
    r = test::run({std::string(NETLOOM_BUILD_ROOT) + "/netloom", "run",
                   kSrc + "/compositions/probe-kafka.xml", "-D", "input=" + kDemo, "-D",
                   "brokers=" + owned->bootstraps(), "-D", "probe=e2e"});
    if (!test::lsan_crashed(r)) break;
    std::fprintf(stderr, "LeakSanitizer crashed in the child (not a leak report), running it again\n");
  }
  Mock& mock = *owned;
  ASSERT_EQ(r.status, 0) << r.err;

  // The run's statistics: "kafka (KafkaSink)  in.flows=N ..." then the counters.
  auto block_stats = [&](const std::string& header) {
    std::map<std::string, std::uint64_t> v;
    const auto at = r.err.find(header);
    if (at == std::string::npos) return v;
    const auto line_end = r.err.find('\n', at);
    const auto next_end = r.err.find('\n', line_end + 1);
    const std::string text = r.err.substr(at, next_end - at);
    const std::regex kv(R"(([a-z_.]+)=(\d+))");
    for (std::sregex_iterator it(text.begin(), text.end(), kv), e; it != e; ++it)
      v[(*it)[1].str()] = std::stoull((*it)[2].str());
    return v;
  };
  auto k = block_stats("kafka (KafkaSink)");
  auto skype = block_stats("skype (BayesClassifier)");
  ASSERT_FALSE(k.empty()) << r.err;
  ASSERT_FALSE(skype.empty()) << r.err;
  EXPECT_GT(k["in.flows"], 50u) << r.err;
  EXPECT_EQ(k["in.flows"], skype["out.records"]) << r.err;
  EXPECT_EQ(k["flows"] + k["interim"] + k["other"], k["in.flows"]) << r.err;
  EXPECT_EQ(k["events"], k["in.events"]) << r.err;
  EXPECT_GT(k["events"], 0u) << r.err;
  EXPECT_GT(k["histograms"], 0u) << r.err;
  const std::uint64_t offered = k["flows"] + k["skype"] + k["events"] + k["histograms"];
  EXPECT_EQ(k["delivered"], offered) << r.err;
  for (const char* lost : {"delivery_failed", "dropped_queue_full", "produce_failed", "undelivered_at_exit"})
    EXPECT_EQ(k[lost], 0u) << lost << "\n" << r.err;
  EXPECT_NE(r.err.find(std::to_string(offered) + " of " + std::to_string(offered) +
                       " messages delivered to " + mock.bootstraps()),
            std::string::npos)
      << r.err;

  Consumed flows = consume(mock, "netloom.flows", k["flows"] + k["skype"]);
  Consumed events = consume(mock, "netloom.events", k["events"]);
  Consumed hist = consume(mock, "netloom.histograms", k["histograms"]);
  EXPECT_EQ(flows.in_topic, static_cast<std::int64_t>(k["flows"] + k["skype"]));
  EXPECT_EQ(events.in_topic, static_cast<std::int64_t>(k["events"]));
  EXPECT_EQ(hist.in_topic, static_cast<std::int64_t>(k["histograms"]));
  EXPECT_EQ(flows.msgs.size() + events.msgs.size() + hist.msgs.size(), k["delivered"]);
  // Ground truth of data/demo.pcap (data/demo.labels.csv): 18 DNS and 5 QUIC
  // flows, which the classifiers give Tstat's udp_type 19 and 27.
  int dns = 0, quic = 0;
  std::set<std::string> keys;
  for (const auto& m : flows.msgs) {
    EXPECT_EQ(m.headers.at("probe"), "e2e");
    keys.insert(m.key);
    dns += m.value.find("\"c_type\":19,") != std::string::npos;
    quic += m.value.find("\"c_type\":27,") != std::string::npos;
  }
  EXPECT_EQ(dns, 18);
  EXPECT_EQ(quic, 5);
  EXPECT_EQ(keys.size(), k["flows"]) << "one key per flow";
}
