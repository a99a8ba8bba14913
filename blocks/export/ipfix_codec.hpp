// IPFIX wire format (RFC 7011): message and set headers, (options) template
// records, data records. Writing appends big-endian values to a byte vector;
// reading goes through a Cursor that checks every read against the bytes it
// was given, since a collector parses whatever the network sends it.
//
// Decoder keeps the templates of every transport session and observation
// domain (template withdrawal over TCP, template lifetime over UDP) and hands
// each decodable data record, as one value per template field, to a callback.
#pragma once
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

namespace netloom::ipfix {

using Bytes = std::vector<std::uint8_t>;

inline constexpr std::uint16_t kVersion = 10;
inline constexpr std::size_t kMessageHeaderLen = 16;
inline constexpr std::size_t kSetHeaderLen = 4;
inline constexpr std::size_t kMaxMessageLen = 65535;
inline constexpr std::uint16_t kTemplateSetId = 2;
inline constexpr std::uint16_t kOptionsTemplateSetId = 3;
inline constexpr std::uint16_t kMinDataSetId = 256;
inline constexpr std::uint16_t kVarLen = 65535;  // field length of a variable-length IE
inline constexpr std::uint16_t kEnterpriseBit = 0x8000;
inline constexpr std::uint32_t kReversePen = 29305;  // RFC 5103 reverse information elements

// A malformed message: the text says what is wrong, for the log line.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Field {
  std::uint16_t id = 0;      // without the enterprise bit
  std::uint16_t length = 0;  // kVarLen: variable length
  std::uint32_t pen = 0;     // 0: IANA
  bool operator==(const Field&) const = default;
};

struct Template {
  std::uint16_t id = 0;
  std::uint16_t scope_count = 0;  // options templates: the first scope_count fields are scope fields
  std::vector<Field> fields;
  // Bytes of the smallest record (a variable-length field takes at least 1).
  std::size_t min_record_len() const;
  bool operator==(const Template&) const = default;
};

// ---- writing -------------------------------------------------------------

void put8(Bytes& b, std::uint8_t v);
void put16(Bytes& b, std::uint16_t v);
void put32(Bytes& b, std::uint32_t v);
void put64(Bytes& b, std::uint64_t v);
void put_f64(Bytes& b, double v);
// A variable-length value: 1-byte length below 255, else 255 + 2-byte length.
// Longer than 65535 bytes is cut there.
void put_varlen(Bytes& b, std::string_view v);
// dateTimeNanoseconds (NTP format) for ns since the Unix epoch, rounded up so
// that ntp_to_ns() gives the same ns back.
std::uint64_t ns_to_ntp(std::uint64_t ns);
std::uint64_t ntp_to_ns(std::uint64_t ntp);

// Appends a message header; finish_message() fills in its length.
void begin_message(Bytes& b, std::uint32_t export_time, std::uint32_t sequence, std::uint32_t domain);
void finish_message(Bytes& b, std::size_t message_start = 0);
// Appends a set header; close_set() fills in its length.
std::size_t open_set(Bytes& b, std::uint16_t set_id);
void close_set(Bytes& b, std::size_t set_start);
// One template record (inside a template set).
void put_template(Bytes& b, const Template& t);
std::size_t template_record_len(const Template& t);

// ---- reading -------------------------------------------------------------

// A bounds-checked reader over bytes it does not own.
class Cursor {
 public:
  Cursor(const std::uint8_t* data, std::size_t len) : p_(data), n_(len) {}
  std::size_t left() const { return n_ - off_; }
  std::size_t offset() const { return off_; }
  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::uint64_t u64();
  const std::uint8_t* take(std::size_t n);  // n bytes, or DecodeError

 private:
  void need(std::size_t n) const;
  const std::uint8_t* p_;
  std::size_t n_, off_ = 0;
};

struct MessageHeader {
  std::uint16_t version = 0, length = 0;
  std::uint32_t export_time = 0, sequence = 0, domain = 0;
};
// The header of the message at the start of `data`; checks the version and
// that the length is at least a header. Does not check `len` against it.
MessageHeader read_header(const std::uint8_t* data, std::size_t len);

// A field value inside a data record.
struct Value {
  const std::uint8_t* data = nullptr;
  std::size_t len = 0;
};
// Unsigned integers may be sent in fewer bytes than their type (RFC 7011
// §6.2, reduced-size encoding): any length 1..8 is read; longer gives 0.
std::uint64_t as_unsigned(Value v);
double as_float(Value v);  // float32 or float64; other lengths give 0
std::string_view as_string(Value v);

// Decodes messages of many exporters. Not thread-safe: one per source.
class Decoder {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    // UDP: a template not refreshed within this long is forgotten (RFC 7011 §8.4).
    std::chrono::nanoseconds template_lifetime = std::chrono::minutes(30);
    // Templates per transport session, all domains together.
    std::size_t max_templates = 4096;
    // Templates of all sessions together, and fields per template: what a
    // flood of hostile templates can make the decoder hold.
    std::size_t max_total_templates = 16384;
    std::size_t max_fields = 1024;
  };
  struct Stats {
    std::uint64_t messages = 0, records = 0, templates = 0, withdrawals = 0, options_records = 0;
    std::uint64_t unknown_template_sets = 0;  // data sets whose template is unknown (records skipped)
    std::uint64_t lost_records = 0;           // sequence number gaps
    std::uint64_t templates_expired = 0;
  };
  // A data record of a (non-options) template: one value per template field.
  using RecordFn = std::function<void(const Template&, const std::vector<Value>&)>;

  Decoder() = default;
  explicit Decoder(Options o) : opt_(o) {}

  // Called for each data set whose template the session has not sent (yet):
  // normal for a while after a UDP collector starts, until the next refresh.
  std::function<void(std::string_view session, std::uint32_t domain, std::uint16_t id)> on_unknown;

  // One whole message (`len` bytes, one UDP datagram or one framed TCP
  // message) from transport session `session` (e.g. "udp 192.0.2.1:4739").
  // Records before a malformation have been delivered when DecodeError is
  // thrown; the rest of the message is dropped.
  void decode(std::string_view session, bool udp, const std::uint8_t* data, std::size_t len,
              const RecordFn& on_record, Clock::time_point now = Clock::now());
  // A TCP session ended: its templates go with it (RFC 7011 §8).
  void end_session(std::string_view session);
  // Forgets UDP templates not refreshed within the template lifetime (and
  // the sequence state of sessions left without templates). Call now and then.
  void expire(Clock::time_point now = Clock::now());

  const Stats& stats() const { return stats_; }
  std::size_t template_count() const { return templates_.size(); }
  // The template a session and domain use for `id`, or nullptr.
  const Template* find(std::string_view session, std::uint32_t domain, std::uint16_t id) const;

 private:
  struct Entry {
    Template t;
    bool options = false;
    bool udp = false;
    Clock::time_point seen;
  };
  using Key = std::tuple<std::string, std::uint32_t, std::uint16_t>;
  void template_set(const std::string& session, bool udp, std::uint32_t domain, bool options, Cursor body,
                    Clock::time_point now);
  void withdraw(const std::string& session, std::uint32_t domain, bool options, std::uint16_t id);

  Options opt_;
  Stats stats_;
  std::map<Key, Entry, std::less<>> templates_;
  std::map<std::string, std::size_t, std::less<>> per_session_;  // templates held per session
  // Next expected sequence number per (session, domain); absent = unknown.
  std::map<std::pair<std::string, std::uint32_t>, std::uint32_t> next_seq_;
  std::vector<Value> scratch_;
};

}  // namespace netloom::ipfix
