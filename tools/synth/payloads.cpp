#include "payloads.hpp"

#include <algorithm>
#include <string_view>

namespace netloom::synth {

namespace {
constexpr uint64_t kNs = 1000000000;
}

// ---------------------------------------------------------------- HTTP

Bytes http_get(const std::string& host, const std::string& path, const std::string& user_agent) {
  std::string s =
      "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: " + user_agent +
      "\r\nAccept: text/html,application/xhtml+xml,*/*;q=0.8\r\nAccept-Language: en-US,en;q=0.5\r\n"
      "Accept-Encoding: identity\r\nConnection: keep-alive\r\n\r\n";
  return to_bytes(s);
}

Bytes http_response(Rng& rng, size_t body_len, const std::string& content_type) {
  static constexpr std::string_view words[] = {"netloom", "flow",   "packet",  "probe", "monitor", "tstat",
                                               "latency", "window", "segment", "link",  "traffic", "block"};
  std::string body = "<!DOCTYPE html>\n<html><head><title>Example</title></head><body>\n";
  while (body.size() + 16 < body_len) {
    body += "<p>";
    for (int i = 0, n = static_cast<int>(rng.range(6, 14)); i < n; ++i) {
      body += words[rng.range(0, std::size(words) - 1)];
      body += ' ';
    }
    body += "</p>\n";
  }
  body.resize(std::max<size_t>(body_len, 16) - 15, ' ');
  body += "</body></html>\n";
  std::string head =
      "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nDate: Mon, 15 Jan 2024 10:00:00 GMT\r\n"
      "Content-Type: " +
      content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: keep-alive\r\nCache-Control: max-age=3600\r\n\r\n";
  return to_bytes(head + body);
}

// ---------------------------------------------------------------- TLS

namespace {

void tls_record(Bytes& out, uint8_t type, uint16_t version, const Bytes& body) {
  put8(out, type);
  put16(out, version);
  put16(out, body.size());
  append(out, body);
}

void ext(Bytes& b, uint16_t type, const Bytes& data) {
  put16(b, type);
  put16(b, data.size());
  append(b, data);
}

}  // namespace

Bytes tls_client_hello(Rng& rng, const std::string& sni, const TlsHello& h) {
  Bytes hs;
  put8(hs, 1);  // ClientHello
  LengthPrefix hs_len(hs, 3);
  put16(hs, 0x0303);
  append(hs, rng.bytes(32));
  put8(hs, h.session_id.size());
  append(hs, h.session_id);
  const uint16_t suites[] = {0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
                             0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035};
  put16(hs, sizeof suites);
  for (uint16_t s : suites) put16(hs, s);
  put8(hs, 1);
  put8(hs, 0);  // null compression
  LengthPrefix exts_len(hs, 2);
  {  // server_name
    Bytes d;
    put16(d, sni.size() + 3);
    put8(d, 0);
    put16(d, sni.size());
    append(d, sni);
    ext(hs, 0x0000, d);
  }
  ext(hs, 0x0017, {});                                          // extended_master_secret
  ext(hs, 0xff01, {0});                                         // renegotiation_info
  ext(hs, 0x000a, {0, 8, 0, 0x1d, 0, 0x17, 0, 0x18, 0, 0x19});  // supported_groups
  ext(hs, 0x000b, {1, 0});                                      // ec_point_formats
  ext(hs, 0x0023, h.tls13 ? Bytes{} : rng.bytes(192));          // session_ticket (resumption for 1.2)
  {                                                             // ALPN
    Bytes d;
    put16(d, 12);
    put8(d, 2);
    append(d, "h2");
    put8(d, 8);
    append(d, "http/1.1");
    ext(hs, 0x0010, d);
  }
  ext(hs, 0x0005, {1, 0, 0, 0, 0});  // status_request
  {                                  // signature_algorithms
    const uint16_t algs[] = {0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601};
    Bytes d;
    put16(d, sizeof algs);
    for (uint16_t a : algs) put16(d, a);
    ext(hs, 0x000d, d);
  }
  {  // key_share: x25519
    Bytes d;
    put16(d, 36);
    put16(d, 0x001d);
    put16(d, 32);
    append(d, rng.bytes(32));
    ext(hs, 0x0033, d);
  }
  ext(hs, 0x002d, {1, 1});  // psk_key_exchange_modes: psk_dhe_ke
  if (h.tls13)
    ext(hs, 0x002b, {4, 0x03, 0x04, 0x03, 0x03});  // supported_versions
  else
    ext(hs, 0x002b, {2, 0x03, 0x03});
  exts_len.close();
  hs_len.close();
  Bytes out;
  tls_record(out, 0x16, 0x0301, hs);
  return out;
}

Bytes tls_server_flight(Rng& rng, const TlsHello& h) {
  Bytes hs;
  put8(hs, 2);  // ServerHello
  LengthPrefix hs_len(hs, 3);
  put16(hs, 0x0303);
  append(hs, rng.bytes(32));
  put8(hs, h.session_id.size());
  append(hs, h.session_id);
  put16(hs, h.tls13 ? 0x1301 : 0xc02f);
  put8(hs, 0);
  LengthPrefix exts_len(hs, 2);
  if (h.tls13) {
    ext(hs, 0x002b, {0x03, 0x04});
    Bytes d;
    put16(d, 0x001d);
    put16(d, 32);
    append(d, rng.bytes(32));
    ext(hs, 0x0033, d);
  } else {
    ext(hs, 0xff01, {0});
    ext(hs, 0x0017, {});
    ext(hs, 0x0010, {0, 3, 2, 'h', '2'});
  }
  exts_len.close();
  hs_len.close();
  Bytes out;
  tls_record(out, 0x16, 0x0303, hs);
  tls_record(out, 0x14, 0x0303, {1});  // ChangeCipherSpec
  if (h.tls13) {
    // EncryptedExtensions, Certificate, CertificateVerify, Finished: opaque application_data records.
    tls_record(out, 0x17, 0x0303, rng.bytes(static_cast<size_t>(rng.range(25, 40))));
    tls_record(out, 0x17, 0x0303, rng.bytes(static_cast<size_t>(rng.range(1800, 3000))));
    tls_record(out, 0x17, 0x0303, rng.bytes(static_cast<size_t>(rng.range(90, 280))));
    tls_record(out, 0x17, 0x0303, rng.bytes(53));
  } else {
    tls_record(out, 0x16, 0x0303, rng.bytes(40));  // encrypted Finished
  }
  return out;
}

Bytes tls_client_finish(Rng& rng, const TlsHello& h) {
  Bytes out;
  tls_record(out, 0x14, 0x0303, {1});
  if (h.tls13)
    tls_record(out, 0x17, 0x0303, rng.bytes(53));
  else
    tls_record(out, 0x16, 0x0303, rng.bytes(40));
  return out;
}

Bytes tls_app_data(Rng& rng, size_t len) {
  Bytes out;
  while (len > 0) {
    size_t n = std::min<size_t>(len, 16401);
    tls_record(out, 0x17, 0x0303, rng.bytes(n));
    len -= n;
  }
  return out;
}

// ---------------------------------------------------------------- SSH

namespace {

void ssh_string(Bytes& b, std::string_view s) {
  put32(b, s.size());
  append(b, s);
}
void ssh_string(Bytes& b, const Bytes& s) {
  put32(b, s.size());
  append(b, s);
}

// Unencrypted binary packet: length, padding length, payload, random padding (block 8).
Bytes ssh_packet(Rng& rng, const Bytes& payload) {
  size_t pad = 8 - (5 + payload.size()) % 8;
  if (pad < 4) pad += 8;
  Bytes b;
  put32(b, 1 + payload.size() + pad);
  put8(b, pad);
  append(b, payload);
  append(b, rng.bytes(pad));
  return b;
}

}  // namespace

Bytes ssh_banner(const std::string& software) { return to_bytes("SSH-2.0-" + software + "\r\n"); }

Bytes ssh_kexinit(Rng& rng, bool server) {
  Bytes p;
  put8(p, 20);
  append(p, rng.bytes(16));
  ssh_string(
      p, server ? std::string_view("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
                                   "diffie-hellman-group16-sha512,kex-strict-s-v00@openssh.com")
                : std::string_view("curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,"
                                   "diffie-hellman-group16-sha512,ext-info-c,kex-strict-c-v00@openssh.com"));
  ssh_string(p, server ? std::string_view("rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519")
                       : std::string_view("ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256"));
  for (int i = 0; i < 2; ++i)
    ssh_string(
        p,
        "chacha20-poly1305@openssh.com,aes128-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com");
  for (int i = 0; i < 2; ++i)
    ssh_string(p, "umac-64-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com");
  for (int i = 0; i < 2; ++i) ssh_string(p, "none,zlib@openssh.com");
  ssh_string(p, "");
  ssh_string(p, "");
  put8(p, 0);
  put32(p, 0);
  return ssh_packet(rng, p);
}

Bytes ssh_ecdh_init(Rng& rng) {
  Bytes p;
  put8(p, 30);
  ssh_string(p, rng.bytes(32));
  return ssh_packet(rng, p);
}

Bytes ssh_newkeys() {
  Bytes b;
  put32(b, 12);
  put8(b, 10);
  put8(b, 21);
  b.insert(b.end(), 10, 0);
  return b;
}

Bytes ssh_ecdh_reply_newkeys(Rng& rng) {
  Bytes p;
  put8(p, 31);
  Bytes key;  // K_S: ssh-ed25519 public key blob
  ssh_string(key, "ssh-ed25519");
  ssh_string(key, rng.bytes(32));
  ssh_string(p, key);
  ssh_string(p, rng.bytes(32));  // Q_S
  Bytes sig;
  ssh_string(sig, "ssh-ed25519");
  ssh_string(sig, rng.bytes(64));
  ssh_string(p, sig);
  Bytes out = ssh_packet(rng, p);
  append(out, ssh_newkeys());
  return out;
}

Bytes ssh_encrypted(Rng& rng, size_t payload_len) {
  // 4-byte (encrypted) length + padded body + 16-byte Poly1305 tag.
  size_t body = (payload_len + 1 + 4 + 7) / 8 * 8;
  return rng.bytes(4 + body + 16);
}

// ---------------------------------------------------------------- DNS

namespace {

void dns_name(Bytes& b, const std::string& name) {
  size_t start = 0;
  while (start < name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    put8(b, dot - start);
    b.insert(b.end(), name.begin() + start, name.begin() + dot);
    start = dot + 1;
  }
  put8(b, 0);
}

void dns_header_question(Bytes& b, uint16_t id, uint16_t flags, uint16_t an, bool edns,
                         const std::string& name, DnsType type) {
  put16(b, id);
  put16(b, flags);
  put16(b, 1);
  put16(b, an);
  put16(b, 0);
  put16(b, edns ? 1 : 0);
  dns_name(b, name);
  put16(b, static_cast<uint16_t>(type));
  put16(b, 1);  // IN
}

void dns_opt(Bytes& b) {
  put8(b, 0);  // root
  put16(b, 41);
  put16(b, 1232);  // UDP payload size
  put32(b, 0);
  put16(b, 0);
}

}  // namespace

Bytes dns_query(uint16_t id, const std::string& name, DnsType type, bool edns) {
  Bytes b;
  dns_header_question(b, id, 0x0100, 0, edns, name, type);
  if (edns) dns_opt(b);
  return b;
}

Bytes dns_response(uint16_t id, const std::string& name, DnsType type, bool edns,
                   const std::vector<DnsAnswer>& answers, uint32_t ttl) {
  Bytes b;
  dns_header_question(b, id, 0x8180, static_cast<uint16_t>(answers.size()), edns, name, type);
  for (const auto& a : answers) {
    put16(b, 0xc00c);  // pointer to the question name
    put16(b, static_cast<uint16_t>(a.type));
    put16(b, 1);
    put32(b, ttl);
    put16(b, a.rdata.size());
    append(b, a.rdata);
  }
  if (edns) dns_opt(b);
  return b;
}

Bytes dns_txt_rdata(Rng& rng, size_t total_len) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Bytes b;
  std::string first = "v=DKIM1; k=rsa; p=";
  while (b.size() < total_len) {
    size_t n = std::min<size_t>(255, total_len - b.size() - 1);
    if (n == 0) break;
    put8(b, n);
    for (size_t i = 0; i < n; ++i) put8(b, i < first.size() ? first[i] : alphabet[rng.range(0, 63)]);
    first.clear();
  }
  return b;
}

// ---------------------------------------------------------------- QUIC

namespace {

void varint2(Bytes& b, size_t v) { put16(b, 0x4000 | static_cast<uint16_t>(v)); }

// Long header of the given type (0 Initial, 2 Handshake); `payload_len` counts packet number + payload.
void quic_long(Rng& rng, Bytes& b, uint8_t type, const Bytes& dcid, const Bytes& scid, size_t payload_len) {
  put8(b, 0xc0 | (type << 4) | static_cast<uint8_t>(rng.range(0, 15)));  // low bits are header-protected
  put32(b, 1);
  put8(b, dcid.size());
  append(b, dcid);
  put8(b, scid.size());
  append(b, scid);
  if (type == 0) put8(b, 0);  // token length
  varint2(b, payload_len);
  append(b, rng.bytes(payload_len));
}

}  // namespace

Bytes quic_initial(Rng& rng, const Bytes& dcid, const Bytes& scid, size_t size) {
  Bytes b;
  const size_t header = 1 + 4 + 1 + dcid.size() + 1 + scid.size() + 1 + 2;
  quic_long(rng, b, 0, dcid, scid, size > header ? size - header : 64);
  return b;
}

Bytes quic_server_initial(Rng& rng, const Bytes& dcid, const Bytes& scid, size_t size) {
  Bytes b;
  quic_long(rng, b, 0, dcid, scid, static_cast<size_t>(rng.range(100, 130)));
  const size_t header = 1 + 4 + 1 + dcid.size() + 1 + scid.size() + 2;
  quic_long(rng, b, 2, dcid, scid, size > b.size() + header + 64 ? size - b.size() - header : 64);
  return b;
}

Bytes quic_short(Rng& rng, const Bytes& dcid, size_t payload_len) {
  Bytes b;
  b.reserve(1 + dcid.size() + payload_len);
  put8(b, 0x40 | static_cast<uint8_t>(rng.range(0, 31)));
  append(b, dcid);
  append(b, rng.bytes(payload_len));
  return b;
}

// ---------------------------------------------------------------- NTP

namespace {

void ntp_ts(Bytes& b, uint64_t unix_ns) {
  const uint64_t secs = unix_ns / kNs + 2208988800ULL;
  const uint64_t frac = ((unix_ns % kNs) << 32) / kNs;
  put32(b, static_cast<uint32_t>(secs));
  put32(b, static_cast<uint32_t>(frac));
}

}  // namespace

Bytes ntp_client(uint64_t unix_ns) {
  Bytes b;
  put8(b, 0x23);  // LI 0, VN 4, mode 3 (client)
  put8(b, 0);
  put8(b, 6);
  put8(b, 0xe9);
  put32(b, 0);
  put32(b, 0);
  put32(b, 0);
  b.insert(b.end(), 24, 0);  // reference, origin, receive
  ntp_ts(b, unix_ns);
  return b;
}

Bytes ntp_server(Rng& rng, uint64_t client_tx_unix_ns, uint64_t rx_unix_ns, uint64_t tx_unix_ns) {
  Bytes b;
  put8(b, 0x24);  // mode 4 (server)
  put8(b, 2);     // stratum
  put8(b, 6);
  put8(b, 0xe7);
  put32(b, static_cast<uint32_t>(rng.range(0x100, 0x900)));  // root delay
  put32(b, static_cast<uint32_t>(rng.range(0x100, 0x900)));  // root dispersion
  put32(b, 0xc0000201);                                      // reference id: upstream 192.0.2.1
  ntp_ts(b, rx_unix_ns - static_cast<uint64_t>(rng.range(60, 900)) * kNs);
  ntp_ts(b, client_tx_unix_ns);
  ntp_ts(b, rx_unix_ns);
  ntp_ts(b, tx_unix_ns);
  return b;
}

// ---------------------------------------------------------------- ICMP

Bytes icmp_echo(bool request, uint16_t id, uint16_t seq, uint64_t unix_ns) {
  Bytes b;
  put8(b, request ? 8 : 0);
  put8(b, 0);
  put16(b, 0);
  put16(b, id);
  put16(b, seq);
  // Linux ping: struct timeval (little-endian on x86-64) then the 0x10.. pattern, 56 bytes in all.
  uint64_t sec = unix_ns / kNs, usec = unix_ns % kNs / 1000;
  for (int i = 0; i < 8; ++i) put8(b, (sec >> (8 * i)) & 0xff);
  for (int i = 0; i < 8; ++i) put8(b, (usec >> (8 * i)) & 0xff);
  for (int i = 0; i < 40; ++i) put8(b, 0x10 + i);
  return b;
}

}  // namespace netloom::synth
