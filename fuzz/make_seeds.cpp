// Seed corpora for the fuzz targets, generated at fuzz time into the build
// directory (never into the repository):
//
//   make_seeds OUT_DIR REPO_ROOT [CORPUS_ROOT]
//
// writes OUT_DIR/<target>/<name> for every target:
//   decode           single frames of the dev and formats captures (a few per
//                    file, plus every frame that decodes to a new combination
//                    of link type, flags, IP version, protocol and tunnel)
//   capture          the capture files themselves (large pcaps shortened to
//                    their first records with libpcap, large pcapngs cut),
//                    and a few gzip-compressed
//   composition      the repository's compositions and a few variants
//   pdpi_signatures  the shipped dictionary, and each signature on its own
//   pdpi_match       the first payloads of each TCP/UDP flow of the captures
//   bayes_config     the shipped .conf files and a DISCRETE/AUTO_OTHER one
//   fsmdpi           TCP flows through every machine and through the machine
//                    that opens them; UDP flows for the RTP search
// CORPUS_ROOT (default REPO_ROOT/../shared/corpus) may be missing: the
// capture-based seeds are then left out, with a message.
#include <pcap/pcap.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "decode/decode.hpp"
#include "fuzz_input.hpp"
#include "fuzz_linktypes.hpp"
#include "harness.hpp"
#include "ipfix_codec.hpp"
#include "ipfix_flow.hpp"
#include "pcapio.hpp"

namespace fs = std::filesystem;
using namespace netloom;

namespace {

constexpr std::size_t kMaxCaptureSeed = 64 * 1024;  // capture seeds above this are shortened
constexpr int kHeadRecords = 32;                    // records kept in a shortened pcap
constexpr int kFlowPackets = 60;                    // packets kept per flow
constexpr int kMatchPayloads = 12;                  // payloads per flow for pdpi_match

fs::path g_out;
std::map<std::string, std::size_t> g_count;
std::set<std::pair<std::string, std::size_t>> g_seen;  // (target, content hash)

void seed(const std::string& target, const std::string& name, const std::string& bytes) {
  if (!g_seen.insert({target, std::hash<std::string>{}(bytes)}).second) return;  // duplicate
  const fs::path dir = g_out / target;
  fs::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
  ++g_count[target];
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string flat_name(const fs::path& p, const fs::path& root) {
  std::string s = fs::relative(p, root).string();
  std::replace(s.begin(), s.end(), '/', '_');
  return s;
}

// Every capture file under the corpus's dev/ and formats/ (recursively),
// whatever its name: unreadable ones are seeds for the readers too.
std::vector<fs::path> captures(const fs::path& corpus) {
  std::vector<fs::path> out;
  for (const char* set : {"dev", "formats"}) {
    const fs::path dir = corpus / set;
    if (!fs::is_directory(dir)) continue;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      const std::string n = e.path().filename().string();
      const bool text = n.ends_with(".csv") || n.ends_with(".out") || n.ends_with(".md") ||
                        n.ends_with(".txt") || n.ends_with(".log");
      if (std::string(set) == "dev" && text) continue;
      if (e.path().string().find("tstat-3.3") != std::string::npos) continue;  // Tstat's logs
      out.push_back(e.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// ----------------------------------------------------------------- capture
// A pcap's first records, rewritten by libpcap (the file stays valid).
std::string pcap_head(const fs::path& p) {
  char err[PCAP_ERRBUF_SIZE];
  pcap_t* in = pcap_open_offline(p.c_str(), err);
  if (!in) return {};
  const fs::path tmp = g_out / ".head.pcap";
  pcap_dumper_t* d = pcap_dump_open(in, tmp.c_str());
  if (!d) {
    pcap_close(in);
    return {};
  }
  pcap_pkthdr* h;
  const u_char* data;
  for (int i = 0; i < kHeadRecords && pcap_next_ex(in, &h, &data) == 1; ++i)
    pcap_dump(reinterpret_cast<u_char*>(d), h, data);
  pcap_dump_close(d);
  pcap_close(in);
  std::string s = read_file(tmp);
  fs::remove(tmp);
  return s;
}

std::string gzip(const std::string& bytes) {
  const fs::path tmp = g_out / ".tmp.gz";
  gzFile gz = gzopen(tmp.c_str(), "wb");
  if (!gz) return {};
  gzwrite(gz, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(gz);
  std::string s = read_file(tmp);
  fs::remove(tmp);
  return s;
}

void capture_seeds(const std::vector<fs::path>& files, const fs::path& corpus) {
  std::vector<std::string> small;
  for (const fs::path& f : files) {
    std::string bytes = read_file(f);
    const std::string name = flat_name(f, corpus);
    if (bytes.size() > kMaxCaptureSeed) {
      std::string head = pcap_head(f);
      bytes = head.empty() ? bytes.substr(0, kMaxCaptureSeed) : head;
    }
    seed("capture", name, bytes);
    if (bytes.size() < 4096 && bytes.size() > 24) small.push_back(bytes);
  }
  std::sort(small.begin(), small.end(), [](auto& a, auto& b) { return a.size() < b.size(); });
  for (std::size_t i = 0; i < small.size() && i < 6; ++i) {
    const std::string gz = gzip(small[i]);
    seed("capture", "gzip-" + std::to_string(i), gz);
    if (gz.size() > 20) seed("capture", "gzip-cut-" + std::to_string(i), gz.substr(0, gz.size() / 2));
  }
}

// ----------------------------------------------------- decoded packets
struct FlowPkt {
  std::uint8_t dir = 0, flags = 0;
  std::uint32_t seq = 0;
  bool has_seq = false;
  std::string payload;
};
struct Flow {
  std::uint8_t proto = 0;
  std::uint16_t client_port = 0, server_port = 0;
  IpAddr client{};
  std::vector<FlowPkt> pkts;
  std::string name;
};

using FlowKey = std::tuple<std::uint8_t, std::uint8_t, IpAddr, std::uint16_t, IpAddr, std::uint16_t>;

std::uint32_t rd32(const std::uint8_t* p) {
  return std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
}

// The dev captures are nearly all Ethernet: their IP packets are also
// written behind every other link-layer header the decoder reads, so each
// link type starts from frames that decode through to L4.
void link_variants(const Packet& p, const std::string& name) {
  const std::uint16_t l3 = p.outer_l3_off != kNoOffset ? p.outer_l3_off : p.l3_off;
  if (p.linktype != 1 || l3 == kNoOffset || l3 >= p.caplen) return;
  const std::string ip(reinterpret_cast<const char*>(p.data) + l3, p.caplen - l3);
  const std::string eth(reinterpret_cast<const char*>(p.data), p.caplen);
  const bool v6 = p.ip_version == 6;
  const std::string etype = v6 ? std::string("\x86\xdd", 2) : std::string("\x08\x00", 2);
  const std::string ppp = v6 ? std::string("\x00\x57", 2) : std::string("\x00\x21", 2);
  const std::string z4(4, '\0');
  const std::string dot11 = std::string("\x08\x01\x00\x00", 4) + std::string(18, '\x11') +
                            std::string(2, '\0') + std::string("\xaa\xaa\x03\x00\x00\x00", 6) + etype;
  const std::pair<std::uint16_t, std::string> variants[] = {
      {12, ip},
      {14, ip},
      {101, ip},
      {v6 ? std::uint16_t{229} : std::uint16_t{228}, ip},
      {0, std::string(v6 ? "\x1e\x00\x00\x00" : "\x02\x00\x00\x00", 4) + ip},
      {108, std::string(v6 ? "\x00\x00\x00\x18" : "\x00\x00\x00\x02", 4) + ip},
      {51, std::string("\x11\x00\x00\x01", 4) + std::string(1, '\0') +
               static_cast<char>(std::min<std::size_t>(ip.size() + 2, 255)) + ppp + ip},
      {9, std::string("\xff\x03", 2) + ppp + ip},
      {50, std::string("\xff\x03", 2) + ppp + ip},
      {50, std::string("\x0f\x00", 2) + etype + ip},
      {104, std::string("\x0f\x00", 2) + etype + ip},
      {113, std::string("\x00\x00\x00\x01\x00\x06", 6) + std::string(8, '\x22') + etype + ip},
      {276,
       etype + std::string(2, '\0') + z4 + std::string("\x00\x01\x00\x06", 4) + std::string(8, '\x22') + ip},
      {105, dot11 + ip},
      {127, std::string("\x00\x00\x08\x00", 4) + z4 + dot11 + ip},
      {192, std::string("\x00\x00\x08\x00\x01\x00\x00\x00", 8) + eth},
      {147, eth},
  };
  for (const auto& [linktype, frame] : variants) {
    std::string s;
    fuzz::put_u8(s, static_cast<std::uint8_t>(fuzz::linktype_selector(linktype)));
    s += frame;
    seed("decode", name + "-dlt" + std::to_string(linktype) + "-" + std::to_string(g_count["decode"]), s);
  }
}

// Decode seeds and flows from one capture.
void packet_seeds(const fs::path& f, const fs::path& corpus, std::set<std::string>& kinds,
                  std::set<std::string>& l4_kinds, std::vector<Flow>& flows) {
  std::unique_ptr<pcapio::PacketReader> r;
  try {
    r = pcapio::open_capture(f.string());
  } catch (const std::exception&) {
    return;
  }
  const std::string name = flat_name(f, corpus);
  std::map<FlowKey, std::size_t> index;
  pcapio::RawRecord rec;
  int n = 0;
  try {
    while (r->next(rec) == pcapio::ReadResult::record) {
      Packet p{};
      p.data = rec.data;
      p.caplen = rec.caplen;
      p.wirelen = rec.wirelen;
      p.linktype = rec.linktype;
      decode::decode_packet(p);
      ++n;
      const int sel = fuzz::linktype_selector(rec.linktype);
      if (sel >= 0 && rec.caplen < 0xFFFF) {
        std::ostringstream kind;
        kind << p.linktype << '/' << p.flags << '/' << int(p.ip_version) << '/' << int(p.l4_proto) << '/'
             << int(p.tunnel) << '/' << (p.vlan != 0);
        if (n <= 6 || kinds.insert(kind.str()).second) {
          std::string s;
          fuzz::put_u8(s, static_cast<std::uint8_t>(sel | (rec.wirelen > rec.caplen ? fuzz::kSnapCut : 0)));
          s.append(reinterpret_cast<const char*>(rec.data), rec.caplen);
          seed("decode", name + "-" + std::to_string(n), s);
        }
        // One packet per IP version, protocol and tunnel behind every link type.
        const std::string l4 = std::to_string(p.ip_version) + '/' + std::to_string(p.l4_proto) + '/' +
                               std::to_string(static_cast<int>(p.tunnel));
        if (p.is_ip() && l4_kinds.insert(l4).second) link_variants(p, name + "-" + std::to_string(n));
      }
      // Flows: TCP and UDP with a complete L4 header, not fragments.
      if ((p.l4_proto != 6 && p.l4_proto != 17) || p.l4_off == kNoOffset || p.has(kL4Truncated) ||
          p.has(kFragment))
        continue;
      const bool a_first = std::tie(p.src, p.sport) < std::tie(p.dst, p.dport);
      const FlowKey key = a_first ? FlowKey{p.ip_version, p.l4_proto, p.src, p.sport, p.dst, p.dport}
                                  : FlowKey{p.ip_version, p.l4_proto, p.dst, p.dport, p.src, p.sport};
      auto [it, fresh] = index.emplace(key, flows.size());
      if (fresh) {
        Flow fl;
        fl.proto = p.l4_proto;
        // The first packet's sender is the client, unless it answers a SYN.
        const bool answer = p.l4_proto == 6 && (p.tcp_flags & 0x12) == 0x12;
        fl.client = answer ? p.dst : p.src;
        fl.client_port = answer ? p.dport : p.sport;
        fl.server_port = answer ? p.sport : p.dport;
        fl.name = name + "-" + std::to_string(index.size());
        flows.push_back(std::move(fl));
      }
      Flow& fl = flows[it->second];
      if (fl.pkts.size() >= kFlowPackets) continue;
      FlowPkt k;
      k.dir = (p.src == fl.client && p.sport == fl.client_port) ? 0 : 1;
      k.flags = p.tcp_flags;
      if (p.l4_proto == 6 && p.l4_off + 8u <= p.caplen) {
        k.seq = rd32(p.data + p.l4_off + 4);
        k.has_seq = true;
      }
      if (p.payload_off != kNoOffset && p.payload_len)
        k.payload.assign(reinterpret_cast<const char*>(p.payload()), p.payload_len);
      fl.pkts.push_back(std::move(k));
    }
  } catch (const InputError&) {
    // a damaged tail: what came before is used
  }
}

// fsmdpi framing (fuzz_fsmdpi.cpp) of a TCP flow, with the real sequence
// numbers approximated by the retransmission / gap bits.
std::string tcp_flow_input(const Flow& fl, std::uint8_t selector) {
  std::string s;
  fuzz::put_u8(s, selector);
  fuzz::put_u16(s, fl.client_port);
  fuzz::put_u16(s, fl.server_port);
  std::uint32_t expect[2] = {0, 0};
  bool known[2] = {false, false};
  for (const FlowPkt& k : fl.pkts) {
    std::uint8_t h = k.dir;
    if (k.flags & 0x02) h |= 2;
    if (k.has_seq && known[k.dir] && !(k.flags & 0x02)) {
      const std::int32_t delta = static_cast<std::int32_t>(k.seq - expect[k.dir]);
      if (delta < 0) h |= 4;
      if (delta > 0) h |= 8;
    }
    if (k.has_seq) {
      expect[k.dir] = k.seq + static_cast<std::uint32_t>(k.payload.size()) + ((k.flags & 0x02) ? 1 : 0);
      known[k.dir] = true;
    }
    fuzz::put_record(s, h, reinterpret_cast<const std::uint8_t*>(k.payload.data()), k.payload.size());
  }
  return s;
}

// The machine the TCP harness opens for this flow (kTcpMachines if none).
fsmdpi::MachineId opened_machine(const Flow& fl) {
  fsmdpi::Config cfg;
  fsmdpi::TcpFlow flow;
  FlowRecord rec;
  fsmdpi::Tally tally;
  for (const FlowPkt& k : fl.pkts) {
    fsmdpi::TcpPacket t;
    t.payload = reinterpret_cast<const std::uint8_t*>(k.payload.data());
    t.len = static_cast<std::uint32_t>(k.payload.size());
    t.dir = k.dir;
    t.flags = k.flags;
    t.seq = k.seq;
    t.server_port = fl.server_port;
    flow.on_packet(cfg, t, rec, tally);
  }
  return flow.machine();
}

void flow_seeds(const std::vector<Flow>& flows) {
  std::map<int, int> per_machine;
  int udp_rtp = 0, match = 0;
  for (const Flow& fl : flows) {
    const bool payload =
        std::any_of(fl.pkts.begin(), fl.pkts.end(), [](const FlowPkt& k) { return !k.payload.empty(); });
    if (!payload) continue;
    if (fl.proto == 6) {
      const fsmdpi::MachineId m = opened_machine(fl);
      int& n = per_machine[m];
      if (n < 40) {
        ++n;
        seed("fsmdpi", fl.name + "-all", tcp_flow_input(fl, 11));
        if (m != fsmdpi::kTcpMachines)
          seed("fsmdpi", fl.name + "-m" + std::to_string(m), tcp_flow_input(fl, m));
      }
    } else if (fl.client_port > 1024 && fl.server_port > 1024 && udp_rtp < 150) {
      ++udp_rtp;
      std::string s;
      fuzz::put_u8(s, 12);
      fuzz::put_u16(s, fl.client_port);
      fuzz::put_u16(s, fl.server_port);
      for (const FlowPkt& k : fl.pkts)
        fuzz::put_record(s, k.dir, reinterpret_cast<const std::uint8_t*>(k.payload.data()), k.payload.size());
      seed("fsmdpi", fl.name + "-rtp", s);
    }
    if (match < 600) {
      ++match;
      std::string s;
      fuzz::put_u8(s, fl.proto == 17 ? 1 : 0);
      fuzz::put_u16(s, fl.client_port);
      fuzz::put_u16(s, fl.server_port);
      int kept = 0;
      for (const FlowPkt& k : fl.pkts) {
        if (k.payload.empty()) continue;
        if (++kept > kMatchPayloads) break;
        fuzz::put_record(s, k.dir, reinterpret_cast<const std::uint8_t*>(k.payload.data()), k.payload.size());
      }
      seed("pdpi_match", fl.name, s);
    }
  }
}

// ------------------------------------------------------------ text inputs
void text_seeds(const fs::path& repo) {
  for (const auto& e : fs::directory_iterator(repo / "compositions"))
    if (e.path().extension() == ".xml")
      seed("composition", e.path().filename().string(), read_file(e.path()));
  seed("composition", "variant-replicas.xml",
       "<composition name=\"v\" threads=\"2\" batch=\"64\" max-in-flight=\"8\">\n"
       "  <var name=\"input\" default=\"a.pcap\" doc=\"d\"/>\n  <var name=\"n\"/>\n"
       "  <block id=\"cap\" type=\"PcapSource\"><param name=\"files\" value=\"${input}\"/>\n"
       "    <param name=\"rate\" value=\"1.5e3\"/><param name=\"buffer_size\" value=\"8MiB\"/></block>\n"
       "  <block id=\"trk\" type=\"FlowTracker\" replicas=\"auto\">\n"
       "    <param name=\"tcp_idle_time\" value=\"1.5m\"/><param name=\"gc_trigger\" "
       "value=\"new_flow\"/></block>\n"
       "  <block id=\"t\" type=\"Tee\"><param name=\"n\" value=\"0x10\"/><param name=\"x\" value=\"-2.5\"/>"
       "<param name=\"on\" value=\"yes\"/></block>\n"
       "  <block id=\"cnt\" type=\"PacketCounter\" replicas=\"3\"/>\n"
       "  <connect from=\"cap.out\" to=\"trk.in\"/>\n  <connect from=\"trk.out\" to=\"t.in\"/>\n"
       "  <connect from=\"t.a\" to=\"cnt.in\"/>\n</composition>\n");
  seed(
      "composition", "variant-errors.xml",
      "<composition threads=\"-1\" batch=\"0\">\n  <block id=\"a\" type=\"Tee\"><param name=\"n\" "
      "value=\"1\"/>"
      "<param name=\"x\" value=\"1\"/><param name=\"on\" value=\"1\"/></block>\n"
      "  <block id=\"b\" type=\"Tee\"><param name=\"n\" value=\"1\"/><param name=\"x\" value=\"1\"/>"
      "<param name=\"on\" value=\"0\"/></block>\n"
      "  <connect from=\"a.a\" to=\"b.in\"/>\n  <connect from=\"b.b\" to=\"a.in\"/>\n"
      "  <connect from=\"a.zz\" to=\"nowhere.in\"/>\n  <block id=\"9bad\" type=\"Nope\"/>\n</composition>\n");

  const fs::path sig = repo / "blocks/classifiers/signatures/tstat.sig";
  const std::string dict = read_file(sig);
  seed("pdpi_signatures", "tstat.sig", dict);
  std::istringstream lines(dict);
  std::string line;
  int n = 0;
  while (std::getline(lines, line))
    if (!line.empty() && line[0] != '#' && line.rfind("netloom-signatures", 0) != 0)
      seed("pdpi_signatures", "line-" + std::to_string(++n), "netloom-signatures 1\n" + line + "\n");

  for (const auto& e : fs::directory_iterator(repo / "blocks/classifiers/bayes/skype"))
    if (e.path().extension() == ".conf")
      seed("bayes_config", e.path().filename().string(), read_file(e.path()));
  seed("bayes_config", "discrete.conf",
       "FEATURE AVGIPG\nWINDOW_SIZE 3\nCLASS_LEN 8\nUSE_LOG 0\nNORMALIZE 1\nAUTO_OTHER 1\n"
       "MIN_THRESHOLD 1e-5\nAVG_THRESHOLD 0.01\nWIN_THRESHOLD 0\nPRC_THRESHOLD 0.9\n"
       "DISCRETE A =\nDISCRETE B 0.25\nGAUSSIAN g = 3 1.5\nGAUSSIAN+ mix = 2 (0.5, 2, 1) (0.5, 6, 0.5)\n");
  seed("bayes_config", "errors.conf", "FEATURE PKTSIZE\nCLASS_LEN 300\nDISCRETE long =\nDISCRETE zero =\n");
}

// IPFIX: what an IPFIXExporter sends (the four templates, then records of
// flows of each layout, with labels and layer-7 strings), over UDP and TCP,
// and a session that withdraws its templates.
void ipfix_seeds() {
  std::vector<FlowRecord> flows;
  for (int v : {4, 6})
    for (std::uint8_t proto : {std::uint8_t{6}, std::uint8_t{17}}) {
      FlowRecord r;
      r.key.ip_version = static_cast<std::uint8_t>(v);
      r.key.l4_proto = proto;
      r.key.client[0] = 10, r.key.client[15] = 1;
      r.key.server[0] = 192, r.key.server[15] = 2;
      r.key.client_port = 40000;
      r.key.server_port = proto == 6 ? 443 : 53;
      r.first_ns = 1700000000000000000ull;
      r.last_ns = r.first_ns + 1234567;
      r.end = FlowEnd::fin;
      r.complete = true;
      r.tcp[0].pkts_all = r.udp[0].pkts_all = 7;
      r.tcp[1].pkts_all = r.udp[1].pkts_all = 5;
      r.tcp[0].bytes_all = r.udp[0].bytes_all = 700;
      r.tcp[1].bytes_all = r.udp[1].bytes_all = 5000;
      r.labels.app = proto == 6 ? "TLS" : "DNS";
      r.l7.tls_sni = "www.example.org";
      flows.push_back(r);
    }
  auto message = [&](std::uint32_t seq, bool templates, bool records) {
    ipfix::Bytes b;
    ipfix::begin_message(b, 1700000000, seq, 1);
    if (templates) {
      const std::size_t set = ipfix::open_set(b, ipfix::kTemplateSetId);
      for (const ipfix::Template& t : ipfix::export_templates()) ipfix::put_template(b, t);
      ipfix::close_set(b, set);
    }
    if (records)
      for (const FlowRecord& r : flows) {
        const ipfix::Layout l = ipfix::layout_of(r);
        const std::size_t set = ipfix::open_set(b, static_cast<std::uint16_t>(l));
        ipfix::put_record(b, r, l);
        ipfix::close_set(b, set);
      }
    ipfix::finish_message(b);
    return b;
  };
  auto framed = [](std::string& out, std::uint8_t header, const ipfix::Bytes& m) {
    fuzz::put_record(out, header, m.data(), m.size());
  };
  std::string udp, tcp, mixed;
  framed(udp, 1, message(0, true, false));
  framed(udp, 1, message(0, false, true));
  framed(udp, 1 | 16, message(4, false, true));  // after the templates expired
  seed("ipfix", "udp", udp);
  framed(tcp, 4, message(0, true, true));
  framed(tcp, 4 | 8, message(4, false, true));  // then the connection ends
  framed(tcp, 4, message(8, false, true));      // records without templates
  seed("ipfix", "tcp", tcp);
  framed(mixed, 1, message(0, true, true));
  framed(mixed, 3, message(0, false, true));  // another exporter: its templates are unknown
  seed("ipfix", "two-exporters", mixed);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: make_seeds OUT_DIR REPO_ROOT [CORPUS_ROOT]\n";
    return 2;
  }
  g_out = argv[1];
  const fs::path repo = argv[2];
  const fs::path corpus = argc > 3 ? fs::path(argv[3]) : repo / "../shared/corpus";
  fs::create_directories(g_out);
  text_seeds(repo);
  ipfix_seeds();
  if (fs::is_directory(corpus / "dev")) {
    const auto files = captures(corpus);
    capture_seeds(files, corpus);
    std::set<std::string> kinds, l4_kinds;
    std::vector<Flow> flows;
    for (const fs::path& f : files) packet_seeds(f, corpus, kinds, l4_kinds, flows);
    flow_seeds(flows);
  } else {
    std::cerr << "make_seeds: no corpus at " << corpus.string()
              << ": seeds for decode, capture, fsmdpi and pdpi_match come from the repository only\n";
  }
  // Targets without capture seeds still get one input each.
  for (const char* t : {"decode", "capture", "fsmdpi", "pdpi_match"})
    if (!g_count.count(t)) seed(t, "empty", std::string(1, '\0'));
  for (const auto& [t, n] : g_count) std::cout << t << ": " << n << " seeds\n";
  return 0;
}
