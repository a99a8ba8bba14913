// decode_packet throughput: a synthetic mix of built frames and, when the
// corpus is present, every packet of real captures held in memory.
// Reports items (packets) per second; ns/packet = 1e9 / items_per_second.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "decode/decode.hpp"
#include "pcap_builder.hpp"

using namespace netloom;
using namespace netloom::testing;

namespace {

struct Trace {
  std::vector<Bytes> frames;
  std::vector<Packet> packets;
  std::string error;

  void finish(std::uint16_t dlt) {
    packets.resize(frames.size());
    for (std::size_t i = 0; i < frames.size(); ++i) {
      packets[i].data = frames[i].data();
      packets[i].caplen = packets[i].wirelen = static_cast<std::uint32_t>(frames[i].size());
      packets[i].linktype = dlt;
    }
  }
};

// Ethernet/IPv4/TCP dominated, like an access link: 70% IPv4/TCP, 15%
// IPv6/UDP, 10% VLAN IPv4/UDP, 5% VXLAN and GTP-U tunnels.
Trace synthetic_mix() {
  Trace t;
  const Bytes pay = filler(200);
  for (int i = 0; i < 1000; ++i) {
    const auto port = static_cast<std::uint16_t>(1024 + i);
    const int k = i % 20;
    Bytes f;
    if (k < 14) {
      f = eth(kEtherIpv4, ipv4("10.0." + std::to_string(i % 200) + ".1", "93.184.216.34", kIpTcp,
                               tcp(port, 443, kTcpAck, pay, 12)));
    } else if (k < 17) {
      f = eth(kEtherIpv6, ipv6("2001:db8::1", "2001:4860::8888", kIpUdp, udp(port, 53, filler(60))));
    } else if (k < 19) {
      f = eth(kEtherVlan, vlan(100, kEtherIpv4, ipv4("192.168.1.2", "8.8.8.8", kIpUdp, udp(port, 443, pay))));
    } else if (i % 40 == 19) {
      f = eth(kEtherIpv4, ipv4("10.1.1.1", "10.1.1.2", kIpUdp,
                               udp(port, 4789,
                                   vxlan(1111, eth(kEtherIpv4, ipv4("172.16.0.1", "172.16.0.2", kIpTcp,
                                                                    tcp(port, 80, kTcpAck, pay)))))));
    } else {
      f = eth(kEtherIpv4,
              ipv4("10.2.2.2", "10.2.2.3", kIpUdp,
                   udp(2152, 2152,
                       gtpu(0x1234, ipv4("100.64.0.1", "1.1.1.1", kIpTcp, tcp(port, 443, kTcpAck, pay))))));
    }
    t.frames.push_back(std::move(f));
  }
  t.finish(1);
  return t;
}

Trace load_capture(const std::string& rel) {
  Trace t;
  const char* env = std::getenv("NETLOOM_CORPUS");
  const std::filesystem::path root = env && *env ? env : NETLOOM_CORPUS_DEFAULT;
  const auto path = root / rel;
  char errbuf[PCAP_ERRBUF_SIZE] = {};
  pcap_t* pc = pcap_open_offline(path.c_str(), errbuf);
  if (!pc) {
    t.error = "corpus capture not available: " + path.string();
    return t;
  }
  const auto dlt = static_cast<std::uint16_t>(pcap_datalink(pc));
  pcap_pkthdr* h;
  const u_char* data;
  while (pcap_next_ex(pc, &h, &data) == 1) t.frames.emplace_back(data, data + h->caplen);
  pcap_close(pc);
  t.finish(dlt);
  return t;
}

void run_trace(benchmark::State& state, Trace& t) {
  if (t.packets.empty()) {
    state.SkipWithError(t.error.empty() ? "no packets" : t.error.c_str());
    return;
  }
  std::uint64_t ip = 0;
  for (auto _ : state) {
    for (auto& p : t.packets) {
      ip += decode::decode_packet(p);
      benchmark::DoNotOptimize(p.flow_hash);
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * t.packets.size()));
  state.counters["ns_per_pkt"] =
      benchmark::Counter(static_cast<double>(state.iterations() * t.packets.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["ip_share"] =
      static_cast<double>(ip) / static_cast<double>(state.iterations() * t.packets.size());
}

void BM_DecodeSyntheticMix(benchmark::State& state) {
  static Trace t = synthetic_mix();
  run_trace(state, t);
}
BENCHMARK(BM_DecodeSyntheticMix);

void BM_DecodeIpv4TcpOnly(benchmark::State& state) {
  static Trace t = [] {
    Trace x;
    for (int i = 0; i < 1000; ++i)
      x.frames.push_back(
          eth(kEtherIpv4, ipv4("10.0.0.1", "10.0.0.2", kIpTcp,
                               tcp(static_cast<std::uint16_t>(1024 + i), 80, kTcpAck, filler(100)))));
    x.finish(1);
    return x;
  }();
  run_trace(state, t);
}
BENCHMARK(BM_DecodeIpv4TcpOnly);

void BM_DecodeCorpus(benchmark::State& state, const char* rel) {
  static std::vector<std::pair<std::string, Trace>> cache;
  Trace* t = nullptr;
  for (auto& [name, tr] : cache)
    if (name == rel) t = &tr;
  if (!t) t = &cache.emplace_back(rel, load_capture(rel)).second;
  run_trace(state, *t);
}
BENCHMARK_CAPTURE(BM_DecodeCorpus, whatsapp_login_call, "dev/whatsapp_login_call.pcap");
BENCHMARK_CAPTURE(BM_DecodeCorpus, android, "dev/android.pcap");
BENCHMARK_CAPTURE(BM_DecodeCorpus, vxlan, "dev/vxlan.pcap");

void BM_FlowHash(benchmark::State& state) {
  IpAddr a = addr("10.0.0.1"), b = addr("192.168.1.1");
  std::uint16_t port = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decode::flow_hash(a, b, port++, 443, 6, 4));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FlowHash);

}  // namespace
