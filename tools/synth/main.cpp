// netloom-synth: writes a small deterministic capture (and its per-flow labels).
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "synth.hpp"

int main(int argc, char** argv) {
  using namespace netloom::synth;
  Options opt;
  std::string out, labels, link = "ethernet";
  CLI::App app{"netloom-synth: deterministic synthetic traffic capture with per-flow ground truth"};
  app.add_option("-o,--output", out, "pcap file to write")->required();
  app.add_option("--seed", opt.seed, "random seed (same seed, same bytes)")->capture_default_str();
  app.add_option("--flows", opt.flows, "number of flows")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--duration", opt.duration, "seconds of trace time")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  app.add_option("--start", opt.start, "epoch seconds of the trace start")->capture_default_str();
  app.add_option("--linktype", link, "ethernet, raw or sll")
      ->check(CLI::IsMember({"ethernet", "raw", "sll"}))
      ->capture_default_str();
  app.add_flag("--nanosecond", opt.nanosecond, "nanosecond-resolution pcap");
  app.add_option("--labels", labels,
                 "write per-flow ground truth CSV (l4,client,server,label,packets,bytes)");
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "no summary on stderr");
  CLI11_PARSE(app, argc, argv);
  try {
    opt.link = parse_link_type(link);
    Trace trace = generate(opt);
    write_pcap(trace, opt, out);
    if (!labels.empty()) write_labels(trace, labels);
    if (!quiet) {
      uint64_t bytes = 0;
      for (const auto& p : trace.packets) bytes += p.frame.size();
      std::fprintf(stderr, "netloom-synth: %s: %zu packets, %zu flows, %llu bytes of frames\n", out.c_str(),
                   trace.packets.size(), trace.flows.size(), static_cast<unsigned long long>(bytes));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "netloom-synth: %s\n", e.what());
    return 1;
  }
  return 0;
}
