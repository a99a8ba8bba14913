// netloom-synth: a deterministic synthesizer of small, realistic captures with
// per-flow ground truth. Same options (including the seed) => same bytes.
#pragma once

#include <cstdint>
#include <string>

#include "trace.hpp"

namespace netloom::synth {

struct Options {
  uint64_t seed = 1;
  int flows = 60;              // exact number of flows (rows of the labels file)
  double duration = 120.0;     // seconds over which flows start
  int64_t start = 1705312800;  // epoch of the first second (2024-01-15 10:00:00 UTC)
  LinkType link = LinkType::ethernet;
  bool nanosecond = false;
};

// Builds the whole trace: packets in time order, flows numbered by first packet
// with their packet and byte counts filled in.
Trace generate(const Options& opt);

// Writes the trace with libpcap's dumper. Throws std::runtime_error on failure.
void write_pcap(const Trace& trace, const Options& opt, const std::string& path);
// One row per flow: l4,client,server,label,packets,bytes (with a header line).
void write_labels(const Trace& trace, const std::string& path);

LinkType parse_link_type(const std::string& name);  // ethernet|raw|sll, throws otherwise
int dlt_of(LinkType link);

}  // namespace netloom::synth
