// The traffic mix: a fixed set of scenarios that covers every feature, then a
// weighted random fill up to the requested number of flows, each scenario
// starting at a random time inside the duration.
#include <algorithm>
#include <numeric>
#include <vector>

#include "scenarios.hpp"

namespace netloom::synth {

namespace {

enum class Kind {
  browse_http_retx,      // DNS + HTTP GET whose request is retransmitted
  browse_http_download,  // DNS + HTTP download with an out-of-order segment
  browse_http,
  v6_http,
  browse_tls,  // DNS + TLS 1.3
  browse_tls_vlan,
  tls,
  v6_browse_tls,
  v6_tls,
  tls12,  // resumed TLS 1.2
  tls_rst,
  ssh,
  smtp,
  dns_only,
  dns_frag,
  browse_quic,
  quic,
  v6_quic,
  ntp,
  ping,
  syn_retx,
  syn_once,
  refused,
};

int flows_of(Kind k) {
  switch (k) {
    case Kind::browse_http_retx:
    case Kind::browse_http_download:
    case Kind::browse_http:
    case Kind::browse_tls:
    case Kind::browse_tls_vlan:
    case Kind::v6_browse_tls:
    case Kind::browse_quic:
      return 2;
    default:
      return 1;
  }
}

const Kind kMandatory[] = {Kind::browse_http_retx,
                           Kind::browse_http_download,
                           Kind::browse_tls_vlan,
                           Kind::tls12,
                           Kind::tls_rst,
                           Kind::ssh,
                           Kind::smtp,
                           Kind::dns_frag,
                           Kind::browse_quic,
                           Kind::ntp,
                           Kind::ping,
                           Kind::syn_retx,
                           Kind::syn_once,
                           Kind::refused,
                           Kind::v6_browse_tls,
                           Kind::v6_quic};

const std::pair<Kind, int> kFill[] = {{Kind::browse_tls, 30}, {Kind::tls, 12},        {Kind::v6_tls, 8},
                                      {Kind::browse_quic, 8}, {Kind::quic, 4},        {Kind::v6_quic, 3},
                                      {Kind::dns_only, 12},   {Kind::browse_http, 6}, {Kind::v6_http, 2},
                                      {Kind::ntp, 4},         {Kind::ssh, 2},         {Kind::smtp, 1},
                                      {Kind::syn_once, 3},    {Kind::tls12, 5}};

Kind pick(Rng& rng, int max_flows) {
  int total = 0;
  for (auto& [k, w] : kFill)
    if (flows_of(k) <= max_flows) total += w;
  int x = static_cast<int>(rng.range(0, total - 1));
  for (auto& [k, w] : kFill) {
    if (flows_of(k) > max_flows) continue;
    if (x < w) return k;
    x -= w;
  }
  return Kind::dns_only;
}

Server& pick_server(World& w, Rng& rng, std::initializer_list<const char*> names, bool need_v6) {
  std::vector<Server*> c;
  for (const char* n : names)
    if (!need_v6 || w.server(n).has_v6) c.push_back(&w.server(n));
  return *c[static_cast<size_t>(rng.range(0, static_cast<int64_t>(c.size()) - 1))];
}

void run(Kind k, Ctx& c, uint64_t t) {
  World& w = c.world;
  Rng& r = c.rng;
  auto web = [&](bool v6) -> Server& {
    return pick_server(
        w, r,
        {"www.example.com", "cdn.example.net", "api.example.org", "static.example.com", "shop.example.com"},
        v6);
  };
  auto connect_after = [&](uint64_t answered) {
    return answered + static_cast<uint64_t>(r.range(200, 3000)) * kUs;
  };
  switch (k) {
    case Kind::browse_http_retx: {
      Client& cl = w.clients[0];
      Server& s = w.server("www.example.com");
      HttpOpts o;
      o.lose_request = true;
      o.body = static_cast<size_t>(r.range(3000, 8000));
      http_session(c, connect_after(dns_lookup(c, t, cl, s.name, false, false)), cl, s, false, o);
      break;
    }
    case Kind::browse_http_download: {
      Client& cl = w.clients[2];
      Server& s = w.server("static.example.com");
      HttpOpts o;
      o.body = 32000;
      o.reorder_at = 3;
      o.requests = 2;
      http_session(c, connect_after(dns_lookup(c, t, cl, s.name, false, true)), cl, s, false, o);
      break;
    }
    case Kind::browse_http:
    case Kind::v6_http: {
      const bool v6 = k == Kind::v6_http;
      Client& cl = w.pick_client(r, v6);
      Server& s = pick_server(w, r, {"www.example.com", "static.example.com", "shop.example.com"}, v6);
      HttpOpts o;
      o.body = static_cast<size_t>(r.range(1000, 6000));
      o.requests = static_cast<int>(r.range(1, 2));
      if (v6)
        http_session(c, t, cl, s, true, o);
      else
        http_session(c, connect_after(dns_lookup(c, t, cl, s.name, false, r.chance(0.5))), cl, s, false, o);
      break;
    }
    case Kind::browse_tls:
    case Kind::browse_tls_vlan:
    case Kind::v6_browse_tls: {
      const bool v6 = k == Kind::v6_browse_tls;
      Client& cl = k == Kind::browse_tls_vlan ? w.clients[6] : w.pick_client(r, v6);
      Server& s = web(v6);
      TlsOpts o;
      o.exchanges = static_cast<int>(r.range(1, 2));
      tls_session(c, connect_after(dns_lookup(c, t, cl, s.name, v6, !v6 && r.chance(0.5))), cl, s, v6, o);
      break;
    }
    case Kind::tls:
    case Kind::v6_tls:
    case Kind::tls12:
    case Kind::tls_rst: {
      const bool v6 = k == Kind::v6_tls;
      Client& cl = w.pick_client(r, v6);
      TlsOpts o;
      o.tls13 = k != Kind::tls12;
      o.rst_abort = k == Kind::tls_rst;
      o.exchanges = static_cast<int>(r.range(1, 2));
      tls_session(c, t, cl, web(v6), v6, o);
      break;
    }
    case Kind::ssh:
      ssh_session(c, t, w.pick_client(r), w.server("git.example.org"));
      break;
    case Kind::smtp:
      smtp_session(c, t, w.clients[4], w.server("mail.example.net"));
      break;
    case Kind::dns_only: {
      Client& cl = w.pick_client(r);
      static const char* names[] = {"www.example.com",     "cdn.example.net",  "mail.example.net",
                                    "updates.example.org", "time.example.com", "shop.example.com"};
      dns_lookup(c, t, cl, names[r.range(0, 5)], cl.has_v6 && r.chance(0.3), r.chance(0.5));
      break;
    }
    case Kind::dns_frag:
      dns_fragmented(c, t, w.clients[4]);
      break;
    case Kind::browse_quic:
    case Kind::quic:
    case Kind::v6_quic: {
      const bool v6 = k == Kind::v6_quic;
      Client& cl = w.pick_client(r, v6);
      Server& s = pick_server(w, r, {"video.example.net", "cdn.example.net"}, v6);
      if (k == Kind::browse_quic)
        quic_session(c, connect_after(dns_lookup(c, t, cl, s.name, false, false)), cl, s, false);
      else
        quic_session(c, t, cl, s, v6);
      break;
    }
    case Kind::ntp:
      ntp_exchange(c, t, w.pick_client(r), w.server("ntp.example.org"));
      break;
    case Kind::ping:
      ping(c, t, w.clients[1], w.server("gw.example.net"), 4);
      break;
    case Kind::syn_retx:
      syn_attempt(c, t, w.clients[3], w.server("old.example.com"), 8080, 2);
      break;
    case Kind::syn_once:
      syn_attempt(c, t, w.pick_client(r), w.server("old.example.com"),
                  static_cast<uint16_t>(r.range(0, 1) ? 443 : 8443), 0);
      break;
    case Kind::refused:
      syn_refused(c, t, w.clients[5], w.server("closed.example.org"), 3389);
      break;
  }
}

}  // namespace

Trace generate(const Options& opt) {
  Rng master(opt.seed);
  Trace trace;
  trace.link = opt.link;
  World world(master, opt.link);

  std::vector<Kind> plan;
  int flows = 0;
  for (Kind k : kMandatory)
    if (flows + flows_of(k) <= opt.flows) plan.push_back(k), flows += flows_of(k);
  while (flows < opt.flows) {
    Kind k = pick(master, opt.flows - flows);
    plan.push_back(k);
    flows += flows_of(k);
  }

  // Every scenario lasts well under 10 s; start them uniformly over the rest.
  const uint64_t span_ns = static_cast<uint64_t>(std::max(0.0, opt.duration - 10.0) * 1e9);
  for (Kind k : plan) {
    const uint64_t t = span_ns == 0 ? 0 : master.next() % span_ns;
    Rng r = master.fork();
    Ctx ctx{trace, world, r, opt.start};
    run(k, ctx, t);
  }

  // Time order (stable), then number flows by their first packet.
  std::stable_sort(trace.packets.begin(), trace.packets.end(),
                   [](const Packet& a, const Packet& b) { return a.t_ns < b.t_ns; });
  std::vector<uint32_t> remap(trace.flows.size(), UINT32_MAX);
  std::vector<FlowInfo> ordered;
  for (Packet& p : trace.packets) {
    if (remap[p.flow] == UINT32_MAX) {
      remap[p.flow] = static_cast<uint32_t>(ordered.size());
      ordered.push_back(trace.flows[p.flow]);
    }
    p.flow = remap[p.flow];
    ordered[p.flow].packets += 1;
    ordered[p.flow].bytes += p.frame.size();
  }
  trace.flows = std::move(ordered);
  return trace;
}

}  // namespace netloom::synth
