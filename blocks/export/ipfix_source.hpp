// IPFIXSource: a collector. Listens on UDP and/or TCP, decodes IPFIX from any
// number of exporters and emits their flows as FlowRecords. See docs/ipfix.md.
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <netloom/netloom.hpp>
#include <set>
#include <string>
#include <vector>

#include "ipfix_codec.hpp"
#include "ipfix_net.hpp"

namespace netloom::ipfix {

class IPFIXSource final : public Block {
 public:
  static BlockInfo info();
  ~IPFIXSource() override;

  void configure(const Params& p, Context& ctx) override;
  SourceStatus produce(Emit& emit) override;
  std::string summary() const override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Conn {
    int fd = -1;
    std::string session;  // "tcp 192.0.2.1:40000"
    Bytes buf;
  };

  void read_udp();
  void accept_tcp();
  // False when the connection is to be closed.
  bool read_conn(Conn& c);
  void close_conn(Conn& c, const char* why);
  void decode(const std::string& session, bool udp, const std::uint8_t* data, std::size_t len);
  void malformed(const std::string& session, const std::string& what);
  void sync_counters();
  void emit_batch(Emit& emit);
  SourceStatus finish();

  Context* ctx_ = nullptr;
  std::string listen_text_;
  bool udp_ = true, tcp_ = false, finished_ = false;
  int udp_fd_ = -1, tcp_fd_ = -1;
  std::vector<Conn> conns_;
  std::size_t max_conns_ = 64;
  std::chrono::nanoseconds idle_exit_{};
  Clock::time_point last_message_{}, last_expire_{};
  bool any_message_ = false;

  Decoder decoder_;
  std::shared_ptr<FlowBatch> batch_;
  std::size_t batch_size_ = 256;
  std::uint64_t raw_messages_ = 0, next_id_ = 0, clock_ns_ = 0, skipped_fields_ = 0, not_flows_ = 0;
  Bytes dgram_;

  std::set<std::string> exporters_;
  std::map<std::string, std::uint64_t> malformed_by_;  // per exporter
  std::set<std::tuple<std::string, std::uint32_t, std::uint16_t>> unknown_noted_;
  std::uint64_t malformed_ = 0;
  struct {
    Counter *messages, *records, *templates, *withdrawals, *malformed, *unknown, *lost, *options, *skipped,
        *not_flows, *exporters, *connections, *rejected;
  } c_{};
};

}  // namespace netloom::ipfix
