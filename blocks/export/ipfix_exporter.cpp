#include "ipfix_exporter.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <thread>

#include "ipfix_flow.hpp"

namespace netloom::ipfix {

namespace {
std::string secs_text(std::chrono::nanoseconds d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f s", std::chrono::duration<double>(d).count());
  return b;
}
}  // namespace

BlockInfo IPFIXExporter::info() {
  BlockInfo i;
  i.type = "IPFIXExporter";
  i.summary = "exports flow records as IPFIX (RFC 7011) to a collector over UDP or TCP";
  i.description =
      "Each closed flow becomes one biflow data record (RFC 5103: forward = client to server, reverse "
      "counters with PEN 29305): the 5-tuple, per-direction octets and packets (Tstat's payload bytes), "
      "start/end times in ms and ns, flowEndReason, tcpControlBits, plus netloom's enterprise elements "
      "(application label, Tstat codes, RTT, internal/crypto flags, per-direction times). Four templates: "
      "TCP and UDP, each for IPv4 and IPv6. UDP: templates resent every `template_refresh` and/or every "
      "`template_refresh_messages` messages; TCP: sent once per connection, reconnecting with backoff. "
      "Never blocks: records that cannot be sent at once (UDP) or queued (TCP, up to `queue`) are counted "
      "in `dropped`. Interim records are skipped (their counters are totals, not deltas). See docs/ipfix.md.";
  i.inputs = {in<FlowBatch>("flows", "flow records (a tracker's or classifier's `records` port)")};
  i.params = {
      required_param("collector", ParamType::string, "collector address, host:port or [IPv6]:port"),
      param<std::string>("transport", "udp", "udp or tcp").one_of({"udp", "tcp"}),
      param<std::int64_t>("observation_domain", 0, "observation domain ID in every message header")
          .range(0, 4294967295.0),
      duration("template_refresh", "60s",
               "UDP: resend the templates when this much time has passed since they were last sent (0: "
               "not by time)"),
      param<std::int64_t>("template_refresh_messages", 0,
                          "UDP: also resend the templates before every this many data messages (0: not by "
                          "count)")
          .range(0, 1e9),
      size("max_message", "1400", "largest message in bytes (UDP: one datagram)").range(1100, 65535),
      size("queue", "4MiB", "TCP: bytes of messages held while connecting or while the socket is full")
          .range(0, 1024.0 * 1024 * 1024),
      duration("reconnect_min", "100ms", "TCP: first wait before reconnecting; doubles on each failure"),
      duration("reconnect_max", "30s", "TCP: longest wait between reconnection attempts"),
      duration("linger", "2s", "TCP: at the end of the stream, how long to wait for queued messages to go"),
  };
  i.counters = {
      {"records_exported", "data records handed to the socket"},
      {"messages_sent", "IPFIX messages handed to the socket (data and template messages)"},
      {"templates_sent", "template records sent"},
      {"send_errors", "failed sends and failed or lost TCP connections"},
      {"dropped", "records not exported: the socket would block, the send failed or the TCP queue was full"},
      {"skipped", "interim records (not exported: their counters are not deltas)"},
      {"bytes_sent", "bytes handed to the socket"},
      {"connections", "TCP connections established"},
  };
  i.threading = Threading::serial;
  return i;
}

IPFIXExporter::~IPFIXExporter() { close_fd(); }

void IPFIXExporter::configure(const Params& p, Context& ctx) {
  ctx_ = &ctx;
  tcp_ = p.get_string("transport") == "tcp";
  collector_text_ = p.get_string("collector");
  const Endpoint ep = parse_endpoint(collector_text_, "collector");
  addr_ = resolve(ep, tcp_ ? SOCK_STREAM : SOCK_DGRAM, "collector");
  domain_ = static_cast<std::uint32_t>(p.get_int("observation_domain"));
  refresh_ = std::chrono::nanoseconds(p.get_duration_ns("template_refresh"));
  refresh_messages_ = static_cast<std::uint64_t>(p.get_int("template_refresh_messages"));
  max_message_ = static_cast<std::size_t>(p.get_size("max_message"));
  queue_limit_ = static_cast<std::size_t>(p.get_size("queue"));
  reconnect_min_ = std::chrono::nanoseconds(p.get_duration_ns("reconnect_min"));
  reconnect_max_ = std::chrono::nanoseconds(p.get_duration_ns("reconnect_max"));
  linger_ = std::chrono::nanoseconds(p.get_duration_ns("linger"));
  if (!tcp_ && refresh_.count() == 0 && refresh_messages_ == 0)
    throw ConfigError(
        "over UDP set 'template_refresh' or 'template_refresh_messages': RFC 7011 §8.4 has the templates "
        "resent periodically");
  if (!tcp_ && max_message_ > 65507)
    throw ConfigError("parameter 'max_message': a UDP datagram holds at most 65507 bytes");
  if (tcp_ && reconnect_min_.count() <= 0) throw ConfigError("parameter 'reconnect_min' must be positive");
  if (tcp_ && reconnect_max_ < reconnect_min_)
    throw ConfigError("parameter 'reconnect_max' must be at least 'reconnect_min'");
  backoff_ = reconnect_min_;

  c_.exported = &ctx.counter("records_exported");
  c_.messages = &ctx.counter("messages_sent");
  c_.templates = &ctx.counter("templates_sent");
  c_.errors = &ctx.counter("send_errors");
  c_.dropped = &ctx.counter("dropped");
  c_.skipped = &ctx.counter("skipped");
  c_.bytes = &ctx.counter("bytes_sent");
  c_.connections = &ctx.counter("connections");

  if (!tcp_) {
    fd_ = ::socket(addr_.family(), SOCK_DGRAM, 0);
    if (fd_ < 0) throw ConfigError(std::string("cannot create a UDP socket: ") + std::strerror(errno));
    set_nonblocking(fd_);
    int sndbuf = 1 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    // Connected: send() needs no address, and ICMP errors come back as errno.
    if (::connect(fd_, addr_.sa(), addr_.len) != 0) {
      const int e = errno;
      close_fd();
      throw ConfigError("parameter 'collector': cannot use " + collector_text_ + ": " + std::strerror(e));
    }
  } else {
    start_connect();  // connected by the time the first records close
  }
  // Packet-time tick: TCP reconnects and drains its queue even when no record comes.
  ctx.add_timer(0, 1'000'000'000ull);
}

void IPFIXExporter::note(const std::string& text) {
  ++notes_;
  last_error_ = text;
  if (notes_ <= 10 || notes_ % 1000 == 0)
    ctx_->log(LogLevel::warning, text + (notes_ == 10 ? " (further such lines every 1000th)" : ""));
}

// ---- building messages ------------------------------------------------------

Bytes IPFIXExporter::templates_message() {
  Bytes m;
  begin_message(m, static_cast<std::uint32_t>(std::time(nullptr)), sequence_, domain_);
  const std::size_t s = open_set(m, kTemplateSetId);
  for (const Template& t : export_templates()) put_template(m, t);
  close_set(m, s);
  finish_message(m);
  return m;
}

void IPFIXExporter::start_message() {
  msg_.clear();
  msg_records_ = 0;
  set_id_ = 0;
  begin_message(msg_, static_cast<std::uint32_t>(std::time(nullptr)), sequence_, domain_);
}

void IPFIXExporter::add(const FlowRecord& r) {
  const Layout l = layout_of(r);
  const auto tid = static_cast<std::uint16_t>(l);
  const std::size_t len = record_len(r, l);
  if (!msg_.empty()) {
    const std::size_t need = len + (set_id_ == tid ? 0 : kSetHeaderLen);
    if (msg_.size() + need > max_message_) finish_message_and_send();
  }
  if (msg_.empty()) start_message();
  if (set_id_ != tid) {
    if (set_id_) close_set(msg_, set_at_);
    set_at_ = open_set(msg_, tid);
    set_id_ = tid;
  }
  put_record(msg_, r, l);
  ++msg_records_;
}

void IPFIXExporter::finish_message_and_send() {
  if (msg_.empty()) return;
  if (set_id_) close_set(msg_, set_at_);
  finish_message(msg_);
  // The sequence number counts records sent before the message, lost ones
  // included: a collector sees the gap.
  sequence_ += static_cast<std::uint32_t>(msg_records_);
  if (tcp_) {
    enqueue(std::move(msg_), msg_records_);
  } else {
    const auto now = Clock::now();
    if (templates_due(now)) {
      send_udp(templates_message(), 0, export_templates().size());
    }
    send_udp(msg_, msg_records_, 0);
  }
  msg_.clear();
  msg_records_ = 0;
  set_id_ = 0;
}

// ---- UDP --------------------------------------------------------------------

bool IPFIXExporter::templates_due(Clock::time_point now) const {
  if (!templates_sent_once_) return true;
  if (refresh_.count() > 0 && now - last_templates_ >= refresh_) return true;
  return refresh_messages_ > 0 && messages_since_templates_ >= refresh_messages_;
}

void IPFIXExporter::send_udp(const Bytes& m, std::uint64_t records, std::size_t templates) {
  ssize_t n;
  do {
    n = ::send(fd_, m.data(), m.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(m.size())) {
    c_.messages->add();
    c_.bytes->add(m.size());
    c_.exported->add(records);
    if (templates) {
      c_.templates->add(templates);
      templates_sent_once_ = true;
      last_templates_ = Clock::now();
      messages_since_templates_ = 0;
    } else {
      ++messages_since_templates_;
    }
    return;
  }
  const int e = n < 0 ? errno : EMSGSIZE;
  c_.errors->add();
  c_.dropped->add(records);
  // ECONNREFUSED reports an earlier datagram the collector did not take: the
  // templates may be lost with it, so send them again with the next message.
  if (templates || e == ECONNREFUSED) templates_sent_once_ = false;
  note("send to " + collector_text_ + " (udp) failed: " + std::strerror(e) + "; " + std::to_string(records) +
       " records dropped");
}

// ---- TCP --------------------------------------------------------------------

void IPFIXExporter::close_fd() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void IPFIXExporter::enqueue(Bytes&& m, std::uint64_t records) {
  if (queue_bytes_ + m.size() > queue_limit_) {
    c_.dropped->add(records);
    note("queue to " + collector_text_ + " (tcp) is full (" +
         (state_ == State::up ? "the collector is not reading" : "not connected") +
         "): " + std::to_string(records) + " records dropped");
    pump();
    return;
  }
  queue_bytes_ += m.size();
  queue_.push_back(Pending{std::move(m), records, 0});
  pump();
}

void IPFIXExporter::start_connect() {
  fd_ = ::socket(addr_.family(), SOCK_STREAM, 0);
  if (fd_ < 0) {
    fail("cannot create a TCP socket", errno);
    return;
  }
  set_nonblocking(fd_);
  int sndbuf = 1 << 20;
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (::connect(fd_, addr_.sa(), addr_.len) == 0) {
    on_connected();
  } else if (errno == EINPROGRESS) {
    state_ = State::connecting;
  } else {
    fail("cannot connect", errno);
  }
}

void IPFIXExporter::on_connected() {
  state_ = State::up;
  backoff_ = reconnect_min_;
  c_.connections->add();
  // Templates once per connection, ahead of every queued data message.
  Bytes t = templates_message();
  queue_bytes_ += t.size();
  queue_.push_front(Pending{std::move(t), 0, export_templates().size()});
  front_sent_ = 0;
}

void IPFIXExporter::fail(const std::string& what, int err) {
  const bool was_up = state_ == State::up;
  close_fd();
  state_ = State::down;
  c_.errors->add();
  // A message cut by the failure cannot be finished on a new connection.
  if (front_sent_ > 0 && !queue_.empty()) {
    c_.dropped->add(queue_.front().records);
    queue_bytes_ -= queue_.front().bytes.size();
    queue_.pop_front();
  }
  front_sent_ = 0;
  // Unsent templates go: the next connection starts with its own.
  for (auto it = queue_.begin(); it != queue_.end();) {
    if (it->templates) {
      queue_bytes_ -= it->bytes.size();
      it = queue_.erase(it);
    } else {
      ++it;
    }
  }
  next_attempt_ = Clock::now() + backoff_;
  note((was_up ? "connection to " : "connecting to ") + collector_text_ + " (tcp): " + what + ": " +
       (err ? std::strerror(err) : "end of stream") + "; retrying in " + secs_text(backoff_));
  backoff_ = std::min(backoff_ * 2, reconnect_max_);
}

void IPFIXExporter::pump() {
  if (!tcp_) return;
  const auto now = Clock::now();
  if (state_ == State::down) {
    if (now < next_attempt_) return;
    start_connect();
  }
  if (state_ == State::connecting) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 0) <= 0) return;
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      fail("cannot connect", err);
      return;
    }
    on_connected();
  }
  if (state_ != State::up) return;  // the attempt failed at once, or is under way
  // Up. A collector sends nothing: data or EOF means it is going away.
  char junk[512];
  for (;;) {
    const ssize_t r = ::recv(fd_, junk, sizeof junk, MSG_DONTWAIT);
    if (r > 0) continue;
    if (r == 0) {
      fail("closed by the collector", 0);
      return;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      fail("receive failed", errno);
      return;
    }
    break;
  }
  while (!queue_.empty()) {
    Pending& f = queue_.front();
    const ssize_t n =
        ::send(fd_, f.bytes.data() + front_sent_, f.bytes.size() - front_sent_, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      fail("send failed", errno);
      return;
    }
    front_sent_ += static_cast<std::size_t>(n);
    c_.bytes->add(static_cast<std::uint64_t>(n));
    if (front_sent_ < f.bytes.size()) return;  // the socket is full
    c_.messages->add();
    c_.exported->add(f.records);
    c_.templates->add(f.templates);
    queue_bytes_ -= f.bytes.size();
    queue_.pop_front();
    front_sent_ = 0;
  }
}

// ---- the block --------------------------------------------------------------

void IPFIXExporter::receive(unsigned, const MessagePtr& msg, Emit&) {
  for (const FlowRecord& r : msg->as<FlowBatch>().records) {
    if (r.end == FlowEnd::interim) {
      c_.skipped->add();
      continue;
    }
    add(r);
  }
  finish_message_and_send();  // a batch's records leave with the batch
  pump();
}

void IPFIXExporter::on_timer(unsigned, std::uint64_t, Emit&) { pump(); }

void IPFIXExporter::flush(Emit&) {
  finish_message_and_send();
  if (!tcp_) return;
  const auto deadline = Clock::now() + linger_;
  for (;;) {
    pump();
    if (queue_.empty() || Clock::now() >= deadline) break;
    if (state_ != State::down) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 10);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::uint64_t left = 0;
  for (const Pending& m : queue_) left += m.records;
  if (left) {
    c_.dropped->add(left);
    ctx_->log(LogLevel::warning, std::to_string(left) + " records still queued for " + collector_text_ +
                                     " (tcp) after " + secs_text(linger_) + ": dropped");
  }
  queue_.clear();
  queue_bytes_ = 0;
  front_sent_ = 0;
  if (fd_ >= 0 && state_ == State::up) ::shutdown(fd_, SHUT_WR);  // the kernel still delivers what it holds
  close_fd();
  state_ = State::down;
}

std::string IPFIXExporter::summary() const {
  std::string s = std::to_string(c_.exported ? c_.exported->value() : 0) + " records in " +
                  std::to_string(c_.messages ? c_.messages->value() : 0) + " messages to " + collector_text_ +
                  (tcp_ ? " (tcp)" : " (udp)");
  if (c_.dropped && c_.dropped->value()) s += ", " + std::to_string(c_.dropped->value()) + " dropped";
  if (c_.errors && c_.errors->value())
    s += ", " + std::to_string(c_.errors->value()) + " send errors (last: " + last_error_ + ")";
  return s;
}

}  // namespace netloom::ipfix
