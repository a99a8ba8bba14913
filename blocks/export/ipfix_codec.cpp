#include "ipfix_codec.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

namespace netloom::ipfix {

std::size_t Template::min_record_len() const {
  std::size_t n = 0;
  for (const Field& f : fields) n += f.length == kVarLen ? 1 : f.length;
  return n;
}

// ---- writing -------------------------------------------------------------

void put8(Bytes& b, std::uint8_t v) { b.push_back(v); }
void put16(Bytes& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
void put32(Bytes& b, std::uint32_t v) {
  put16(b, static_cast<std::uint16_t>(v >> 16));
  put16(b, static_cast<std::uint16_t>(v));
}
void put64(Bytes& b, std::uint64_t v) {
  put32(b, static_cast<std::uint32_t>(v >> 32));
  put32(b, static_cast<std::uint32_t>(v));
}
void put_f64(Bytes& b, double v) {
  std::uint64_t u;
  static_assert(sizeof u == sizeof v);
  std::memcpy(&u, &v, sizeof u);
  put64(b, u);
}
void put_varlen(Bytes& b, std::string_view v) {
  if (v.size() > 65535) v = v.substr(0, 65535);
  if (v.size() < 255) {
    put8(b, static_cast<std::uint8_t>(v.size()));
  } else {
    put8(b, 255);
    put16(b, static_cast<std::uint16_t>(v.size()));
  }
  b.insert(b.end(), v.begin(), v.end());
}

namespace {
constexpr std::uint64_t kNtpEpochOffset = 2208988800ull;  // 1900-01-01 to 1970-01-01, s
constexpr std::uint64_t kNsPerS = 1'000'000'000ull;
}  // namespace

std::uint64_t ns_to_ntp(std::uint64_t ns) {
  const std::uint64_t s = ns / kNsPerS + kNtpEpochOffset;
  const std::uint64_t rem = ns % kNsPerS;
  // ceil(rem * 2^32 / 1e9): rem < 1e9 < 2^30, so rem << 32 fits in 64 bits.
  std::uint64_t frac = ((rem << 32) + kNsPerS - 1) / kNsPerS;
  return (s << 32) | (frac & 0xffffffffull);
}

std::uint64_t ntp_to_ns(std::uint64_t ntp) {
  std::uint64_t s = ntp >> 32;
  const std::uint64_t frac = ntp & 0xffffffffull;
  // NTP seconds wrap in 2036 (RFC 5905 eras); nothing a probe reports is
  // before 1970, so a value below 1970 is read as the next era.
  if (s < kNtpEpochOffset) s += 1ull << 32;
  // floor(frac * 1e9 / 2^32); frac < 2^32 and 1e9 < 2^30: fits in 64 bits.
  return (s - kNtpEpochOffset) * kNsPerS + ((frac * kNsPerS) >> 32);
}

void begin_message(Bytes& b, std::uint32_t export_time, std::uint32_t sequence, std::uint32_t domain) {
  put16(b, kVersion);
  put16(b, 0);  // length, see finish_message
  put32(b, export_time);
  put32(b, sequence);
  put32(b, domain);
}

void finish_message(Bytes& b, std::size_t start) {
  const std::size_t len = b.size() - start;
  b[start + 2] = static_cast<std::uint8_t>(len >> 8);
  b[start + 3] = static_cast<std::uint8_t>(len);
}

std::size_t open_set(Bytes& b, std::uint16_t set_id) {
  const std::size_t at = b.size();
  put16(b, set_id);
  put16(b, 0);
  return at;
}

void close_set(Bytes& b, std::size_t at) {
  const std::size_t len = b.size() - at;
  b[at + 2] = static_cast<std::uint8_t>(len >> 8);
  b[at + 3] = static_cast<std::uint8_t>(len);
}

void put_template(Bytes& b, const Template& t) {
  put16(b, t.id);
  put16(b, static_cast<std::uint16_t>(t.fields.size()));
  if (t.scope_count) put16(b, t.scope_count);
  for (const Field& f : t.fields) {
    put16(b, static_cast<std::uint16_t>(f.id | (f.pen ? kEnterpriseBit : 0)));
    put16(b, f.length);
    if (f.pen) put32(b, f.pen);
  }
}

std::size_t template_record_len(const Template& t) {
  std::size_t n = t.scope_count ? 6 : 4;
  for (const Field& f : t.fields) n += f.pen ? 8 : 4;
  return n;
}

// ---- reading -------------------------------------------------------------

void Cursor::need(std::size_t n) const {
  if (n > left())
    throw DecodeError("needs " + std::to_string(n) + " bytes at offset " + std::to_string(off_) + ", has " +
                      std::to_string(left()));
}
std::uint8_t Cursor::u8() {
  need(1);
  return p_[off_++];
}
std::uint16_t Cursor::u16() {
  need(2);
  const std::uint16_t v = static_cast<std::uint16_t>(p_[off_] << 8 | p_[off_ + 1]);
  off_ += 2;
  return v;
}
std::uint32_t Cursor::u32() {
  const std::uint32_t hi = u16();
  return hi << 16 | u16();
}
std::uint64_t Cursor::u64() {
  const std::uint64_t hi = u32();
  return hi << 32 | u32();
}
const std::uint8_t* Cursor::take(std::size_t n) {
  need(n);
  const std::uint8_t* at = p_ + off_;
  off_ += n;
  return at;
}

MessageHeader read_header(const std::uint8_t* data, std::size_t len) {
  if (len < kMessageHeaderLen)
    throw DecodeError("truncated message header: " + std::to_string(len) + " bytes, a header has 16");
  Cursor c(data, len);
  MessageHeader h;
  h.version = c.u16();
  h.length = c.u16();
  h.export_time = c.u32();
  h.sequence = c.u32();
  h.domain = c.u32();
  if (h.version != kVersion) throw DecodeError("version " + std::to_string(h.version) + ", not IPFIX (10)");
  if (h.length < kMessageHeaderLen)
    throw DecodeError("message length " + std::to_string(h.length) + " is shorter than its header");
  return h;
}

std::uint64_t as_unsigned(Value v) {
  if (v.len == 0 || v.len > 8) return 0;
  std::uint64_t x = 0;
  for (std::size_t i = 0; i < v.len; ++i) x = x << 8 | v.data[i];
  return x;
}

double as_float(Value v) {
  if (v.len == 8) {
    const std::uint64_t u = as_unsigned(v);
    double d;
    std::memcpy(&d, &u, sizeof d);
    return d;
  }
  if (v.len == 4) {
    const auto u = static_cast<std::uint32_t>(as_unsigned(v));
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
  }
  return 0;
}

std::string_view as_string(Value v) { return {reinterpret_cast<const char*>(v.data), v.len}; }

// ---- Decoder -------------------------------------------------------------

const Template* Decoder::find(std::string_view session, std::uint32_t domain, std::uint16_t id) const {
  auto it = templates_.find(Key{std::string(session), domain, id});
  return it == templates_.end() ? nullptr : &it->second.t;
}

void Decoder::end_session(std::string_view session) {
  for (auto it = templates_.begin(); it != templates_.end();)
    it = std::get<0>(it->first) == session ? templates_.erase(it) : std::next(it);
  per_session_.erase(std::string(session));
  for (auto it = next_seq_.begin(); it != next_seq_.end();)
    it = it->first.first == session ? next_seq_.erase(it) : std::next(it);
}

void Decoder::expire(Clock::time_point now) {
  for (auto it = templates_.begin(); it != templates_.end();) {
    if (it->second.udp && now - it->second.seen > opt_.template_lifetime) {
      auto held = per_session_.find(std::get<0>(it->first));
      if (held != per_session_.end() && held->second > 0 && --held->second == 0) per_session_.erase(held);
      ++stats_.templates_expired;
      it = templates_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = next_seq_.begin(); it != next_seq_.end();)
    it = per_session_.count(it->first.first) ? std::next(it) : next_seq_.erase(it);
}

void Decoder::withdraw(const std::string& session, std::uint32_t domain, bool options, std::uint16_t id) {
  const std::uint16_t all = options ? kOptionsTemplateSetId : kTemplateSetId;
  std::size_t removed = 0;
  if (id == all) {  // every template of this kind in the domain
    for (auto it = templates_.lower_bound(Key{session, domain, 0});
         it != templates_.end() && std::get<0>(it->first) == session && std::get<1>(it->first) == domain;) {
      if (it->second.options == options) {
        it = templates_.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
  } else {
    auto it = templates_.find(Key{session, domain, id});
    if (it == templates_.end() || it->second.options != options)
      throw DecodeError("withdrawal of unknown " + std::string(options ? "options " : "") + "template " +
                        std::to_string(id) + " (domain " + std::to_string(domain) + ")");
    templates_.erase(it);
    removed = 1;
  }
  stats_.withdrawals += 1;
  auto& held = per_session_[session];
  held -= std::min(held, removed);
}

void Decoder::template_set(const std::string& session, bool udp, std::uint32_t domain, bool options, Cursor c,
                           Clock::time_point now) {
  const std::uint16_t set_id = options ? kOptionsTemplateSetId : kTemplateSetId;
  const char* kind = options ? "options template" : "template";
  while (c.left() >= 4) {
    const std::uint16_t id = c.u16();
    const std::uint16_t count = c.u16();
    if (id == 0 && count == 0) {
      // Padding at the end of the set (RFC 7011 §3.3.1): zero bytes only.
      while (c.left())
        if (c.u8() != 0) throw DecodeError(std::string(kind) + " set: non-zero bytes after padding");
      break;
    }
    if (count == 0) {
      // RFC 7011 §8: a record without fields withdraws the template (ID
      // 2 or 3: every template of that kind); §8.4: never over UDP.
      if (udp)
        throw DecodeError(std::string(kind) + " " + std::to_string(id) +
                          " has no fields: a template withdrawal, which RFC 7011 forbids over UDP");
      if (id < kMinDataSetId && id != set_id)
        throw DecodeError(std::string(kind) + " withdrawal for reserved ID " + std::to_string(id));
      withdraw(session, domain, options, id);
      continue;
    }
    if (id < kMinDataSetId)
      throw DecodeError(std::string(kind) + " ID " + std::to_string(id) + " is below 256");
    std::uint16_t scope = 0;
    if (options) {
      scope = c.u16();
      if (scope == 0) throw DecodeError("options template " + std::to_string(id) + " has no scope field");
      if (scope > count)
        throw DecodeError("options template " + std::to_string(id) + " has " + std::to_string(scope) +
                          " scope fields of " + std::to_string(count));
    }
    if (count > opt_.max_fields)
      throw DecodeError(std::string(kind) + " " + std::to_string(id) + " declares " + std::to_string(count) +
                        " fields, more than the " + std::to_string(opt_.max_fields) + " accepted");
    // Each field specifier takes at least 4 bytes: check before allocating.
    if (static_cast<std::size_t>(count) * 4 > c.left())
      throw DecodeError(std::string(kind) + " " + std::to_string(id) + " declares " + std::to_string(count) +
                        " fields, its set has room for " + std::to_string(c.left() / 4));
    Template t;
    t.id = id;
    t.scope_count = scope;
    t.fields.reserve(count);
    for (std::uint16_t i = 0; i < count; ++i) {
      Field f;
      const std::uint16_t raw = c.u16();
      f.id = raw & 0x7fff;
      f.length = c.u16();
      if (raw & kEnterpriseBit) f.pen = c.u32();
      if (f.length == 0)
        throw DecodeError(std::string(kind) + " " + std::to_string(id) + ": field " + std::to_string(f.id) +
                          " has length 0");
      t.fields.push_back(f);
    }
    if (t.min_record_len() > kMaxMessageLen - kMessageHeaderLen - kSetHeaderLen)
      throw DecodeError(std::string(kind) + " " + std::to_string(id) + ": a record of " +
                        std::to_string(t.min_record_len()) + " bytes cannot fit in a message");
    Key key{session, domain, id};
    auto it = templates_.find(key);
    if (it == templates_.end()) {
      auto& held = per_session_[session];
      if (held >= opt_.max_templates)
        throw DecodeError("more than " + std::to_string(opt_.max_templates) + " templates from one exporter");
      if (templates_.size() >= opt_.max_total_templates)
        throw DecodeError("more than " + std::to_string(opt_.max_total_templates) +
                          " templates from all exporters together");
      ++held;
      templates_.emplace(std::move(key), Entry{std::move(t), options, udp, now});
    } else {
      // Redefinition (UDP refresh, or an exporter that changed it).
      it->second = Entry{std::move(t), options, udp, now};
    }
    ++stats_.templates;
  }
  // Fewer than 4 bytes left: padding.
}

void Decoder::decode(std::string_view session_view, bool udp, const std::uint8_t* data, std::size_t len,
                     const RecordFn& on_record, Clock::time_point now) {
  const MessageHeader h = read_header(data, len);
  if (h.length != len)
    throw DecodeError("message length " + std::to_string(h.length) + " but " + std::to_string(len) +
                      (udp ? " bytes in the datagram" : " bytes framed"));
  ++stats_.messages;
  const std::string session(session_view);
  Cursor c(data + kMessageHeaderLen, len - kMessageHeaderLen);
  std::uint64_t data_records = 0;
  bool countable = true;  // every data set was decoded: the sequence number can be checked
  while (c.left() > 0) {
    if (c.left() < kSetHeaderLen)
      throw DecodeError(std::to_string(c.left()) + " stray bytes after the last set");
    const std::uint16_t set_id = c.u16();
    const std::uint16_t set_len = c.u16();
    if (set_len < kSetHeaderLen)
      throw DecodeError("set " + std::to_string(set_id) + " has length " + std::to_string(set_len) +
                        ", below its 4-byte header");
    if (set_len - kSetHeaderLen > c.left())
      throw DecodeError("set " + std::to_string(set_id) + " of " + std::to_string(set_len) +
                        " bytes runs past the end of the message (" + std::to_string(c.left() + 4) +
                        " bytes left)");
    const std::uint8_t* body = c.take(set_len - kSetHeaderLen);
    Cursor sc(body, set_len - kSetHeaderLen);
    if (set_id == kTemplateSetId || set_id == kOptionsTemplateSetId) {
      template_set(session, udp, h.domain, set_id == kOptionsTemplateSetId, sc, now);
      continue;
    }
    if (set_id < kMinDataSetId) continue;  // 0, 1, 4-255: reserved, skipped
    auto it = templates_.find(Key{session, h.domain, set_id});
    if (it != templates_.end() && udp && now - it->second.seen > opt_.template_lifetime) {
      templates_.erase(it);
      auto& held = per_session_[session];
      held -= std::min<std::size_t>(held, 1);
      ++stats_.templates_expired;
      it = templates_.end();
    }
    if (it == templates_.end()) {
      ++stats_.unknown_template_sets;
      countable = false;
      if (on_unknown) on_unknown(session, h.domain, set_id);
      continue;
    }
    const Entry& e = it->second;
    const std::size_t min_len = e.t.min_record_len();
    while (sc.left() >= min_len && sc.left() > 0) {
      scratch_.clear();
      for (const Field& f : e.t.fields) {
        std::size_t n = f.length;
        if (n == kVarLen) {
          n = sc.u8();
          if (n == 255) n = sc.u16();
        }
        Value v;
        v.len = n;
        try {
          v.data = sc.take(n);
        } catch (const DecodeError&) {
          throw DecodeError("data set " + std::to_string(set_id) + ": a record is cut short (field " +
                            std::to_string(f.id) + " needs " + std::to_string(n) + " bytes, " +
                            std::to_string(sc.left()) + " left)");
        }
        scratch_.push_back(v);
      }
      ++data_records;
      if (e.options) {
        ++stats_.options_records;
      } else {
        ++stats_.records;
        on_record(e.t, scratch_);
      }
    }
    // Fewer than a record's bytes left: padding.
  }
  const auto seq_key = std::make_pair(session, h.domain);
  if (!countable) {
    next_seq_.erase(seq_key);
    return;
  }
  auto sit = next_seq_.find(seq_key);
  if (sit != next_seq_.end() && sit->second != h.sequence) {
    const std::uint32_t gap = h.sequence - sit->second;
    if (gap < 0x80000000u) stats_.lost_records += gap;  // else reordered or restarted
  }
  next_seq_[seq_key] = static_cast<std::uint32_t>(h.sequence + data_records);
}

}  // namespace netloom::ipfix
