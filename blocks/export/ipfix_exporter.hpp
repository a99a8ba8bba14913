// IPFIXExporter: flow records out as IPFIX (RFC 7011) over UDP or TCP, never
// blocking the packet path. See docs/ipfix.md.
#pragma once
#include <chrono>
#include <cstdint>
#include <deque>
#include <netloom/netloom.hpp>
#include <string>

#include "ipfix_codec.hpp"
#include "ipfix_net.hpp"

namespace netloom::ipfix {

class IPFIXExporter final : public Block {
 public:
  static BlockInfo info();
  ~IPFIXExporter() override;

  void configure(const Params& p, Context& ctx) override;
  void receive(unsigned port, const MessagePtr& msg, Emit& emit) override;
  void on_timer(unsigned id, std::uint64_t now_ns, Emit& emit) override;
  void flush(Emit& emit) override;
  std::string summary() const override;

 private:
  using Clock = std::chrono::steady_clock;
  struct Pending {  // TCP: a whole message waiting for the socket
    Bytes bytes;
    std::uint64_t records = 0;
    std::size_t templates = 0;  // template records in it (a templates message)
  };

  void add(const FlowRecord& r);
  void start_message();
  void finish_message_and_send();
  Bytes templates_message();
  // UDP
  void send_udp(const Bytes& m, std::uint64_t records, std::size_t templates);
  bool templates_due(Clock::time_point now) const;
  // TCP
  void enqueue(Bytes&& m, std::uint64_t records);
  void pump();
  void start_connect();
  void on_connected();
  void fail(const std::string& what, int err);
  void close_fd();
  void note(const std::string& text);

  Context* ctx_ = nullptr;
  bool tcp_ = false;
  std::string collector_text_;
  SockAddr addr_;
  std::uint32_t domain_ = 0;
  std::size_t max_message_ = 1400, queue_limit_ = 4u << 20;
  std::chrono::nanoseconds refresh_{}, reconnect_min_{}, reconnect_max_{}, linger_{};
  std::uint64_t refresh_messages_ = 0;

  int fd_ = -1;
  enum class State { down, connecting, up } state_ = State::down;
  Clock::time_point next_attempt_{}, last_templates_{};
  std::chrono::nanoseconds backoff_{};
  bool templates_sent_once_ = false;  // UDP: templates went out at least once (since the last failure)
  std::uint64_t messages_since_templates_ = 0;

  std::uint32_t sequence_ = 0;  // data records sent so far, mod 2^32
  Bytes msg_;
  std::uint64_t msg_records_ = 0;
  std::size_t set_at_ = 0;
  std::uint16_t set_id_ = 0;  // 0: no data set open

  std::deque<Pending> queue_;
  std::size_t queue_bytes_ = 0, front_sent_ = 0;

  std::uint64_t notes_ = 0;
  std::string last_error_;
  struct {
    Counter *exported, *messages, *templates, *errors, *dropped, *skipped, *bytes, *connections;
  } c_{};
};

}  // namespace netloom::ipfix
