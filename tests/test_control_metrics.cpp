// The Prometheus endpoint (MetricsServer) over real TCP on 127.0.0.1, read
// with a plain socket client so the bytes on the wire are what is checked.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <stdexcept>

#include "metrics.hpp"

using netloom::app::ControlHooks;
using netloom::app::MetricsServer;

namespace {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

HttpReply http_get(int port, const std::string& target, const std::string& method = "GET") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + " failed");
  }
  std::string req = method + " " + target +
                    " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size()))
    throw std::runtime_error("send failed");
  std::string raw;
  char buf[4096];
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);

  HttpReply r;
  auto head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) throw std::runtime_error("no HTTP header in: " + raw);
  std::string head = raw.substr(0, head_end);
  r.body = raw.substr(head_end + 4);
  std::size_t pos = head.find("\r\n");
  std::string status_line = head.substr(0, pos);  // HTTP/1.1 200 OK
  r.status = std::stoi(status_line.substr(status_line.find(' ') + 1));
  while (pos != std::string::npos) {
    std::size_t next = head.find("\r\n", pos + 2);
    std::string line = head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[lower(line.substr(0, colon))] = value;
    }
    pos = next;
  }
  return r;
}

std::vector<netloom::core::BlockStats> sample_stats() {
  netloom::core::BlockStats cap;
  cap.id = "cap";
  cap.type = "PcapSource";
  cap.outputs = {{"packets", "PacketBatch", 12, 3000, 0}};
  cap.counters = {{"kernel_dropped", 7}};
  cap.source = true, cap.in_flight = 3, cap.max_in_flight = 64, cap.backpressure_waits = 9;
  netloom::core::BlockStats trk;
  trk.id = "trk";
  trk.type = "FlowTracker";
  trk.inputs = {{"packets", "PacketBatch", 12, 3000, 0}};
  trk.outputs = {{"flows", "FlowEvent", 4, 40, 5}};
  trk.counters = {{"flows_opened", 123}};
  trk.errors = 2;
  return {cap, trk};
}

ControlHooks hooks_for(std::vector<netloom::core::BlockStats> stats) {
  ControlHooks h;
  h.stats = [stats] { return stats; };
  h.reload_counts = [] { return std::pair<std::uint64_t, std::uint64_t>{3, 1}; };
  return h;
}

}  // namespace

TEST(Metrics, ExpositionOverHttp) {
  MetricsServer server("127.0.0.1", 0, hooks_for(sample_stats()));
  ASSERT_GT(server.port(), 0);
  auto r = http_get(server.port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.headers["content-length"], std::to_string(r.body.size()));
  EXPECT_EQ(r.body,
            "# HELP netloom_block_counter A counter a block declares (netloom inspect TYPE lists them).\n"
            "# TYPE netloom_block_counter counter\n"
            "netloom_block_counter{block=\"cap\",type=\"PcapSource\",counter=\"kernel_dropped\"} 7\n"
            "netloom_block_counter{block=\"trk\",type=\"FlowTracker\",counter=\"flows_opened\"} 123\n"
            "# HELP netloom_block_errors_total Exceptions a block threw while running.\n"
            "# TYPE netloom_block_errors_total counter\n"
            "netloom_block_errors_total{block=\"cap\",type=\"PcapSource\"} 0\n"
            "netloom_block_errors_total{block=\"trk\",type=\"FlowTracker\"} 2\n"
            "# HELP netloom_port_messages_total Messages (batches) through a block's port.\n"
            "# TYPE netloom_port_messages_total counter\n"
            "netloom_port_messages_total{block=\"cap\",direction=\"out\",port=\"packets\"} 12\n"
            "netloom_port_messages_total{block=\"trk\",direction=\"in\",port=\"packets\"} 12\n"
            "netloom_port_messages_total{block=\"trk\",direction=\"out\",port=\"flows\"} 4\n"
            "# HELP netloom_port_items_total Items (packets, flows, events) through a block's port.\n"
            "# TYPE netloom_port_items_total counter\n"
            "netloom_port_items_total{block=\"cap\",direction=\"out\",port=\"packets\"} 3000\n"
            "netloom_port_items_total{block=\"trk\",direction=\"in\",port=\"packets\"} 3000\n"
            "netloom_port_items_total{block=\"trk\",direction=\"out\",port=\"flows\"} 40\n"
            "# HELP netloom_port_unconnected_items_total Items a block emitted on an output port nothing "
            "consumes.\n"
            "# TYPE netloom_port_unconnected_items_total counter\n"
            "netloom_port_unconnected_items_total{block=\"cap\",direction=\"out\",port=\"packets\"} 0\n"
            "netloom_port_unconnected_items_total{block=\"trk\",direction=\"out\",port=\"flows\"} 5\n"
            "# HELP netloom_source_batches_in_flight Batches a source emitted that consumers still hold (bounded "
            "by max-in-flight).\n"
            "# TYPE netloom_source_batches_in_flight gauge\n"
            "netloom_source_batches_in_flight{block=\"cap\",type=\"PcapSource\"} 3\n"
            "# HELP netloom_source_backpressure_waits_total Times a source waited for a free batch "
            "(back-pressure).\n"
            "# TYPE netloom_source_backpressure_waits_total counter\n"
            "netloom_source_backpressure_waits_total{block=\"cap\",type=\"PcapSource\"} 9\n"
            "# HELP netloom_reloads_total Composition reloads, applied or refused.\n"
            "# TYPE netloom_reloads_total counter\n"
            "netloom_reloads_total{result=\"applied\"} 3\n"
            "netloom_reloads_total{result=\"refused\"} 1\n");
}

TEST(Metrics, LabelValuesAreEscaped) {
  netloom::core::BlockStats b;
  b.id = "we\"ird\\id\nx";
  b.type = "T";
  b.counters = {{"c", 1}};
  MetricsServer server("127.0.0.1", 0, hooks_for({b}));
  auto r = http_get(server.port(), "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("netloom_block_counter{block=\"we\\\"ird\\\\id\\nx\",type=\"T\",counter=\"c\"} 1\n"),
            std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("netloom_block_errors_total{block=\"we\\\"ird\\\\id\\nx\",type=\"T\"} 0\n"),
            std::string::npos)
      << r.body;
}

TEST(Metrics, OtherPathsAre404) {
  MetricsServer server("127.0.0.1", 0, hooks_for(sample_stats()));
  EXPECT_EQ(http_get(server.port(), "/").status, 404);
  EXPECT_EQ(http_get(server.port(), "/metrics/x").status, 404);
  EXPECT_EQ(http_get(server.port(), "/metricsx").status, 404);
  EXPECT_EQ(http_get(server.port(), "/metrics", "POST").status, 404);
  EXPECT_EQ(http_get(server.port(), "/metrics").status, 200);  // still serving
}

TEST(Metrics, MissingHooksServeZeros) {
  MetricsServer server("127.0.0.1", 0, ControlHooks{});
  auto r = http_get(server.port(), "/metrics");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(
      r.body.find(
          "\nnetloom_reloads_total{result=\"applied\"} 0\nnetloom_reloads_total{result=\"refused\"} 0\n"),
      std::string::npos)
      << r.body;
}

TEST(Metrics, ThrowingHookIs500) {
  ControlHooks h;
  h.stats = []() -> std::vector<netloom::core::BlockStats> { throw std::runtime_error("runtime gone"); };
  MetricsServer server("127.0.0.1", 0, h);
  auto r = http_get(server.port(), "/metrics");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body, "netloom: metrics: runtime gone\n");
}

TEST(Metrics, PortInUseAndBadPortAreRefused) {
  MetricsServer first("127.0.0.1", 0, hooks_for({}));
  const std::string where = "metrics endpoint 127.0.0.1:" + std::to_string(first.port());
  try {
    MetricsServer second("127.0.0.1", first.port(), hooks_for({}));
    FAIL() << "two servers on one port";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              where + ": cannot listen (port in use, or the host is not a local address?)");
  }
  try {
    MetricsServer bad("127.0.0.1", 70000, hooks_for({}));
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "metrics endpoint 127.0.0.1:70000: port must be 0..65535");
  }
  EXPECT_EQ(http_get(first.port(), "/metrics").status, 200);
}

TEST(Metrics, StartStopQuickly) {
  // The destructor must not hang when no request ever came.
  for (int i = 0; i < 20; ++i) MetricsServer s("127.0.0.1", 0, hooks_for({}));
}
