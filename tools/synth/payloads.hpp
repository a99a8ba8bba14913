// Application payloads with valid wire formats: HTTP/1.1, TLS 1.2/1.3
// handshakes, SSH, SMTP, DNS, QUIC long-header packets, NTP, ICMP echo.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "rng.hpp"

namespace netloom::synth {

// HTTP/1.1
Bytes http_get(const std::string& host, const std::string& path, const std::string& user_agent);
Bytes http_response(Rng& rng, size_t body_len, const std::string& content_type);

// TLS. The ClientHello carries SNI, ALPN, supported_versions and a key share.
struct TlsHello {
  Bytes session_id;  // 32 bytes
  bool tls13 = true;
};
Bytes tls_client_hello(Rng& rng, const std::string& sni, const TlsHello& h);
// Server flight: ServerHello (+ ChangeCipherSpec + encrypted records).
// TLS 1.2 models an abbreviated (resumed) handshake, so no certificate is sent in clear.
Bytes tls_server_flight(Rng& rng, const TlsHello& h);
// Client's second flight: ChangeCipherSpec + Finished (encrypted).
Bytes tls_client_finish(Rng& rng, const TlsHello& h);
Bytes tls_app_data(Rng& rng, size_t len);

// SSH-2
Bytes ssh_banner(const std::string& software);
Bytes ssh_kexinit(Rng& rng, bool server);
Bytes ssh_ecdh_init(Rng& rng);
Bytes ssh_ecdh_reply_newkeys(Rng& rng);
Bytes ssh_newkeys();
Bytes ssh_encrypted(Rng& rng, size_t payload_len);  // chacha20-poly1305 framed, opaque

// DNS
enum class DnsType : uint16_t { A = 1, CNAME = 5, TXT = 16, AAAA = 28 };
struct DnsAnswer {
  DnsType type;
  Bytes rdata;  // raw rdata (A: 4 bytes, AAAA: 16, TXT: character-strings)
};
Bytes dns_query(uint16_t id, const std::string& name, DnsType type, bool edns);
Bytes dns_response(uint16_t id, const std::string& name, DnsType type, bool edns,
                   const std::vector<DnsAnswer>& answers, uint32_t ttl);
Bytes dns_txt_rdata(Rng& rng, size_t total_len);

// QUIC v1 long-header packets (payload opaque), padded to `size` when size > 0.
Bytes quic_initial(Rng& rng, const Bytes& dcid, const Bytes& scid, size_t size);
// Server Initial + Handshake coalesced in one datagram.
Bytes quic_server_initial(Rng& rng, const Bytes& dcid, const Bytes& scid, size_t size);
Bytes quic_short(Rng& rng, const Bytes& dcid, size_t payload_len);

// NTPv4
Bytes ntp_client(uint64_t unix_ns);
Bytes ntp_server(Rng& rng, uint64_t client_tx_unix_ns, uint64_t rx_unix_ns, uint64_t tx_unix_ns);

// ICMP echo (type 8 request / 0 reply) with a Linux ping payload.
Bytes icmp_echo(bool request, uint16_t id, uint16_t seq, uint64_t unix_ns);

}  // namespace netloom::synth
