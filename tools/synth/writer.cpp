// Output: pcap through libpcap's dumper, labels as CSV.
#include <pcap/pcap.h>

#include <fstream>
#include <stdexcept>

#include "synth.hpp"

namespace netloom::synth {

LinkType parse_link_type(const std::string& name) {
  if (name == "ethernet" || name == "eth" || name == "en10mb") return LinkType::ethernet;
  if (name == "raw") return LinkType::raw;
  if (name == "sll") return LinkType::sll;
  throw std::invalid_argument("unknown link type '" + name + "' (ethernet, raw or sll)");
}

int dlt_of(LinkType link) {
  switch (link) {
    case LinkType::raw:
      return DLT_RAW;
    case LinkType::sll:
      return DLT_LINUX_SLL;
    case LinkType::ethernet:
      break;
  }
  return DLT_EN10MB;
}

void write_pcap(const Trace& trace, const Options& opt, const std::string& path) {
  const int precision = opt.nanosecond ? PCAP_TSTAMP_PRECISION_NANO : PCAP_TSTAMP_PRECISION_MICRO;
  pcap_t* dead = pcap_open_dead_with_tstamp_precision(dlt_of(trace.link), 262144, precision);
  if (dead == nullptr) throw std::runtime_error("pcap_open_dead failed");
  pcap_dumper_t* d = pcap_dump_open(dead, path.c_str());
  if (d == nullptr) {
    std::string err = pcap_geterr(dead);
    pcap_close(dead);
    throw std::runtime_error("cannot write " + path + ": " + err);
  }
  for (const Packet& p : trace.packets) {
    pcap_pkthdr h{};
    h.ts.tv_sec = static_cast<time_t>(opt.start + static_cast<int64_t>(p.t_ns / kSec));
    const uint64_t frac = p.t_ns % kSec;
    h.ts.tv_usec = static_cast<suseconds_t>(opt.nanosecond ? frac : frac / kUs);  // ns when nano precision
    h.caplen = h.len = static_cast<bpf_u_int32>(p.frame.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, p.frame.data());
  }
  const bool failed = pcap_dump_flush(d) != 0;
  pcap_dump_close(d);
  pcap_close(dead);
  if (failed) throw std::runtime_error("write error on " + path);
}

void write_labels(const Trace& trace, const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << "l4,client,server,label,packets,bytes\n";
  for (const FlowInfo& f : trace.flows)
    out << f.l4 << ',' << f.client << ',' << f.server << ',' << f.label << ',' << f.packets << ',' << f.bytes
        << '\n';
  if (!out.flush()) throw std::runtime_error("write error on " + path);
}

}  // namespace netloom::synth
