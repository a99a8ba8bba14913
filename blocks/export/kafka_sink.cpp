// KafkaSink: streams flow records (LogSink's JSON lines), classification
// events and histogram windows to Kafka through librdkafka, one topic per
// kind. Capture never waits for Kafka: messages go into librdkafka's bounded
// queue or are dropped and counted. See docs/kafka.md.
#include <librdkafka/rdkafka.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <cstring>
#include <map>
#include <memory>
#include <netloom/netloom.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kafka_config.hpp"
#include "kafka_json.hpp"
#include "log_format.hpp"

namespace netloom::blocks {
namespace {

using Clock = std::chrono::steady_clock;
using logs::Format;
using logs::Kind;

// Kinds of messages, each with its topic.
enum Topic : int { kFlows = 0, kEvents = 1, kWindows = 2, kTopics = 3 };
constexpr const char* kTopicParam[kTopics] = {"topic_flows", "topic_events", "topic_windows"};

// Repeated complaints (queue full, broker errors) are logged once, then at
// most once per this interval with the number left out meanwhile.
constexpr auto kLogInterval = std::chrono::seconds(60);

// Properties the block sets itself from its own parameters (or needs as they are).
struct Reserved {
  const char* key;
  const char* why;
};
constexpr Reserved kReserved[] = {
    {"bootstrap.servers", "is set by parameter 'brokers'"},
    {"metadata.broker.list", "is set by parameter 'brokers'"},
    {"queue.buffering.max.messages", "is set by parameter 'max_queue'"},
    {"queue.buffering.max.kbytes", "is set by parameter 'max_queue_size'"},
    {"delivery.report.only.error", "cannot be changed: every delivery is counted"},
    {"log.queue", "cannot be changed: librdkafka's logs are served on the block's thread"},
};

std::string trim_text(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '.')) s.pop_back();
  return s;
}

class KafkaSink final : public Block {
 public:
  static BlockInfo info() {
    BlockInfo i;
    i.type = "KafkaSink";
    i.summary =
        "streams flow records, classification events and histogram windows to Kafka as JSON (librdkafka)";
    i.description =
        "One Kafka message per item, one topic per kind: each flow record on `flows` becomes the JSON object "
        "LogSink writes with format=json (its log_tcp_complete, log_tcp_nocomplete or log_udp_complete line "
        "without the newline; a flow the Skype classifier called Skype also gets its log_skype_complete "
        "line) on `topic_flows`; each classification event on `events` a JSON object on `topic_events`; each "
        "histogram of a window on `windows` a JSON object on `topic_windows`. Flow and event messages are "
        "keyed by the flow's 5-tuple (or its id, `key`), histograms by their name, so a partitioned topic "
        "keeps a flow's messages in order. Headers: `probe` on every message; `log` (the log the line "
        "belongs to) and `end` (why the record was emitted) on flow messages. Capture never waits for "
        "Kafka: a message either enters librdkafka's queue (at most `max_queue` messages and "
        "`max_queue_size` bytes) or is dropped and counted in dropped_queue_full; delivery reports are "
        "served on the block's own thread at every batch. At the end of input the queue is flushed for at "
        "most `flush_timeout`; what is still undelivered then is purged and counted in undelivered_at_exit. "
        "Every message offered ends in exactly one of delivered, delivery_failed, dropped_queue_full, "
        "produce_failed and undelivered_at_exit (at-most-once delivery). Other librdkafka properties "
        "(security.protocol, sasl.*, ssl.*, compression.type, acks, ...) through `properties` or "
        "`properties_file`. See docs/kafka.md.";
    i.inputs = {
        in<FlowBatch>("flows", "flow records (a tracker's or classifier's `records` port)").optional(),
        in<ClassificationBatch>("events", "classification events (a classifier's `events` port)").optional(),
        in<HistogramWindow>("windows", "histogram windows (HistogramSink.windows)").optional()};
    i.params = {
        param<std::string>("brokers", "localhost:9092", "bootstrap servers: host:port[,host:port...]"),
        param<std::string>("topic_flows", "netloom.flows", "topic of flow records"),
        param<std::string>("topic_events", "netloom.events", "topic of classification events"),
        param<std::string>("topic_windows", "netloom.histograms", "topic of histograms (one message each)"),
        param<std::string>("properties", "",
                           "more librdkafka properties: key=value,key=value (\\, for a comma inside a "
                           "value); these win over properties_file"),
        param<std::string>("properties_file", "",
                           "file of librdkafka properties, one key=value per line, # comments (empty: none)"),
        param<std::int64_t>("max_queue", 100000,
                            "messages librdkafka may hold (queue.buffering.max.messages); more are dropped")
            .range(1, 2147483647.0),
        size("max_queue_size", "256MiB",
             "bytes librdkafka may hold (queue.buffering.max.kbytes); more are dropped")
            .range(1024, 2147483647.0 * 1024),
        duration("flush_timeout", "10s",
                 "at the end of input, wait at most this long for the queue to drain (0: do not wait)")
            .range(0, 86400),
        param<std::string>("key", "tuple",
                           "message key of flows and events: tuple (\"tcp 10.0.0.1:1234 10.0.0.2:80\"), "
                           "flow_id (the tracker's record id) or none")
            .one_of({"tuple", "flow_id", "none"}),
        param<int>("tcp_log_mask", 15, "log_tcp_complete column groups, as LogSink's tcp_log_mask")
            .range(0, 31),
        param<bool>("interim", false,
                    "also send interim records of flows still open (header end=interim); LogSink skips them"),
        param<std::string>("probe", "", "value of the `probe` header (empty: the host name)"),
    };
    i.counters = {
        {"flows", "flow records offered to the producer (one message each on topic_flows)"},
        {"skype", "log_skype_complete lines offered (a second message for flows called Skype)"},
        {"events", "classification events offered (topic_events)"},
        {"histograms", "histograms offered (topic_windows, one per histogram of a window)"},
        {"interim", "interim records not sent (parameter interim is off)"},
        {"other", "records of another L4 protocol than TCP and UDP (not sent)"},
        {"delivered", "messages the cluster acknowledged"},
        {"delivery_failed", "messages librdkafka gave up on (timeout, refused by the broker)"},
        {"dropped_queue_full",
         "messages dropped at once: librdkafka's queue was full (max_queue, max_queue_size)"},
        {"produce_failed", "messages refused for another reason (too large, unknown topic or partition)"},
        {"undelivered_at_exit", "messages still queued or unacknowledged after flush_timeout (purged)"},
        {"bytes_queued", "bytes of message values accepted into the queue"},
        {"client_errors", "errors librdkafka reported (broker unreachable, authentication...)"},
    };
    i.threading = Threading::serial;
    return i;
  }

  ~KafkaSink() override { destroy(); }

  void configure(const Params& p, Context& ctx) override {
    ctx_ = &ctx;
    brokers_ = p.get_string("brokers");
    brokers_.erase(0, brokers_.find_first_not_of(" \t"));
    brokers_.erase(brokers_.find_last_not_of(" \t") + 1);
    if (brokers_.empty())
      throw ConfigError(
          "parameter 'brokers' must not be empty (the bootstrap servers, host:port[,host:port...])");
    for (int t = 0; t < kTopics; ++t) {
      topic_names_[t] = p.get_string(kTopicParam[t]);
      kafka::check_topic(kTopicParam[t], topic_names_[t]);
    }
    const std::string& key = p.get_string("key");
    key_ = key == "flow_id" ? KeyMode::flow_id : key == "none" ? KeyMode::none : KeyMode::tuple;
    mask_ = static_cast<unsigned>(p.get_int("tcp_log_mask"));
    interim_ = p.get_bool("interim");
    probe_ = p.get_string("probe");
    if (probe_.empty()) {
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) == 0) probe_ = host;
    }
    const auto ms = p.get_duration_ns("flush_timeout") / 1'000'000;
    flush_timeout_ms_ = static_cast<int>(std::min<std::int64_t>(ms, INT_MAX));
    for (int k = 0; k < logs::kKinds; ++k) names_[k] = logs::columns(static_cast<Kind>(k), mask_);

    c_.flows = &ctx.counter("flows");
    c_.skype = &ctx.counter("skype");
    c_.events = &ctx.counter("events");
    c_.histograms = &ctx.counter("histograms");
    c_.interim = &ctx.counter("interim");
    c_.other = &ctx.counter("other");
    c_.delivered = &ctx.counter("delivered");
    c_.failed = &ctx.counter("delivery_failed");
    c_.queue_full = &ctx.counter("dropped_queue_full");
    c_.produce_failed = &ctx.counter("produce_failed");
    c_.at_exit = &ctx.counter("undelivered_at_exit");
    c_.bytes = &ctx.counter("bytes_queued");
    c_.client_errors = &ctx.counter("client_errors");

    // rd_kafka_new() takes the configuration only when it succeeds.
    std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                            &rd_kafka_conf_destroy);
    std::vector<kafka::Property> props;
    const std::string& file = p.get_string("properties_file");
    if (!file.empty()) props = kafka::read_properties_file(file);
    for (auto& q : kafka::parse_properties(p.get_string("properties"))) props.push_back(std::move(q));
    for (const auto& q : props) {
      for (const auto& r : kReserved)
        if (q.key == r.key) throw ConfigError(q.where + ": '" + q.key + "' " + r.why);
      if (q.key == "debug") debug_ = true;
      set(conf.get(), q.key, q.value, q.where + ": " + q.key + "=" + q.value);
    }
    set(conf.get(), "bootstrap.servers", brokers_, "parameter 'brokers'");
    set(conf.get(), "queue.buffering.max.messages", std::to_string(p.get_int("max_queue")),
        "parameter 'max_queue'");
    const std::int64_t kbytes = (p.get_size("max_queue_size") + 1023) / 1024;
    set(conf.get(), "queue.buffering.max.kbytes", std::to_string(kbytes), "parameter 'max_queue_size'");
    set(conf.get(), "log.queue", "true", "log.queue");
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::on_error);
    rd_kafka_conf_set_log_cb(conf.get(), &KafkaSink::on_log);

    char err[512] = {};
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
    if (rk_ == nullptr)
      throw ConfigError("parameters 'properties'/'properties_file': librdkafka refuses the configuration: " +
                        trim_text(err));
    conf.release();
    // Logs wait in the main queue, served with the delivery reports by poll.
    rd_kafka_set_log_queue(rk_, nullptr);
  }

  void receive(unsigned port, const MessagePtr& msg, Emit&) override {
    if (rk_ == nullptr) return;
    rd_kafka_poll(rk_, 0);  // delivery reports, errors and logs, on this thread
    retried_ = false;
    if (port == 0) {
      for (const FlowRecord& r : msg->as<FlowBatch>().records) send_record(r);
    } else if (port == 1) {
      for (const ClassificationEvent& e : msg->as<ClassificationBatch>().events) {
        value_.clear();
        kafka::event_json(value_, e);
        key_text(e.key, e.flow_id);
        c_.events->add();
        produce(kEvents, {});
      }
    } else {
      const auto& w = msg->as<HistogramWindow>();
      for (const HistogramData& h : w.histograms) {
        value_.clear();
        kafka::histogram_json(value_, w, h);
        key_buf_ = h.name;
        c_.histograms->add();
        produce(kWindows, {});
      }
    }
  }

  void flush(Emit&) override {
    if (rk_ == nullptr) return;
    rd_kafka_flush(rk_, flush_timeout_ms_);
    if (in_flight_ > 0) {
      const std::uint64_t before = c_.at_exit->value();
      // Purged messages report ERR__PURGE_QUEUE / ERR__PURGE_INFLIGHT, which
      // on_delivery counts in undelivered_at_exit (a report that beat the
      // purge counts as what it says).
      rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      const auto deadline = Clock::now() + std::chrono::seconds(5);
      while (in_flight_ > 0 && Clock::now() < deadline) rd_kafka_poll(rk_, 50);
      if (in_flight_ > 0) {  // reports that never came: counted here, ignored if they still do
        c_.at_exit->add(in_flight_);
        in_flight_ = 0;
        ignore_reports_ = true;
      }
      ctx_->log(LogLevel::warning,
                std::to_string(c_.at_exit->value() - before) + " message(s) not delivered to " + brokers_ +
                    " within flush_timeout (" +
                    (flush_timeout_ms_ % 1000 ? std::to_string(flush_timeout_ms_) + "ms"
                                              : std::to_string(flush_timeout_ms_ / 1000) + "s") +
                    "), counted in undelivered_at_exit" +
                    (last_error_.empty() ? std::string() : "; last error: " + last_error_));
    }
    destroy();
  }

  std::string summary() const override {
    if (c_.flows == nullptr) return {};
    const std::uint64_t offered =
        c_.flows->value() + c_.skype->value() + c_.events->value() + c_.histograms->value();
    std::string s = std::to_string(c_.delivered->value()) + " of " + std::to_string(offered) +
                    " messages delivered to " + brokers_;
    const std::pair<const char*, Counter*> lost[] = {{"delivery failed", c_.failed},
                                                     {"dropped (queue full)", c_.queue_full},
                                                     {"produce failed", c_.produce_failed},
                                                     {"undelivered at exit", c_.at_exit}};
    std::string tail;
    for (const auto& [name, c] : lost)
      if (c->value()) tail += (tail.empty() ? "" : ", ") + std::to_string(c->value()) + " " + name;
    if (!tail.empty()) s += " (" + tail + ")";
    return s;
  }

 private:
  enum class KeyMode { tuple, flow_id, none };
  using Header = std::pair<std::string_view, std::string_view>;

  void set(rd_kafka_conf_t* conf, const std::string& key, const std::string& value, const std::string& what) {
    char err[512] = {};
    if (rd_kafka_conf_set(conf, key.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      throw ConfigError(what + ": " + trim_text(err));
  }

  void key_text(const FlowKey& k, std::uint64_t id) {
    key_buf_.clear();
    if (key_ == KeyMode::tuple)
      kafka::append_tuple(key_buf_, k);
    else if (key_ == KeyMode::flow_id)
      key_buf_ = std::to_string(id);
  }

  void send_record(const FlowRecord& r) {
    if (r.end == FlowEnd::interim && !interim_) {
      c_.interim->add();
      return;
    }
    const std::uint8_t l4 = r.key.l4_proto;
    if (l4 != 6 && l4 != 17) {
      c_.other->add();
      return;
    }
    const Kind k = l4 == 17 ? Kind::udp_complete : r.complete ? Kind::tcp_complete : Kind::tcp_nocomplete;
    const int ki = static_cast<int>(k);
    value_.clear();
    logs::RowWriter w(value_, Format::json);
    if (k == Kind::udp_complete)
      logs::format_udp(w, names_[ki], r);
    else
      logs::format_tcp(w, names_[ki], r, mask_, k == Kind::tcp_complete);
    if (!value_.empty() && value_.back() == '\n') value_.pop_back();
    key_text(r.key, r.id);
    const std::string_view end = kafka::end_name(r.end);
    c_.flows->add();
    produce(kFlows, {{"log", logs::kind_name(k)}, {"end", end}});
    if (r.skype) {
      constexpr int sk = static_cast<int>(Kind::skype_complete);
      value_.clear();
      logs::RowWriter ws(value_, Format::json);
      logs::format_skype(ws, names_[sk], r);
      if (!value_.empty() && value_.back() == '\n') value_.pop_back();
      c_.skype->add();
      produce(kFlows, {{"log", logs::kind_name(Kind::skype_complete)}, {"end", end}});
    }
  }

  rd_kafka_topic_t* topic(int t) {
    // Created on first use: a topic handle makes librdkafka ask for (and a
    // broker maybe auto-create) the topic, so kinds never sent stay unknown.
    if (topics_[t] == nullptr) topics_[t] = rd_kafka_topic_new(rk_, topic_names_[t].c_str(), nullptr);
    return topics_[t];
  }

  // value_ and key_buf_ to topic `t`. Never waits: no RD_KAFKA_MSG_F_BLOCK.
  void produce(int t, std::initializer_list<Header> extra) {
    rd_kafka_topic_t* rkt = topic(t);
    if (rkt == nullptr) {
      c_.produce_failed->add();
      complain("topic", "cannot create topic handle '" + topic_names_[t] +
                            "': " + rd_kafka_err2str(rd_kafka_last_error()));
      return;
    }
    for (;;) {
      rd_kafka_headers_t* hdrs = rd_kafka_headers_new(1 + extra.size());
      rd_kafka_header_add(hdrs, "probe", 5, probe_.data(), static_cast<ssize_t>(probe_.size()));
      for (const auto& [n, v] : extra)
        rd_kafka_header_add(hdrs, n.data(), static_cast<ssize_t>(n.size()), v.data(),
                            static_cast<ssize_t>(v.size()));
      const rd_kafka_resp_err_t err = rd_kafka_producev(
          rk_, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(RD_KAFKA_PARTITION_UA),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_VALUE(value_.data(), value_.size()),
          RD_KAFKA_V_KEY(key_buf_.empty() ? nullptr : key_buf_.data(), key_buf_.size()),
          RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {  // the headers now belong to the message
        ++in_flight_;
        c_.bytes->add(value_.size());
        return;
      }
      rd_kafka_headers_destroy(hdrs);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        // Reports waiting to be served still hold their messages' room: serve
        // them once per batch and try again, then drop.
        if (!retried_) {
          retried_ = true;
          rd_kafka_poll(rk_, 0);
          continue;
        }
        c_.queue_full->add();
        complain("queue_full",
                 "librdkafka's queue is full (max_queue, max_queue_size): dropping messages, "
                 "counted in dropped_queue_full" +
                     (last_error_.empty() ? std::string() : "; last error: " + last_error_));
        return;
      }
      c_.produce_failed->add();
      complain(std::string("produce:") + rd_kafka_err2name(err), "cannot produce to '" + topic_names_[t] +
                                                                     "': " + rd_kafka_err2str(err) +
                                                                     " (counted in produce_failed)");
      return;
    }
  }

  // Logged at once the first time, then at most every kLogInterval per `what`.
  void complain(const std::string& what, const std::string& text, LogLevel level = LogLevel::warning) {
    Limit& l = limits_[what];
    const auto now = Clock::now();
    if (l.logged && now - l.last < kLogInterval) {
      ++l.suppressed;
      return;
    }
    std::string line = text;
    if (l.suppressed) line += " (" + std::to_string(l.suppressed) + " more since the last report)";
    ctx_->log(level, line);
    l.logged = true;
    l.last = now;
    l.suppressed = 0;
  }

  static KafkaSink* self(rd_kafka_t* rk) { return static_cast<KafkaSink*>(rd_kafka_opaque(rk)); }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* s = static_cast<KafkaSink*>(opaque);
    if (s->ignore_reports_) return;
    if (s->in_flight_ > 0) --s->in_flight_;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      s->c_.delivered->add();
    } else if (m->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE || m->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT) {
      s->c_.at_exit->add();
    } else {
      s->c_.failed->add();
      s->last_error_ = rd_kafka_err2str(m->err);
      s->complain(std::string("delivery:") + rd_kafka_err2name(m->err),
                  std::string("delivery to '") + rd_kafka_topic_name(m->rkt) +
                      "' failed: " + rd_kafka_err2str(m->err) + " (counted in delivery_failed)");
    }
  }

  static void on_error(rd_kafka_t* rk, int err, const char* reason, void*) {
    KafkaSink* s = self(rk);
    if (s->ignore_reports_) return;
    s->c_.client_errors->add();
    s->last_error_ = reason;
    const auto e = static_cast<rd_kafka_resp_err_t>(err);
    s->complain(std::string("error:") + rd_kafka_err2name(e), std::string("librdkafka: ") + reason);
  }

  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
    KafkaSink* s = self(const_cast<rd_kafka_t*>(rk));
    if (s->ignore_reports_) return;
    // Connection failures also come to on_error, which rate-limits them; the
    // rest of librdkafka's chatter only when the `debug` property asks for it.
    if (level <= 4 && std::strcmp(fac, "FAIL") != 0)
      s->complain(std::string("log:") + fac, std::string("librdkafka: ") + buf,
                  level <= 3 ? LogLevel::error : LogLevel::warning);
    else if (s->debug_)
      s->ctx_->log(LogLevel::debug, std::string("librdkafka ") + fac + ": " + buf);
  }

  // Purges whatever is left without waiting and frees the client. After a
  // flush nothing is left; at destruction without one (an error stopped the
  // run) nothing is counted any more.
  void destroy() {
    if (rk_ == nullptr) return;
    ignore_reports_ = true;
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    for (auto& t : topics_)
      if (t) rd_kafka_topic_destroy(t), t = nullptr;
    rd_kafka_destroy(rk_);
    rk_ = nullptr;
  }

  struct Limit {
    bool logged = false;
    Clock::time_point last{};
    std::uint64_t suppressed = 0;
  };

  struct {
    Counter *flows, *skype, *events, *histograms, *interim, *other, *delivered, *failed, *queue_full,
        *produce_failed, *at_exit, *bytes, *client_errors;
  } c_{};
  Context* ctx_ = nullptr;
  rd_kafka_t* rk_ = nullptr;
  std::array<rd_kafka_topic_t*, kTopics> topics_{};
  std::array<std::string, kTopics> topic_names_;
  std::string brokers_, probe_;
  KeyMode key_ = KeyMode::tuple;
  unsigned mask_ = logs::kDefaultMask;
  bool interim_ = false, debug_ = false;
  int flush_timeout_ms_ = 10000;
  std::array<std::vector<std::string_view>, logs::kKinds> names_;
  std::string value_, key_buf_;  // reused for every message
  std::uint64_t in_flight_ = 0;  // queued, report not served yet
  bool retried_ = false;         // this batch already served reports for room
  bool ignore_reports_ = false;
  std::string last_error_;
  std::map<std::string, Limit> limits_;
};

}  // namespace
}  // namespace netloom::blocks

NETLOOM_PLUGIN(netloom::blocks::KafkaSink)
