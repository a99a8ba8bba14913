// Target: the composition parser and validator (core/composition). Input: a
// composition's XML text. It is parsed twice (without defines, and with the
// -D input/out the repository's compositions take), then validated against a
// fixed set of block descriptions modelled on the stock blocks (their types,
// ports, message types, threading, and parameters of every type with ranges
// and choices), so that real compositions validate and mutations of them
// reach every check.
//
// Invariants besides memory safety: every error has a message and a line
// within the file; a valid composition has typed values for every declared
// parameter, a topological order of all its blocks, and each value prints
// (format_param_value) to text that parses back to the same value.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "composition/composition.hpp"
#include "fuzz_check.hpp"

using namespace netloom;
using namespace netloom::core;

namespace {

PortSpec port(std::string name, std::string type, bool required = true) {
  PortSpec p;
  p.name = std::move(name);
  p.type = std::move(type);
  p.required = required;
  return p;
}
PortSpec out_port(std::string name, std::string type) {
  return port(std::move(name), std::move(type), false);
}

std::vector<BlockInfo> make_infos() {
  const std::string pk = "PacketBatch", fl = "FlowBatch", cl = "ClassificationBatch", hw = "HistogramWindow";
  std::vector<BlockInfo> v;
  {
    BlockInfo i;
    i.type = "PcapSource";
    i.outputs = {out_port("out", pk)};
    i.params = {param<std::string>("files", "", ""),
                param<std::string>("filter", "", ""),
                param<int>("snaplen", 262144, "").range(64, 262144),
                param<bool>("promisc", true, ""),
                size("buffer_size", "64MiB", "").range(1024.0 * 1024, 4.0 * 1024 * 1024 * 1024),
                param<double>("rate", 0.0, "").range(0, 1e9)};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "FlowTracker";
    i.threading = Threading::replicable;
    i.inputs = {port("in", pk).writes()};
    i.outputs = {out_port("out", pk), out_port("records", fl)};
    i.params = {duration("tcp_idle_time", "300s", ""),
                duration("gc_interval", "1s", ""),
                param<std::string>("gc_trigger", "clock", "").one_of({"clock", "new_flow"}),
                param<std::int64_t>("max_flows", 1000000, "").range(1, 1e9),
                param<std::string>("net_file", "", ""),
                duration("interim", "0s", "").live_change()};
    v.push_back(i);
  }
  for (const char* t : {"PDPI", "FSMDPI", "BayesClassifier"}) {
    BlockInfo i;
    i.type = t;
    i.threading = Threading::replicable;
    i.inputs = {port("in", pk)};
    i.outputs = {out_port("out", pk), out_port("records", fl), out_port("events", cl)};
    i.params = {param<std::int64_t>("max_packets", 40, "").range(1, 1000000),
                param<std::string>("machines", "all", ""),
                param<double>("chi_threshold", 150.0, "").range(0, 1e9)};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "LogSink";
    i.inputs = {port("in", fl, false), port("flows", pk, false)};
    i.params = {required_param("dir", ParamType::string, ""),
                param<std::string>("format", "tstat", "").one_of({"tstat", "json", "csv"}),
                param<std::string>("layout", "tstat", "").one_of({"tstat", "flat"}),
                param<int>("tcp_log_mask", 15, "").range(0, 31),
                duration("rotate", "0", ""),
                param<bool>("gzip", false, "")};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "HistogramSink";
    i.inputs = {port("in", pk)};
    i.outputs = {out_port("windows", hw)};
    i.params = {param<std::string>("dir", "", ""),
                param<std::string>("layout", "tstat", "").one_of({"tstat", "flat"}),
                param<std::string>("net_file", "", ""), duration("step", "300s", "").range(1, 86400),
                param<std::string>("config", "", "")};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "RRDSink";
    i.inputs = {port("in", hw)};
    i.params = {required_param("dir", ParamType::string, ""), duration("step", "300s", "")};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "PcapSink";
    i.inputs = {port("in", pk)};
    i.params = {required_param("dir", ParamType::string, ""),
                param<std::string>("layout", "tstat", "").one_of({"tstat", "flat"}),
                param<std::string>("udp", "", ""),
                param<bool>("ip_complete", false, ""),
                size("tcp_maxbytes", "0", "").range(0, 2147483647.0),
                param<bool>("gzip", false, "")};
    v.push_back(i);
  }
  {
    BlockInfo i;
    i.type = "PacketCounter";
    i.threading = Threading::stateless;
    i.inputs = {port("in", pk)};
    i.outputs = {out_port("out", pk)};
    i.params = {param<std::string>("output", "", ""),
                param<std::string>("format", "json", "").one_of({"json", "text"})};
    v.push_back(i);
  }
  {
    BlockInfo i;  // any message type in and out, a required integer and real
    i.type = "Tee";
    i.threading = Threading::stateless;
    i.inputs = {port("in", "*")};
    i.outputs = {out_port("a", "*"), out_port("b", "*")};
    i.params = {required_param("n", ParamType::integer, ""), required_param("x", ParamType::real, ""),
                required_param("on", ParamType::boolean, "")};
    v.push_back(i);
  }
  return v;
}

const std::vector<BlockInfo>& infos() {
  static const std::vector<BlockInfo> v = make_infos();
  return v;
}

const BlockInfo* lookup(std::string_view type) {
  for (const BlockInfo& i : infos())
    if (i.type == type) return &i;
  return nullptr;
}

void check(const std::string& xml, const std::map<std::string, std::string>& defines) {
  static const std::string kFile = "fuzz.xml";
  const int lines = 1 + static_cast<int>(std::count(xml.begin(), xml.end(), '\n'));
  std::vector<Diagnostic> errors;
  Composition c = parse_composition_string(xml, kFile, defines, errors);
  for (const Diagnostic& d : errors) {
    if (d.message.empty() || d.loc.line < 0 || d.loc.line > lines)
      std::fprintf(stderr, "diagnostic: '%s' (the file has %d lines)\n", d.str().c_str(), lines);
    FUZZ_CHECK(!d.message.empty());
    FUZZ_CHECK(d.loc.line >= 0 && d.loc.line <= lines);
  }
  const std::size_t parse_errors = errors.size();
  ValidatedComposition v;
  const bool ok = validate_composition(c, lookup, v, errors);
  FUZZ_CHECK(ok == (errors.size() == parse_errors));
  for (std::size_t k = parse_errors; k < errors.size(); ++k) {
    if (errors[k].message.empty() || errors[k].loc.line < 0 || errors[k].loc.line > lines)
      std::fprintf(stderr, "diagnostic: '%s' (the file has %d lines)\n", errors[k].str().c_str(), lines);
    FUZZ_CHECK(!errors[k].message.empty());
    FUZZ_CHECK(errors[k].loc.line >= 0 && errors[k].loc.line <= lines);
  }
  if (!ok) return;
  FUZZ_CHECK(v.topo_order.size() == c.blocks.size());
  for (const BlockDecl& b : c.blocks) {
    const BlockInfo* info = v.infos.at(b.id);
    const Params& ps = v.params.at(b.id);
    for (const ParamSpec& spec : info->params) {
      const ParamValue& val = ps.at(spec.name);
      const std::string text = format_param_value(spec, val);
      FUZZ_CHECK(parse_param_value(spec, text) == val);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string xml(reinterpret_cast<const char*>(data), size);
  check(xml, {});
  check(xml, {{"input", "trace.pcap"}, {"out", "out/dir"}});
  return 0;
}
