#include "scenarios.hpp"

#include <algorithm>

#include "payloads.hpp"

namespace netloom::synth {

namespace {

uint64_t ms(Rng& rng, int64_t lo, int64_t hi) {
  return static_cast<uint64_t>(rng.range(lo * 1000, hi * 1000)) * kUs;
}

const char* user_agent(const Client& cl) {
  return cl.windows ? "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
                    : "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0";
}

Bytes addr_rdata(const Addr& a) { return Bytes(a.b.begin(), a.b.begin() + (a.v6 ? 16 : 4)); }

}  // namespace

uint64_t dns_lookup(Ctx& c, uint64_t t, Client& cl, const std::string& name, bool v6_transport,
                    bool both_families) {
  Server& res = c.world.server("resolver");
  const bool v6 = v6_transport && cl.has_v6;
  FlowEmitter f(c.trace, c.world.spec(cl, res, v6, ipproto::udp, cl.ephemeral(c.rng), 53, "DNS"),
                c.next_id());
  const Server* target = nullptr;
  for (auto& s : c.world.servers)
    if (s.name == name) target = &s;
  uint64_t answered = t;
  const DnsType types[] = {DnsType::A, DnsType::AAAA};
  const int n = both_families ? 2 : 1;
  for (int i = 0; i < n; ++i) {
    const DnsType type = (v6 && !both_families) ? DnsType::AAAA : types[i];
    const uint16_t id = static_cast<uint16_t>(c.rng.u32());
    const uint64_t tq = t + i * 40 * kUs;
    const auto& port_spec = f.spec();
    f.emit(c2s, tq, udp_datagram(port_spec.client.port, 53, dns_query(id, name, type, true)));
    std::vector<DnsAnswer> ans;
    if (target != nullptr && (type == DnsType::A || target->has_v6))
      ans.push_back({type, addr_rdata(type == DnsType::A ? target->v4 : target->v6)});
    const uint64_t tr = tq + res.rtt + ms(c.rng, 0, 3);
    f.emit(
        s2c, tr,
        udp_datagram(53, port_spec.client.port,
                     dns_response(id, name, type, true, ans, static_cast<uint32_t>(c.rng.range(60, 3600)))));
    answered = std::max(answered, tr);
  }
  return answered;
}

void dns_fragmented(Ctx& c, uint64_t t, Client& cl) {
  Server& res = c.world.server("resolver");
  FlowEmitter f(c.trace, c.world.spec(cl, res, false, ipproto::udp, cl.ephemeral(c.rng), 53, "DNS"),
                c.next_id());
  const std::string name = "selector1._domainkey.example.org";
  const uint16_t id = static_cast<uint16_t>(c.rng.u32());
  const uint16_t port = f.spec().client.port;
  f.emit(c2s, t, udp_datagram(port, 53, dns_query(id, name, DnsType::TXT, true)));
  std::vector<DnsAnswer> ans;
  for (int i = 0; i < 3; ++i) ans.push_back({DnsType::TXT, dns_txt_rdata(c.rng, 700)});
  const uint64_t tr = t + res.rtt + ms(c.rng, 0, 3);
  f.emit_fragmented(s2c, {tr, tr + 60 * kUs},
                    udp_datagram(53, port, dns_response(id, name, DnsType::TXT, true, ans, 300)), 1480);
}

void http_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6, const HttpOpts& o) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, v6, ipproto::tcp, cl.ephemeral(c.rng), 80, "HTTP"), c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(v6), linux_server(v6, s.mss), s.rtt, t);
  tcp.handshake();
  static const char* paths[] = {"/", "/index.html", "/news/today.html", "/docs/guide.html",
                                "/assets/app.css"};
  for (int i = 0; i < o.requests; ++i) {
    SendOpts req;
    req.lose_last = o.lose_request && i == 0;
    tcp.send(c2s, http_get(s.name, paths[c.rng.range(0, 4)], user_agent(cl)),
             i == 0 ? ms(c.rng, 0, 1) : ms(c.rng, 80, 900), req);
    SendOpts resp;
    resp.reorder_at = i == 0 ? o.reorder_at : -1;
    const size_t body = i == 0 ? o.body : static_cast<size_t>(c.rng.range(800, 5000));
    tcp.send(s2c, http_response(c.rng, body, i == 0 ? "text/html; charset=utf-8" : "text/css"),
             ms(c.rng, 2, 30), resp);
  }
  tcp.close(c.rng.chance(0.5) ? c2s : s2c, ms(c.rng, 100, 2500), c.rng.chance(0.3));
}

void tls_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6, const TlsOpts& o) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, v6, ipproto::tcp, cl.ephemeral(c.rng), 443, "TLS"), c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(v6), linux_server(v6, s.mss), s.rtt, t);
  tcp.handshake();
  TlsHello h;
  h.tls13 = o.tls13;
  h.session_id = c.rng.bytes(32);
  tcp.send(c2s, tls_client_hello(c.rng, s.name, h), ms(c.rng, 0, 2));
  tcp.send(s2c, tls_server_flight(c.rng, h), ms(c.rng, 1, 8));
  Bytes fin = tls_client_finish(c.rng, h);
  append(fin, tls_app_data(c.rng, static_cast<size_t>(c.rng.range(300, 700))));  // first request
  tcp.send(c2s, fin, ms(c.rng, 1, 4));
  tcp.send(s2c,
           tls_app_data(c.rng, static_cast<size_t>(c.rng.range(400, static_cast<int64_t>(o.max_response)))),
           ms(c.rng, 5, 60));
  for (int i = 1; i < o.exchanges; ++i) {
    tcp.send(c2s, tls_app_data(c.rng, static_cast<size_t>(c.rng.range(80, 600))), ms(c.rng, 50, 1500));
    tcp.send(
        s2c,
        tls_app_data(c.rng, static_cast<size_t>(c.rng.range(100, static_cast<int64_t>(o.max_response) / 2))),
        ms(c.rng, 5, 60));
  }
  if (o.rst_abort) {
    tcp.reset(c2s, ms(c.rng, 100, 1500));
    return;
  }
  // Close-notify alert, then FIN.
  tcp.send(c2s, tls_app_data(c.rng, 19), ms(c.rng, 200, 3000));
  tcp.close(c2s, ms(c.rng, 0, 1), c.rng.chance(0.3));
}

void ssh_session(Ctx& c, uint64_t t, Client& cl, Server& s) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::tcp, cl.ephemeral(c.rng), 22, "SSH"),
                c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(false), linux_server(false, s.mss), s.rtt, t);
  tcp.handshake();
  tcp.send(s2c, ssh_banner("OpenSSH_9.2p1 Debian-2+deb12u2"), ms(c.rng, 1, 5));
  tcp.send(c2s, ssh_banner(cl.windows ? "OpenSSH_for_Windows_9.5" : "OpenSSH_9.6"), ms(c.rng, 0, 1));
  tcp.send(c2s, ssh_kexinit(c.rng, false), 100 * kUs);
  tcp.send(s2c, ssh_kexinit(c.rng, true), ms(c.rng, 0, 1));
  tcp.send(c2s, ssh_ecdh_init(c.rng), ms(c.rng, 0, 2));
  tcp.send(s2c, ssh_ecdh_reply_newkeys(c.rng), ms(c.rng, 1, 4));
  Bytes nk = ssh_newkeys();
  append(nk, ssh_encrypted(c.rng, 24));  // service request
  tcp.send(c2s, nk, ms(c.rng, 1, 3));
  tcp.send(s2c, ssh_encrypted(c.rng, 24), ms(c.rng, 0, 2));
  tcp.send(c2s, ssh_encrypted(c.rng, 120), ms(c.rng, 0, 1));  // publickey auth query
  tcp.send(s2c, ssh_encrypted(c.rng, 40), ms(c.rng, 1, 3));
  tcp.send(c2s, ssh_encrypted(c.rng, 400), ms(c.rng, 2, 10));  // signed auth
  tcp.send(s2c, ssh_encrypted(c.rng, 8), ms(c.rng, 2, 6));
  tcp.send(c2s, ssh_encrypted(c.rng, 60), ms(c.rng, 0, 1));               // channel open + shell
  tcp.send(s2c, ssh_encrypted(c.rng, 900), ms(c.rng, 5, 40));             // motd + prompt
  for (int i = 0, n = static_cast<int>(c.rng.range(4, 9)); i < n; ++i) {  // keystrokes and echoes
    tcp.send(c2s, ssh_encrypted(c.rng, 4), ms(c.rng, 120, 400));
    tcp.send(s2c, ssh_encrypted(c.rng, 4), ms(c.rng, 0, 1));
  }
  tcp.send(s2c, ssh_encrypted(c.rng, 1500), ms(c.rng, 5, 30));    // command output
  tcp.send(c2s, ssh_encrypted(c.rng, 20), ms(c.rng, 400, 1500));  // exit
  tcp.close(s2c, ms(c.rng, 1, 5));
}

void smtp_session(Ctx& c, uint64_t t, Client& cl, Server& s) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::tcp, cl.ephemeral(c.rng), 25, "SMTP"),
                c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(false), linux_server(false, s.mss), s.rtt, t);
  tcp.handshake();
  auto srv = [&](const std::string& line, uint64_t think) { tcp.send(s2c, to_bytes(line), think); };
  auto cli = [&](const std::string& line, uint64_t think) { tcp.send(c2s, to_bytes(line), think); };
  srv("220 mail.example.net ESMTP Postfix (Debian/GNU)\r\n", ms(c.rng, 20, 120));
  cli("EHLO relay.corp.example\r\n", ms(c.rng, 0, 1));
  srv("250-mail.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-ETRN\r\n250-ENHANCEDSTATUSCODES\r\n"
      "250-8BITMIME\r\n250-DSN\r\n250 CHUNKING\r\n",
      ms(c.rng, 0, 2));
  cli("MAIL FROM:<alerts@corp.example> SIZE=1873\r\n", ms(c.rng, 0, 1));
  srv("250 2.1.0 Ok\r\n", ms(c.rng, 0, 2));
  cli("RCPT TO:<ops@example.net>\r\n", ms(c.rng, 0, 1));
  srv("250 2.1.5 Ok\r\n", ms(c.rng, 1, 10));
  cli("DATA\r\n", ms(c.rng, 0, 1));
  srv("354 End data with <CR><LF>.<CR><LF>\r\n", ms(c.rng, 0, 2));
  std::string msg =
      "From: Alerts <alerts@corp.example>\r\nTo: ops@example.net\r\nSubject: nightly report\r\n"
      "Date: Mon, 15 Jan 2024 10:00:00 +0000\r\nMessage-ID: <20240115100000.4242@corp.example>\r\n"
      "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n";
  for (int i = 0; i < 24; ++i)
    msg += "probe-" + std::to_string(i) + ": all flows accounted for, no drops.\r\n";
  msg += ".\r\n";
  cli(msg, ms(c.rng, 0, 1));
  srv("250 2.0.0 Ok: queued as 4TDz3Y1kq2z9sT\r\n", ms(c.rng, 5, 40));
  cli("QUIT\r\n", ms(c.rng, 0, 1));
  srv("221 2.0.0 Bye\r\n", ms(c.rng, 0, 1));
  tcp.close(s2c, 50 * kUs);
}

void quic_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, v6, ipproto::udp, cl.ephemeral(c.rng), 443, "QUIC"),
                c.next_id());
  const uint16_t cp = f.spec().client.port;
  const Bytes odcid = c.rng.bytes(8), ccid = c.rng.bytes(8), scid = c.rng.bytes(8);
  auto up = [&](uint64_t at, const Bytes& p) { f.emit(c2s, at, udp_datagram(cp, 443, p)); };
  auto down = [&](uint64_t at, const Bytes& p) { f.emit(s2c, at, udp_datagram(443, cp, p)); };
  up(t, quic_initial(c.rng, odcid, ccid, 1250));
  t += s.rtt + ms(c.rng, 1, 4);
  down(t, quic_server_initial(c.rng, ccid, scid, 1252));
  down(t + 150 * kUs, quic_server_initial(c.rng, ccid, scid, 1252));
  t += 150 * kUs + ms(c.rng, 1, 3);
  up(t, quic_initial(c.rng, scid, ccid, 1250));
  up(t + 60 * kUs, quic_short(c.rng, scid, static_cast<size_t>(c.rng.range(60, 300))));  // request
  t += s.rtt + ms(c.rng, 3, 20);
  const int n = static_cast<int>(c.rng.range(2, 6));
  for (int i = 0; i < n; ++i) {
    down(t, quic_short(c.rng, ccid, i + 1 == n ? static_cast<size_t>(c.rng.range(100, 1232)) : 1232));
    t += static_cast<uint64_t>(c.rng.range(120, 400)) * kUs;
    if (i % 2 == 1) up(t, quic_short(c.rng, scid, static_cast<size_t>(c.rng.range(30, 45))));  // ACKs
  }
  t += ms(c.rng, 300, 2500);
  up(t, quic_short(c.rng, scid, 30));  // CONNECTION_CLOSE
}

void ntp_exchange(Ctx& c, uint64_t t, Client& cl, Server& s) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::udp, cl.ephemeral(c.rng), 123, "NTP"),
                c.next_id());
  const uint16_t cp = f.spec().client.port;
  f.emit(c2s, t, udp_datagram(cp, 123, ntp_client(c.unix_ns(t))));
  const uint64_t rx = c.unix_ns(t) + s.rtt / 2, tx = rx + 30 * kUs;
  f.emit(s2c, t + s.rtt + 30 * kUs, udp_datagram(123, cp, ntp_server(c.rng, c.unix_ns(t), rx, tx)));
}

void ping(Ctx& c, uint64_t t, Client& cl, Server& s, int count) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::icmp, 0, 0, "ICMP"), c.next_id());
  const uint16_t id = static_cast<uint16_t>(c.rng.range(1000, 60000));
  for (int i = 1; i <= count; ++i, t += kSec + static_cast<uint64_t>(c.rng.range(0, 300)) * kUs) {
    f.emit(c2s, t, icmp_echo(true, id, static_cast<uint16_t>(i), c.unix_ns(t)));
    f.emit(s2c, t + s.rtt + static_cast<uint64_t>(c.rng.range(0, 2000)) * kUs,
           icmp_echo(false, id, static_cast<uint16_t>(i), c.unix_ns(t)));
  }
}

void syn_attempt(Ctx& c, uint64_t t, Client& cl, Server& s, uint16_t port, int retransmissions) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::tcp, cl.ephemeral(c.rng), port, "Unknown"),
                c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(false), linux_server(false, s.mss), s.rtt, t);
  tcp.syn_unanswered(retransmissions);
}

void syn_refused(Ctx& c, uint64_t t, Client& cl, Server& s, uint16_t port) {
  FlowEmitter f(c.trace, c.world.spec(cl, s, false, ipproto::tcp, cl.ephemeral(c.rng), port, "Unknown"),
                c.next_id());
  TcpConn tcp(f, c.rng, cl.tcp(false), linux_server(false, s.mss), s.rtt, t);
  tcp.syn_refused();
}

}  // namespace netloom::synth
