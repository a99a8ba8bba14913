#include "ipfix_source.hpp"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "ipfix_flow.hpp"

namespace netloom::ipfix {

namespace {
constexpr int kPollMs = 20;                   // longest wait in produce(): a stop is seen this fast
constexpr std::size_t kReadBudget = 1 << 20;  // bytes read per connection per produce() call
constexpr std::size_t kMaxUnknownNotes = 1000;
constexpr std::size_t kMaxExporters = 4096;  // exporters remembered by name
const std::string kOthers = "(other exporters)";
}  // namespace

BlockInfo IPFIXSource::info() {
  BlockInfo i;
  i.type = "IPFIXSource";
  i.summary = "collects IPFIX (RFC 7011) from other probes over UDP and/or TCP and emits their flows";
  i.description =
      "Listens on `listen` (UDP, TCP or both on the same port) and decodes IPFIX messages from any number "
      "of exporters: templates are kept per exporter (transport session) and observation domain, "
      "withdrawn over TCP, forgotten over UDP when not refreshed within `template_lifetime`. Data records "
      "become FlowRecords: 5-tuple, counters (forward = client; RFC 5103 reverse elements = server), "
      "times from the standard elements; labels, RTT, flags and per-direction times from netloom's "
      "enterprise elements when the exporter is netloom. Unknown elements are skipped; malformed messages "
      "are counted and logged with the exporter's address, never fatal. Runs until the runtime stops it, "
      "or `idle_exit` after the last message. See docs/ipfix.md.";
  i.outputs = {out<FlowBatch>("flows", "the decoded flow records, in arrival order")};
  i.params = {
      param<std::string>(
          "listen", "127.0.0.1:4739",
          "address and port to listen on, host:port or [IPv6]:port (0.0.0.0: every interface)"),
      param<std::string>("transport", "udp", "udp, tcp, or both (the same port)")
          .one_of({"udp", "tcp", "both"}),
      duration("template_lifetime", "1800s",
               "UDP: a template not refreshed within this long is forgotten (RFC 7011 §8.4)"),
      param<std::int64_t>("max_connections", 64, "TCP: exporters connected at once; more are refused")
          .range(1, 4096),
      size("receive_buffer", "4MiB", "socket receive buffer (UDP: datagrams waiting while busy)")
          .range(64 * 1024.0, 1024.0 * 1024 * 1024),
      duration("idle_exit", "0",
               "end the stream when nothing arrived for this long after the first message (0: run until "
               "stopped)"),
  };
  i.counters = {
      {"messages", "IPFIX messages received (well-formed or not)"},
      {"records", "flow records emitted"},
      {"templates", "template records received"},
      {"withdrawals", "template withdrawals received (TCP)"},
      {"malformed", "malformed messages or TCP streams (logged with the exporter)"},
      {"unknown_template", "data sets skipped: their template was not (yet) received"},
      {"lost_records", "records the exporters' sequence numbers say never arrived"},
      {"options_records", "options template data records (skipped)"},
      {"skipped_fields", "fields of information elements netloom does not use"},
      {"not_flows", "data records without IP addresses (not flows)"},
      {"exporters", "exporters (transport sessions) seen"},
      {"connections", "TCP connections accepted"},
      {"rejected", "TCP connections refused: max_connections reached"},
  };
  i.threading = Threading::serial;
  return i;
}

IPFIXSource::~IPFIXSource() {
  for (Conn& c : conns_)
    if (c.fd >= 0) ::close(c.fd);
  if (udp_fd_ >= 0) ::close(udp_fd_);
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
}

void IPFIXSource::configure(const Params& p, Context& ctx) {
  ctx_ = &ctx;
  listen_text_ = p.get_string("listen");
  const std::string& t = p.get_string("transport");
  udp_ = t != "tcp";
  tcp_ = t != "udp";
  max_conns_ = static_cast<std::size_t>(p.get_int("max_connections"));
  idle_exit_ = std::chrono::nanoseconds(p.get_duration_ns("idle_exit"));
  Decoder::Options o;
  o.template_lifetime = std::chrono::nanoseconds(p.get_duration_ns("template_lifetime"));
  if (o.template_lifetime.count() <= 0) throw ConfigError("parameter 'template_lifetime' must be positive");
  decoder_ = Decoder(o);
  decoder_.on_unknown = [this](std::string_view session, std::uint32_t domain, std::uint16_t id) {
    if (unknown_noted_.size() >= kMaxUnknownNotes) return;
    if (!unknown_noted_.emplace(std::string(session), domain, id).second) return;
    ctx_->log(LogLevel::info, "exporter " + std::string(session) + " domain " + std::to_string(domain) +
                                  ": data set for template " + std::to_string(id) +
                                  " it has not sent (yet): skipped until the template arrives");
  };
  const int rcvbuf = static_cast<int>(std::min<std::int64_t>(p.get_size("receive_buffer"), 1 << 30));
  batch_size_ = std::max<std::size_t>(1, ctx.batch_size());

  c_.messages = &ctx.counter("messages");
  c_.records = &ctx.counter("records");
  c_.templates = &ctx.counter("templates");
  c_.withdrawals = &ctx.counter("withdrawals");
  c_.malformed = &ctx.counter("malformed");
  c_.unknown = &ctx.counter("unknown_template");
  c_.lost = &ctx.counter("lost_records");
  c_.options = &ctx.counter("options_records");
  c_.skipped = &ctx.counter("skipped_fields");
  c_.not_flows = &ctx.counter("not_flows");
  c_.exporters = &ctx.counter("exporters");
  c_.connections = &ctx.counter("connections");
  c_.rejected = &ctx.counter("rejected");

  const Endpoint ep = parse_endpoint(listen_text_, "listen");
  auto open = [&](int type) {
    const SockAddr a = resolve(ep, type, "listen", true);
    const int fd = ::socket(a.family(), type, 0);
    const char* name = type == SOCK_DGRAM ? "udp" : "tcp";
    if (fd < 0)
      throw ConfigError(std::string("cannot create a ") + name + " socket: " + std::strerror(errno));
    set_nonblocking(fd);
    int one = 1;
    if (type == SOCK_STREAM) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (::bind(fd, a.sa(), a.len) != 0 || (type == SOCK_STREAM && ::listen(fd, 64) != 0)) {
      const int e = errno;
      ::close(fd);
      throw ConfigError("parameter 'listen': cannot listen on " + listen_text_ + " (" + name +
                        "): " + std::strerror(e));
    }
    return fd;
  };
  if (udp_) udp_fd_ = open(SOCK_DGRAM);
  if (tcp_) tcp_fd_ = open(SOCK_STREAM);
  dgram_.resize(65536);
}

void IPFIXSource::malformed(const std::string& session, const std::string& what) {
  ++malformed_;
  c_.malformed->add();
  // Per exporter, for the log and the summary; a flood of spoofed sources
  // is folded into one line.
  const std::string& who =
      malformed_by_.size() < kMaxExporters || malformed_by_.count(session) ? session : kOthers;
  const std::uint64_t n = ++malformed_by_[who];
  if (n <= 10 || n % 1000 == 0)
    ctx_->log(LogLevel::warning, "malformed IPFIX from " + session + ": " + what +
                                     (n == 10 ? " (further such lines from it every 1000th)" : ""));
}

void IPFIXSource::decode(const std::string& session, bool udp, const std::uint8_t* data, std::size_t len) {
  ++raw_messages_;
  last_message_ = Clock::now();
  any_message_ = true;
  if (exporters_.size() < kMaxExporters && exporters_.insert(session).second) {
    c_.exporters->set(exporters_.size());
    ctx_->log(LogLevel::info, "new exporter " + session);
  }
  try {
    decoder_.decode(session, udp, data, len, [this](const Template& t, const std::vector<Value>& v) {
      if (!batch_) {
        batch_ = std::make_shared<FlowBatch>();
        batch_->records.reserve(batch_size_);
      }
      FlowRecord r;
      if (!flow_from_record(t, v, r, &skipped_fields_)) {
        ++not_flows_;
        return;
      }
      r.id = next_id_++;
      if (r.last_ns > clock_ns_) clock_ns_ = r.last_ns;
      batch_->records.push_back(std::move(r));
    });
  } catch (const DecodeError& e) {
    malformed(session, e.what());
  }
}

void IPFIXSource::read_udp() {
  for (int i = 0; i < 1024; ++i) {
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    const ssize_t n = ::recvfrom(udp_fd_, dgram_.data(), dgram_.size(), MSG_DONTWAIT | MSG_TRUNC,
                                 reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;  // EAGAIN, or an error nothing can be done about
    }
    const std::string session = "udp " + addr_text(reinterpret_cast<sockaddr*>(&from));
    if (static_cast<std::size_t>(n) > dgram_.size()) {
      ++raw_messages_;
      malformed(session, "datagram of " + std::to_string(n) + " bytes, larger than any IPFIX message");
      continue;
    }
    decode(session, true, dgram_.data(), static_cast<std::size_t>(n));
    if (batch_ && batch_->records.size() >= batch_size_) return;
  }
}

void IPFIXSource::accept_tcp() {
  for (;;) {
    sockaddr_storage from{};
    socklen_t flen = sizeof from;
    const int fd = ::accept(tcp_fd_, reinterpret_cast<sockaddr*>(&from), &flen);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;
    }
    const std::string peer = addr_text(reinterpret_cast<sockaddr*>(&from));
    if (conns_.size() >= max_conns_) {
      ::close(fd);
      c_.rejected->add();
      ctx_->log(LogLevel::warning, "refused tcp connection from " + peer + ": max_connections (" +
                                       std::to_string(max_conns_) + ") reached");
      continue;
    }
    set_nonblocking(fd);
    c_.connections->add();
    conns_.push_back(Conn{fd, "tcp " + peer, {}});
  }
}

void IPFIXSource::close_conn(Conn& c, const char* why) {
  if (!c.buf.empty() && why == nullptr)
    malformed(c.session,
              "connection closed in the middle of a message (" + std::to_string(c.buf.size()) + " bytes)");
  if (why) ctx_->log(LogLevel::info, "closing " + c.session + ": " + why);
  ::close(c.fd);
  c.fd = -1;
  decoder_.end_session(c.session);
}

bool IPFIXSource::read_conn(Conn& c) {
  std::size_t budget = kReadBudget;
  std::uint8_t tmp[65536];
  while (budget > 0) {
    const ssize_t n = ::recv(c.fd, tmp, sizeof tmp, MSG_DONTWAIT);
    if (n == 0) {
      close_conn(c, nullptr);
      return false;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      close_conn(c, std::strerror(errno));
      return false;
    }
    budget -= std::min(budget, static_cast<std::size_t>(n));
    c.buf.insert(c.buf.end(), tmp, tmp + n);
    // Whole messages out of the stream; a bad header loses the framing.
    std::size_t off = 0;
    while (c.buf.size() - off >= kMessageHeaderLen) {
      const std::uint8_t* m = c.buf.data() + off;
      const std::uint16_t version = static_cast<std::uint16_t>(m[0] << 8 | m[1]);
      const std::uint16_t length = static_cast<std::uint16_t>(m[2] << 8 | m[3]);
      if (version != kVersion || length < kMessageHeaderLen) {
        ++raw_messages_;
        malformed(c.session,
                  version != kVersion
                      ? "version " + std::to_string(version) + ", not IPFIX (10): stream closed"
                      : "message length " + std::to_string(length) + " below its header: stream closed");
        c.buf.clear();
        close_conn(c, "the stream cannot be framed any more");
        return false;
      }
      if (c.buf.size() - off < length) break;
      decode(c.session, false, m, length);
      off += length;
    }
    c.buf.erase(c.buf.begin(), c.buf.begin() + static_cast<std::ptrdiff_t>(off));
    if (batch_ && batch_->records.size() >= batch_size_) break;
  }
  return true;
}

void IPFIXSource::sync_counters() {
  const auto& s = decoder_.stats();
  c_.messages->set(raw_messages_);
  c_.records->set(next_id_);
  c_.templates->set(s.templates);
  c_.withdrawals->set(s.withdrawals);
  c_.unknown->set(s.unknown_template_sets);
  c_.lost->set(s.lost_records);
  c_.options->set(s.options_records);
  c_.skipped->set(skipped_fields_);
  c_.not_flows->set(not_flows_);
}

void IPFIXSource::emit_batch(Emit& emit) {
  if (!batch_ || batch_->records.empty()) return;
  batch_->clock_ns = clock_ns_;
  emit(0, std::move(batch_));
  batch_.reset();
}

SourceStatus IPFIXSource::finish() {
  if (finished_) return SourceStatus::done;
  finished_ = true;
  for (Conn& c : conns_)
    if (c.fd >= 0) close_conn(c, "end of stream");
  conns_.clear();
  if (udp_fd_ >= 0) ::close(udp_fd_);
  if (tcp_fd_ >= 0) ::close(tcp_fd_);
  udp_fd_ = tcp_fd_ = -1;
  sync_counters();
  return SourceStatus::done;
}

SourceStatus IPFIXSource::produce(Emit& emit) {
  if (finished_) return SourceStatus::done;
  if (ctx_->stopping()) return finish();
  std::vector<pollfd> fds;
  fds.reserve(2 + conns_.size());
  if (udp_fd_ >= 0) fds.push_back({udp_fd_, POLLIN, 0});
  if (tcp_fd_ >= 0) fds.push_back({tcp_fd_, POLLIN, 0});
  for (const Conn& c : conns_) fds.push_back({c.fd, POLLIN, 0});
  const std::uint64_t before = raw_messages_;
  const int rc = ::poll(fds.data(), fds.size(), kPollMs);  // EINTR: a stop request woke us
  if (rc > 0) {
    std::size_t i = 0;
    if (udp_fd_ >= 0 && (fds[i++].revents & (POLLIN | POLLERR))) read_udp();
    if (tcp_fd_ >= 0 && (fds[i++].revents & POLLIN)) accept_tcp();
    const std::size_t first_conn = i;
    for (std::size_t k = 0; k < fds.size() - first_conn && k < conns_.size(); ++k) {
      Conn& c = conns_[k];
      if (c.fd >= 0 && fds[first_conn + k].revents) read_conn(c);
    }
    conns_.erase(std::remove_if(conns_.begin(), conns_.end(), [](const Conn& c) { return c.fd < 0; }),
                 conns_.end());
  }
  const bool got = raw_messages_ != before;
  const auto now = Clock::now();
  if (now - last_expire_ >= std::chrono::seconds(10)) {
    decoder_.expire(now);
    last_expire_ = now;
  }
  sync_counters();
  const bool full = batch_ && batch_->records.size() >= batch_size_;
  emit_batch(emit);
  if (!got && idle_exit_.count() > 0 && any_message_ && now - last_message_ >= idle_exit_) return finish();
  return got || full ? SourceStatus::more : SourceStatus::idle;
}

std::string IPFIXSource::summary() const {
  std::string s = std::to_string(c_.records ? c_.records->value() : 0) + " records from " +
                  std::to_string(exporters_.size()) + " exporter(s) on " + listen_text_;
  if (malformed_) {
    s += "; malformed: " + std::to_string(malformed_) + " (";
    int shown = 0;
    for (const auto& [who, n] : malformed_by_) {
      if (shown++ == 5) {
        s += ", ...";
        break;
      }
      if (shown > 1) s += ", ";
      s += who + ": " + std::to_string(n);
    }
    s += ")";
  }
  if (decoder_.stats().lost_records) s += "; " + std::to_string(decoder_.stats().lost_records) + " lost";
  return s;
}

}  // namespace netloom::ipfix
