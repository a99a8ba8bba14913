// Flow scripts: each writes one or more complete flows into the trace,
// starting at capture time t (ns from the start of the trace).
#pragma once

#include <string>

#include "synth.hpp"
#include "world.hpp"

namespace netloom::synth {

struct Ctx {
  Trace& trace;
  World& world;
  Rng& rng;
  int64_t epoch;  // unix seconds of trace time 0 (payloads embedding clocks use it)
  uint64_t unix_ns(uint64_t t) const { return static_cast<uint64_t>(epoch) * kSec + t; }
  uint32_t next_id() { return rng.u32(); }
};

// Returns the capture time of the answer (when the client may connect).
uint64_t dns_lookup(Ctx& c, uint64_t t, Client& cl, const std::string& name, bool v6_transport,
                    bool both_families);
void dns_fragmented(Ctx& c, uint64_t t, Client& cl);

struct HttpOpts {
  size_t body = 6000;
  bool lose_request = false;
  int reorder_at = -1;
  int requests = 1;
};
void http_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6, const HttpOpts& o);

struct TlsOpts {
  bool tls13 = true;
  bool rst_abort = false;
  int exchanges = 1;
  size_t max_response = 2500;
};
void tls_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6, const TlsOpts& o);
void ssh_session(Ctx& c, uint64_t t, Client& cl, Server& s);
void smtp_session(Ctx& c, uint64_t t, Client& cl, Server& s);
void quic_session(Ctx& c, uint64_t t, Client& cl, Server& s, bool v6);
void ntp_exchange(Ctx& c, uint64_t t, Client& cl, Server& s);
void ping(Ctx& c, uint64_t t, Client& cl, Server& s, int count);
void syn_attempt(Ctx& c, uint64_t t, Client& cl, Server& s, uint16_t port, int retransmissions);
void syn_refused(Ctx& c, uint64_t t, Client& cl, Server& s, uint16_t port);

}  // namespace netloom::synth
