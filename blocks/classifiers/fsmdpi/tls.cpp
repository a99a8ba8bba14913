// TLS (Tstat SSL_HANDSHAKE / SSL_DATA): a client's first bytes that look
// like a ClientHello (TLS record 16 03 0x with handshake type 01, or an SSLv2
// ClientHello) open it; a well-formed TLS ClientHello (every length
// consistent) or the server's ServerHello decides TLS. Tstat waited for the
// ServerHello; clients whose server never answers are TLS all the same.
// Joined mid-connection, whole records decide. Each direction is followed
// through the record layer by TCP sequence number, so records split over
// segments or coalesced in one are read right; handshake messages are
// buffered (bounded, kHandshakeCap per direction) until whole. Read: SNI,
// ALPN/NPN, supported_versions, session-id/PSK/early-data/HRR bits, the
// server certificate's CN (TLS <= 1.2), and per direction the time of the
// last payload before the first Application Data record, the time of that
// record and its offset from the ISN.
#include <algorithm>
#include <vector>

#include "machine.hpp"
#include "netloom/l7.hpp"
#include "tls_cert.hpp"

namespace netloom::fsmdpi {
namespace {

constexpr std::size_t kHandshakeCap = 16 * 1024;
constexpr std::uint32_t kMaxRecord = 16384 + 2048;  // TLSCiphertext limit
enum : std::uint8_t { kCcs = 20, kAlert = 21, kHandshake = 22, kAppData = 23, kHeartbeat = 24 };
enum : std::uint8_t {
  kClientHello = 1,
  kServerHello = 2,
  kCertificate = 11,
  kServerKeyExchange = 12,
  kCertificateRequest = 13,
  kServerHelloDone = 14
};
// tls_session_stat bits (spec §3.3).
enum : std::uint8_t { kSessionId = 1, kClientPsk = 2, kEarlyData = 4, kServerPsk = 8, kRetryRequest = 16 };
// npnalpn bits (spec §3.3).
enum : std::uint8_t {
  kNpnEmpty = 1,
  kNpnHttp = 2,
  kNpnSpdy = 4,
  kNpnH2 = 8,
  kAlpnEmpty = 16,
  kAlpnHttp = 32,
  kAlpnSpdy = 64,
  kAlpnH2 = 128
};
enum : std::uint16_t {
  kExtSni = 0,
  kExtAlpn = 16,
  kExtPsk = 41,
  kExtEarlyData = 42,
  kExtVersions = 43,
  kExtNpn = 0x3374
};

// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
constexpr std::uint8_t kRetryRandom[32] = {0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C,
                                           0x02, 0x1E, 0x65, 0xB8, 0x91, 0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB,
                                           0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C};

// Bounds-checked big-endian reader; a short read clears ok and yields zeros.
struct Reader {
  const std::uint8_t* p;
  std::size_t n, i = 0;
  bool ok = true;
  std::size_t left() const { return ok ? n - i : 0; }
  bool need(std::size_t k) {
    if (!ok || n - i < k) ok = false;
    return ok;
  }
  std::uint32_t u8() { return need(1) ? p[i++] : 0; }
  std::uint32_t u16() {
    if (!need(2)) return 0;
    i += 2;
    return static_cast<std::uint32_t>(p[i - 2]) << 8 | p[i - 1];
  }
  Reader take(std::size_t k) {
    if (!need(k)) return {p, 0, 0, false};
    i += k;
    return {p + i - k, k};
  }
};

std::string hex4(std::uint32_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  return {kHex[v >> 12 & 15], kHex[v >> 8 & 15], kHex[v >> 4 & 15], kHex[v & 15]};
}

// A host name: letters, digits, '-', '.', '_'; what Tstat's SNI regex accepts.
bool host_name(Reader r) {
  if (r.n == 0 || r.n > 255) return false;
  for (std::size_t i = 0; i < r.n; ++i) {
    const std::uint8_t c = r.p[i];
    if (!is_alnum(c) && c != '-' && c != '.' && c != '_') return false;
  }
  return true;
}

// The npnalpn bit of one protocol name (http/1.x, spdy/*, h2*).
std::uint8_t proto_bit(Reader name, bool alpn) {
  const std::string_view s(reinterpret_cast<const char*>(name.p), name.n);
  if (s.starts_with("http/")) return alpn ? kAlpnHttp : kNpnHttp;
  if (s.starts_with("spdy/")) return alpn ? kAlpnSpdy : kNpnSpdy;
  if (s == "h2" || s.starts_with("h2-") || s == "h2c") return alpn ? kAlpnH2 : kNpnH2;
  return 0;
}

// ALPN: a 2-byte list length, then 1-byte-length names.
std::uint8_t alpn_bits(Reader e) {
  Reader list = e.take(e.u16());
  if (!list.ok) return 0;
  if (list.n == 0) return kAlpnEmpty;
  std::uint8_t bits = 0;
  while (list.left()) bits |= proto_bit(list.take(list.u8()), true);
  return bits;
}

// NPN: 1-byte-length names, no list length (empty from a client).
std::uint8_t npn_bits(Reader e) {
  if (e.n == 0) return kNpnEmpty;
  std::uint8_t bits = 0;
  while (e.left()) bits |= proto_bit(e.take(e.u8()), false);
  return bits;
}

// A segment that arrived ahead of a hole in the sequence space.
struct Held {
  std::uint32_t seq;
  std::uint64_t ts;
  std::vector<std::uint8_t> bytes;
};
constexpr std::size_t kHeldSegments = 8;

struct Direction {
  bool synced = false;   // next_seq is known
  bool started = false;  // the stream's first bytes were read
  bool lost = false;     // a hole or a non-TLS record: the record layer cannot be followed
  bool hs_done = false;  // nothing more to read from this side's handshake
  bool appdata = false;  // the first Application Data record was seen
  std::uint32_t next_seq = 0;
  std::uint8_t hdr[5] = {};
  std::uint8_t hdr_len = 0;
  std::uint32_t rec_left = 0;  // body bytes of the current record still to come
  std::uint8_t rec_type = 0;
  std::uint32_t rec_seq = 0;  // sequence number of the current record's first byte
  std::uint32_t records = 0;  // records read whole
  std::vector<std::uint8_t> hs;
  std::vector<Held> held;  // at most kHeldSegments, kHandshakeCap bytes
  std::size_t held_bytes = 0;
};

struct TlsData final : MachineData {
  Direction dir[2];
  bool midstream = false;  // joined mid-connection: no handshake timing to read
  bool tls13 = false;      // the server selected TLS 1.3: certificates are encrypted
};

// Reads a ClientHello body. Returns true when it is well formed: every
// length consistent and the extensions ending exactly with the message.
bool client_hello(Reader r, FlowRecord& rec) {
  L7Facts& l7 = rec.l7;
  const std::uint32_t version = r.u16();
  r.take(32);
  const std::uint32_t sid = r.u8();
  r.take(sid);
  const std::uint32_t suites = r.u16();
  r.take(suites);
  const std::uint32_t compressions = r.u8();
  r.take(compressions);
  if (!r.ok || (version >> 8) != 3 || sid > 32 || suites < 2 || suites % 2 || compressions < 1) return false;
  if (sid) l7.tls_session_stat |= kSessionId;
  std::string versions;
  Reader exts = r.take(r.left() >= 2 ? r.u16() : 0);
  bool well_formed = exts.ok && r.left() == 0;
  while (exts.left() >= 4) {
    const std::uint32_t type = exts.u16();
    Reader e = exts.take(exts.u16());
    if (!e.ok) break;
    switch (type) {
      case kExtSni: {
        Reader list = e.take(e.u16());
        while (list.left() >= 3) {
          const std::uint32_t kind = list.u8();
          Reader name = list.take(list.u16());
          if (kind == 0 && name.ok && host_name(name)) {
            if (l7.tls_sni.empty()) l7.tls_sni.assign(reinterpret_cast<const char*>(name.p), name.n);
            break;
          }
        }
        break;
      }
      case kExtAlpn:
        l7.npnalpn[0] |= alpn_bits(e);
        break;
      case kExtNpn:
        l7.npnalpn[0] |= npn_bits(e);
        break;
      case kExtPsk:
        l7.tls_session_stat |= kClientPsk;
        break;
      case kExtEarlyData:
        l7.tls_session_stat |= kEarlyData;
        break;
      case kExtVersions: {
        Reader list = e.take(e.u8());
        while (list.left() >= 2) {
          if (!versions.empty()) versions += ',';
          versions += hex4(list.u16());
        }
        break;
      }
      default:
        break;
    }
  }
  well_formed = well_formed && exts.ok && exts.left() == 0;
  if (l7.tls_version[0].empty()) l7.tls_version[0] = versions.empty() ? hex4(version) : versions;
  return well_formed;
}

// Returns false when the body is not a ServerHello at all.
bool server_hello(Reader r, TlsData& t, FlowRecord& rec) {
  L7Facts& l7 = rec.l7;
  const std::uint32_t version = r.u16();
  Reader random = r.take(32);
  r.take(r.u8());  // session id
  r.u16();         // cipher suite
  r.u8();          // compression method
  if (!r.ok || (version >> 8) != 3) return false;
  const bool retry = std::equal(random.p, random.p + 32, kRetryRandom);
  if (retry) l7.tls_session_stat |= kRetryRequest;
  std::uint32_t selected = 0;
  Reader exts = r.take(r.left() >= 2 ? r.u16() : 0);
  while (exts.left() >= 4) {
    const std::uint32_t type = exts.u16();
    Reader e = exts.take(exts.u16());
    if (!e.ok) break;
    switch (type) {
      case kExtAlpn:
        l7.npnalpn[1] |= alpn_bits(e);
        break;
      case kExtNpn:
        l7.npnalpn[1] |= npn_bits(e);
        break;
      case kExtPsk:
        l7.tls_session_stat |= kServerPsk;
        break;
      case kExtVersions:
        selected = e.u16();
        break;
      default:
        break;
    }
  }
  l7.tls_version[1] = hex4(selected ? selected : version);
  t.tls13 = !retry && selected == 0x0304;
  return true;
}

std::uint32_t u24(const std::uint8_t* p) { return static_cast<std::uint32_t>(p[0]) << 16 | p[1] << 8 | p[2]; }

// Reads the complete handshake messages buffered for one direction.
void read_handshakes(TlsData& t, unsigned d, FlowRecord& rec, Decision& out) {
  Direction& D = t.dir[d];
  std::size_t used = 0;
  while (!D.hs_done && D.hs.size() - used >= 4) {
    const std::uint8_t* m = D.hs.data() + used;
    const std::uint32_t len = u24(m + 1);
    const std::size_t avail = D.hs.size() - used - 4;
    if (d == 1 && m[0] == kCertificate && !t.tls13) {
      // The first certificate is enough: read it as soon as it is whole.
      if (len < 6 || (avail >= 6 && avail >= 6 + std::size_t{u24(m + 7)})) {
        if (len >= 6) rec.l7.tls_cn = certificate_cn(m + 10, u24(m + 7));
        D.hs_done = true;
        break;
      }
    }
    if (len > avail) break;  // the rest is still to come
    Reader body{m + 4, len};
    if (d == 0) {
      if (m[0] == kClientHello) {
        if (client_hello(body, rec) && out.con == 0) out = {l7::con::SSL, "TLS", -1};
        D.hs_done = true;  // nothing else wanted from the client
      }
    } else if (m[0] == kServerHello) {
      if (server_hello(body, t, rec) && out.con == 0) out = {l7::con::SSL, "TLS", -1};
      if (t.tls13) D.hs_done = true;  // the rest of the handshake is encrypted
    } else if (m[0] == kServerKeyExchange || m[0] == kCertificateRequest || m[0] == kServerHelloDone) {
      D.hs_done = true;  // no certificate in this handshake
    }
    used += 4 + len;
  }
  if (D.hs_done) {
    std::vector<std::uint8_t>().swap(D.hs);
  } else if (used) {
    D.hs.erase(D.hs.begin(), D.hs.begin() + static_cast<std::ptrdiff_t>(used));
  }
}

// SSLv2 ClientHello (2-byte header with the high bit set, type 01, version
// 03 0x) filling the bytes it is given.
bool sslv2_hello(const std::uint8_t* p, std::uint32_t len) {
  return len >= 11 && (p[0] & 0x80) && p[2] == 1 && p[3] == 3 && p[4] <= 3 &&
         (static_cast<std::uint32_t>(p[0] & 0x7F) << 8 | p[1]) == len - 2;
}

// Its lengths add up: cipher specs (3 bytes each), session id (0 or 16),
// challenge (16-32).
bool sslv2_well_formed(const std::uint8_t* p) {
  const std::uint32_t record = static_cast<std::uint32_t>(p[0] & 0x7F) << 8 | p[1];
  const std::uint32_t specs = p[5] << 8 | p[6], sid = p[7] << 8 | p[8], challenge = p[9] << 8 | p[10];
  return specs && specs % 3 == 0 && (sid == 0 || sid == 16) && challenge >= 16 && challenge <= 32 &&
         9 + specs + sid + challenge == record;
}

// A TLS record header: content type, version 3.0-3.4, a length within limits.
bool record_header(const std::uint8_t* p, std::uint32_t len) {
  return len >= 5 && p[0] >= kCcs && p[0] <= kAppData && p[1] == 3 && p[2] <= 4 &&
         (static_cast<std::uint32_t>(p[3]) << 8 | p[4]) <= kMaxRecord;
}

bool opens(const Segment& s) {
  // Joined mid-connection (either side may speak first): any record.
  if (s.midstream && record_header(s.data, s.len)) return true;
  if (!s.c2s()) return false;
  if (s.len >= 6 && s.data[0] == kHandshake && s.data[1] == 3 && s.data[2] <= 3 && s.data[3] <= 0x39 &&
      s.data[5] == kClientHello)
    return true;
  return sslv2_hello(s.data, s.len);
}

// Stream bytes of one direction: [seq, seq + len), received at ts.
struct Chunk {
  const std::uint8_t* data;
  std::uint32_t len, seq;
  std::uint64_t ts;
};

void lose(Direction& D) {
  D.lost = true;
  std::vector<std::uint8_t>().swap(D.hs);
  std::vector<Held>().swap(D.held);
  D.held_bytes = 0;
}

// Reads a chunk that starts at or before next_seq through the record layer.
void consume(TlsData& t, unsigned d, Chunk c, const Segment& s, FlowRecord& rec, Decision& out,
             Tally& tally) {
  Direction& D = t.dir[d];
  std::uint32_t i = 0;
  const auto behind = static_cast<std::int32_t>(D.next_seq - c.seq);
  if (behind > 0) {  // a retransmission: skip what was read already
    if (static_cast<std::uint32_t>(behind) >= c.len) return;
    i = static_cast<std::uint32_t>(behind);
  }
  D.next_seq = c.seq + c.len;
  if (!D.started) {
    D.started = true;
    if (d == 0 && sslv2_hello(c.data + i, c.len - i)) {  // no SNI or extensions in SSLv2
      const std::uint8_t* h = c.data + i;
      if (h[7] | h[8]) rec.l7.tls_session_stat |= kSessionId;
      if (rec.l7.tls_version[0].empty())
        rec.l7.tls_version[0] = hex4(static_cast<std::uint32_t>(h[3]) << 8 | h[4]);
      // A bare SSLv2 hello is what Skype's fake handshake sends: it waits for
      // a ServerHello (malformed ones are not followed at all).
      if (!sslv2_well_formed(h)) {
        lose(D);
        return;
      }
      D.hs_done = true;
      i = c.len;
    }
  }
  while (i < c.len) {
    if (D.rec_left == 0) {
      if (D.hdr_len == 0) D.rec_seq = c.seq + i;
      while (D.hdr_len < 5 && i < c.len) D.hdr[D.hdr_len++] = c.data[i++];
      if (D.hdr_len < 5) break;
      D.hdr_len = 0;
      const std::uint8_t type = D.hdr[0];
      const std::uint32_t len = static_cast<std::uint32_t>(D.hdr[3]) << 8 | D.hdr[4];
      if (type < kCcs || type > kHeartbeat || D.hdr[1] != 3 || D.hdr[2] > 4 || len > kMaxRecord) {
        lose(D);  // not a TLS record: stop following this side
        return;
      }
      D.rec_type = type;
      D.rec_left = len;
      if (len == 0) ++D.records;
      if (type == kCcs || type == kAppData) {  // what follows is encrypted
        D.hs_done = true;
        std::vector<std::uint8_t>().swap(D.hs);
      }
      if (type == kAppData && !D.appdata) {
        D.appdata = true;
        if (!t.midstream) {
          rec.l7.tls_appdata_ns[d] = c.ts;
          if (s.has_isn) rec.l7.tls_appdata_offset[d] = D.rec_seq - s.isn;
        }
      }
      continue;
    }
    const std::uint32_t take = std::min(D.rec_left, c.len - i);
    if (D.rec_type == kHandshake && !D.hs_done) {
      const std::size_t room = kHandshakeCap - D.hs.size();
      D.hs.insert(D.hs.end(), c.data + i, c.data + i + std::min<std::size_t>(take, room));
      read_handshakes(t, d, rec, out);
      if (!D.hs_done && D.hs.size() >= kHandshakeCap) {  // a message larger than the buffer
        ++tally.tls_buffer_overflows;
        D.hs_done = true;
        std::vector<std::uint8_t>().swap(D.hs);
      }
    }
    i += take;
    D.rec_left -= take;
    if (D.rec_left == 0) ++D.records;
  }
  if (!D.appdata && !t.midstream) rec.l7.tls_last_handshake_ns[d] = c.ts;
}

// Follows one direction's record layer through this segment, holding a few
// segments that arrive ahead of a hole until the hole is filled.
void records(TlsData& t, const Segment& s, FlowRecord& rec, Decision& out, Tally& tally) {
  const unsigned d = s.dir;
  Direction& D = t.dir[d];
  if (!D.synced) {
    D.synced = true;
    D.next_seq = s.has_isn ? s.isn + 1 : s.seq;
  }
  if (D.lost) {
    // Tstat's rule as a fallback: Application Data at the start of a segment.
    if (D.appdata || t.midstream) return;
    if (s.len >= 5 && s.data[0] == kAppData && s.data[1] == 3 && s.data[2] <= 4) {
      D.appdata = true;
      rec.l7.tls_appdata_ns[d] = s.ts_ns;
      if (s.has_isn) rec.l7.tls_appdata_offset[d] = s.seq - s.isn;
    } else {
      rec.l7.tls_last_handshake_ns[d] = s.ts_ns;
    }
    return;
  }
  if (static_cast<std::int32_t>(s.seq - D.next_seq) > 0) {
    if (D.held.size() < kHeldSegments && D.held_bytes + s.len <= kHandshakeCap) {
      D.held.push_back({s.seq, s.ts_ns, std::vector<std::uint8_t>(s.data, s.data + s.len)});
      D.held_bytes += s.len;
    } else {
      lose(D);
    }
    return;
  }
  consume(t, d, {s.data, s.len, s.seq, s.ts_ns}, s, rec, out, tally);
  for (bool progress = true; progress && !D.lost;) {
    progress = false;
    for (std::size_t k = 0; k < D.held.size(); ++k) {
      if (static_cast<std::int32_t>(D.held[k].seq - D.next_seq) > 0) continue;
      const Held h = std::move(D.held[k]);
      D.held.erase(D.held.begin() + static_cast<std::ptrdiff_t>(k));
      D.held_bytes -= h.bytes.size();
      consume(t, d, {h.bytes.data(), static_cast<std::uint32_t>(h.bytes.size()), h.seq, h.ts}, s, rec, out,
              tally);
      progress = true;
      break;
    }
  }
}

Step feed(Scratch& st, const Segment& s, FlowRecord& rec, Decision& out, Tally& tally) {
  if (!st.data) {
    st.data = std::make_unique<TlsData>();
    static_cast<TlsData&>(*st.data).midstream = s.midstream;
  }
  auto& t = static_cast<TlsData&>(*st.data);
  records(t, s, rec, out, tally);
  const Direction& D = t.dir[s.dir];
  // Mid-connection, whole records ending where the data ends (or two in a
  // row) are TLS: random bytes do not keep a record layer's lengths.
  if (t.midstream && st.stage == 0 && !D.lost &&
      (D.records >= 2 || (D.records == 1 && D.rec_left == 0 && D.hdr_len == 0)))
    out = {l7::con::SSL, "TLS", -1};
  if (out.con) st.stage = 1;
  const Direction &c = t.dir[0], &sv = t.dir[1];
  if (st.stage == 0) return c.lost || sv.lost ? Step::give_up : Step::more;  // not TLS records
  return (c.appdata || c.lost) && (sv.appdata || sv.lost) ? Step::done : Step::more;
}

}  // namespace

extern const TcpMachine kTlsMachine{kTls, "tls", &opens, &feed, 10};

}  // namespace netloom::fsmdpi
