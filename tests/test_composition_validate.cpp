// validate_composition against BlockInfo fixtures built here (no plugins):
// typed params, topological order, and every validation error asserted
// exactly (Diagnostic::str(), including the line number).
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "composition/composition.hpp"

using namespace netloom::core;
using netloom::PortSpec;
using netloom::Threading;

namespace {

using V = std::vector<std::string>;

PortSpec port(const char* name, const char* type, bool required = true) {
  PortSpec p;
  p.name = name;
  p.type = type;
  p.required = required;
  return p;
}

// Fake block types, shaped like the stock ones.
const std::map<std::string, BlockInfo, std::less<>>& fixtures() {
  static const auto* m = [] {
    auto* r = new std::map<std::string, BlockInfo, std::less<>>;
    BlockInfo src;
    src.type = "PcapSource";
    src.outputs = {port("out", "PacketBatch", false)};
    src.params = {netloom::required_param("files", ParamType::string, "capture files"),
                  netloom::param<int>("snaplen", 65535, "bytes kept per packet").range(64, 65535),
                  netloom::param<bool>("loop", false, "replay forever")};
    src.threading = Threading::serial;
    (*r)[src.type] = src;

    BlockInfo trk;
    trk.type = "FlowTracker";
    trk.inputs = {port("in", "PacketBatch")};
    trk.outputs = {port("out", "PacketBatch", false), port("flows", "FlowBatch", false)};
    trk.params = {netloom::duration("timeout", "300s", "idle timeout").range(1, 86400),
                  netloom::size("table", "64MiB", "flow table memory")};
    trk.threading = Threading::replicable;
    (*r)[trk.type] = trk;

    BlockInfo cnt;
    cnt.type = "FlowCounter";
    cnt.inputs = {port("in", "FlowBatch")};
    cnt.params = {netloom::param<std::string>("output", "counts.json", "where to write"),
                  netloom::param<std::string>("mode", "fast", "how").one_of({"fast", "slow"}),
                  netloom::param<double>("ratio", 0.5, "sampling").range(0, 1)};
    cnt.threading = Threading::stateless;
    (*r)[cnt.type] = cnt;

    BlockInfo tap;  // passes anything through; optional side input
    tap.type = "Tap";
    tap.inputs = {port("in", "*"), port("aux", "PacketBatch", false)};
    tap.outputs = {port("out", "*", false)};
    tap.threading = Threading::stateless;
    (*r)[tap.type] = tap;

    BlockInfo cls;  // a classifier: packets in, the same packets out
    cls.type = "Classifier";
    cls.inputs = {port("in", "PacketBatch")};
    cls.outputs = {port("out", "PacketBatch", false)};
    cls.threading = Threading::replicable;
    (*r)[cls.type] = cls;

    BlockInfo fst;  // per-flow state fed flow records
    fst.type = "FlowStats";
    fst.inputs = {port("in", "FlowBatch")};
    fst.threading = Threading::replicable;
    (*r)[fst.type] = fst;

    BlockInfo null;
    null.type = "Null";
    null.inputs = {port("in", "*")};
    null.threading = Threading::serial;
    (*r)[null.type] = null;

    BlockInfo bad;  // a block whose own default does not parse
    bad.type = "BadDefault";
    bad.params = {netloom::duration("every", "soon", "broken default")};
    (*r)[bad.type] = bad;
    return r;
  }();
  return *m;
}

const BlockInfo* lookup(std::string_view type) {
  auto it = fixtures().find(type);
  return it == fixtures().end() ? nullptr : &it->second;
}

struct Result {
  bool ok = false;
  V parse_errors, errors;
  ValidatedComposition vc;
};

Result check(const std::string& xml, const std::map<std::string, std::string>& defs = {}) {
  Result r;
  std::vector<Diagnostic> pe, ve;
  Composition c = parse_composition_string(xml, "v.xml", defs, pe);
  for (const auto& d : pe) r.parse_errors.push_back(d.str());
  r.ok = validate_composition(c, lookup, r.vc, ve);
  for (const auto& d : ve) r.errors.push_back(d.str());
  EXPECT_EQ(r.ok, ve.empty());
  return r;
}

// A composition body wrapped in <composition> on line 1 (the body starts on line 2).
std::string comp(std::initializer_list<const char*> body) {
  std::string s = "<composition name=\"t\">\n";
  for (const char* l : body) s += std::string(l) + "\n";
  return s + "</composition>\n";
}

}  // namespace

TEST(CompositionValidate, GoodPipeline) {
  Result r = check(comp({
      R"(  <block id="cnt" type="FlowCounter">)",                  // 2
      R"(    <param name="mode" value="slow"/>)",                  // 3
      R"(  </block>)",                                             // 4
      R"(  <block id="trk" type="FlowTracker" replicas="auto">)",  // 5
      R"(    <param name="timeout" value="${t}"/>)",               // 6
      R"(  </block>)",                                             // 7
      R"(  <var name="t" default="2m"/>)",                         // 8
      R"(  <block id="cap" type="PcapSource">)",                   // 9
      R"(    <param name="files" value="a.pcap,b.pcap"/>)",        // 10
      R"(    <param name="snaplen" value="0x100"/>)",              // 11
      R"(  </block>)",                                             // 12
      R"(  <connect from="trk.flows" to="cnt.in"/>)",              // 13
      R"(  <connect from="cap.out" to="trk.in"/>)",                // 14
  }));
  EXPECT_EQ(r.parse_errors, V{});
  EXPECT_EQ(r.errors, V{});
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(r.vc.topo_order, (V{"cap", "trk", "cnt"}));
  EXPECT_EQ(r.vc.comp.blocks.size(), 3u);
  EXPECT_EQ(r.vc.comp.name, "t");
  ASSERT_EQ(r.vc.infos.size(), 3u);
  EXPECT_EQ(r.vc.infos.at("cap"), lookup("PcapSource"));
  EXPECT_EQ(r.vc.infos.at("trk"), lookup("FlowTracker"));
  const auto& cap = r.vc.params.at("cap");
  EXPECT_EQ(cap.get_string("files"), "a.pcap,b.pcap");
  EXPECT_EQ(cap.get_int("snaplen"), 256);
  EXPECT_EQ(cap.get_bool("loop"), false);  // default filled in
  EXPECT_EQ(cap.all().size(), 3u);
  const auto& trk = r.vc.params.at("trk");
  EXPECT_EQ(trk.get_duration_ns("timeout"), 120'000'000'000);
  EXPECT_EQ(trk.get_size("table"), 64 << 20);
  const auto& cnt = r.vc.params.at("cnt");
  EXPECT_EQ(cnt.get_string("mode"), "slow");
  EXPECT_EQ(cnt.get_string("output"), "counts.json");
  EXPECT_DOUBLE_EQ(cnt.get_real("ratio"), 0.5);
}

TEST(CompositionValidate, SourcesFirstAndFanInFanOut) {
  Result r = check(comp({
      R"(  <block id="sink" type="Null"/>)",
      R"(  <block id="a" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="t1" type="Tap"/>)", R"(  <block id="t2" type="Tap"/>)",
      R"(  <block id="b" type="PcapSource"><param name="files" value="b"/></block>)",
      R"(  <connect from="a.out" to="t1.in"/>)",
      R"(  <connect from="a.out" to="t2.in"/>)",  // fan-out
      R"(  <connect from="b.out" to="t2.aux"/>)",
      R"(  <connect from="t1.out" to="sink.in"/>)",  // fan-in
      R"(  <connect from="t2.out" to="sink.in"/>)",
      R"(  <connect from="b.out" to="sink.in"/>)",  // PacketBatch into "*"
  }));
  EXPECT_EQ(r.errors, V{});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.vc.topo_order, (V{"a", "b", "t1", "t2", "sink"}));
}

TEST(CompositionValidate, OptionalInputMayStayUnconnected) {
  Result r = check(comp({
      R"(  <block id="a" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="t" type="Tap"/>)",
      R"(  <connect from="a.out" to="t.in"/>)",
  }));
  EXPECT_EQ(r.errors, V{});
  EXPECT_EQ(r.vc.topo_order, (V{"a", "t"}));
}

TEST(CompositionValidate, UnknownBlockType) {
  Result r = check(comp({
      R"(  <block id="x" type="PcapSorce"/>)",
  }));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.errors,
            V{"v.xml:2: block 'x': unknown block type 'PcapSorce' (`netloom inspect` lists the available "
              "types)"});
  EXPECT_TRUE(r.vc.topo_order.empty());
}

TEST(CompositionValidate, DuplicateAndInvalidIds) {
  Result r = check(comp({
      R"(  <block id="t" type="Tap"/>)",        // 2
      R"(  <block id="u" type="Null"/>)",       // 3
      R"(  <block id="t" type="Null"/>)",       // 4
      R"(  <block id="9lives" type="Null"/>)",  // 5
      R"(  <block id="a.b" type="Null"/>)",     // 6
      R"(  <block id="" type="Null"/>)",        // 7
      R"(  <block id="ok_id-2" type="Tap"/>)",  // 8
  }));
  EXPECT_EQ(
      r.errors,
      (V{
          "v.xml:4: block 't': duplicate block id (first declared at line 2)",
          "v.xml:5: invalid block id '9lives': ids start with a letter or '_' and contain only letters, "
          "digits, "
          "'_' and '-'",
          "v.xml:6: invalid block id 'a.b': ids start with a letter or '_' and contain only letters, digits, "
          "'_' and '-'",
          "v.xml:7: invalid block id '': ids start with a letter or '_' and contain only letters, digits, "
          "'_' "
          "and '-'",
          "v.xml:2: block 't': required input port 'in' (*) is not connected",
          "v.xml:3: block 'u': required input port 'in' (*) is not connected",
          "v.xml:8: block 'ok_id-2': required input port 'in' (*) is not connected",
      }));
}

TEST(CompositionValidate, EndpointErrors) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="cnt" type="FlowCounter"/>)",                                       // 3
      R"(  <block id="trk" type="FlowTracker"/>)",                                       // 4
      R"(  <block id="n" type="Null"/>)",                                                // 5
      R"(  <block id="q" type="Nope"/>)",                                                // 6
      R"(  <connect from="cap.outt" to="trk.in"/>)",                                     // 7
      R"(  <connect from="trk.flows" to="cnt.input"/>)",                                 // 8
      R"(  <connect from="cnt.out" to="n.in"/>)",                                        // 9
      R"(  <connect from="cap" to="trk."/>)",                                            // 10
      R"(  <connect from=".out" to="n.in"/>)",                                           // 11
      R"(  <connect from="capx.out" to="n.in"/>)",                                       // 12
      R"(  <connect from="trk.out" to="cap.in"/>)",                                      // 13
      R"(  <connect from="q.out" to="trk.in"/>)",  // 14: unknown type, no more
  }));
  EXPECT_EQ(
      r.errors,
      (V{
          "v.xml:6: block 'q': unknown block type 'Nope' (`netloom inspect` lists the available types)",
          "v.xml:7: connect from='cap.outt': block 'cap' (PcapSource) has no output port 'outt' (outputs: "
          "out)",
          "v.xml:8: connect to='cnt.input': block 'cnt' (FlowCounter) has no input port 'input' (inputs: in)",
          "v.xml:9: connect from='cnt.out': block 'cnt' (FlowCounter) has no output port 'out' (it has no "
          "outputs)",
          "v.xml:10: connect from='cap': malformed endpoint, expected BLOCK.PORT",
          "v.xml:10: connect to='trk.': malformed endpoint, expected BLOCK.PORT",
          "v.xml:11: connect from='.out': malformed endpoint, expected BLOCK.PORT",
          "v.xml:12: connect from='capx.out': no block with id 'capx'",
          "v.xml:13: connect to='cap.in': block 'cap' (PcapSource) has no input port 'in' (it has no inputs)",
          // inputs named by a faulty connection count as connected: only cnt.in is really missing
          "v.xml:3: block 'cnt': required input port 'in' (FlowBatch) is not connected",
      }));
}

TEST(CompositionValidate, PortTypeMismatch) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="cnt" type="FlowCounter"/>)",                                       // 3
      R"(  <connect from="cap.out" to="cnt.in"/>)",                                      // 4
  }));
  EXPECT_EQ(r.errors, V{"v.xml:4: cap.out (PacketBatch) cannot feed cnt.in (FlowBatch)"});
}

TEST(CompositionValidate, WildcardPortsAcceptAnything) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="t" type="Tap"/>)", R"(  <block id="cnt" type="FlowCounter"/>)",
      R"(  <connect from="cap.out" to="t.in"/>)",
      R"(  <connect from="t.out" to="cnt.in"/>)",  // "*" output into FlowBatch input
  }));
  EXPECT_EQ(r.errors, V{});
}

TEST(CompositionValidate, ParameterErrors) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource">)",       // 2
      R"(    <param name="snaplen" value="70000"/>)",  // 3
      R"(    <param name="fles" value="x"/>)",         // 4
      R"(    <param name="loop" value="perhaps"/>)",   // 5
      R"(  </block>)",                                 // 6
      R"(  <block id="cnt" type="FlowCounter">)",      // 7
      R"(    <param name="mode" value="fats"/>)",      // 8
      R"(    <param name="ratio" value="0.1"/>)",      // 9
      R"(    <param name="ratio" value="0.2"/>)",      // 10
      R"(  </block>)",                                 // 11
      R"(  <block id="trk" type="FlowTracker">)",      // 12
      R"(    <param name="timeout" value="0.5s"/>)",   // 13
      R"(    <param name="table" value="lots"/>)",     // 14
      R"(  </block>)",                                 // 15
      R"(  <block id="n" type="Null">)",               // 16
      R"(    <param name="x" value="1"/>)",            // 17
      R"(  </block>)",                                 // 18
      R"(  <connect from="cap.out" to="trk.in"/>)",    // 19
      R"(  <connect from="trk.flows" to="cnt.in"/>)",  // 20
      R"(  <connect from="trk.out" to="n.in"/>)",      // 21
  }));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(
      r.errors,
      (V{
          "v.xml:3: block 'cap': parameter 'snaplen': '70000' is above the maximum 65535",
          "v.xml:4: block 'cap': unknown parameter 'fles' for PcapSource (parameters: files, snaplen, loop)",
          "v.xml:5: block 'cap': parameter 'loop': 'perhaps' is not a boolean (use true/false, yes/no, "
          "on/off "
          "or 1/0)",
          "v.xml:2: block 'cap': missing required parameter 'files' (string)",
          "v.xml:8: block 'cnt': parameter 'mode': 'fats' is not one of: fast, slow",
          "v.xml:10: block 'cnt': parameter 'ratio' given twice (first at line 9)",
          "v.xml:13: block 'trk': parameter 'timeout': '0.5s' is below the minimum 1s",
          "v.xml:14: block 'trk': parameter 'table': 'lots' is not a size (a number with an optional unit B, "
          "k/K/KiB, M/MiB, G/GiB, T/TiB, KB, MB, GB or TB)",
          "v.xml:17: block 'n': unknown parameter 'x' for Null (it takes no parameters)",
      }));
}

TEST(CompositionValidate, InvalidDefaultInBlockInfo) {
  Result r = check(comp({R"(  <block id="b" type="BadDefault"/>)"}));
  EXPECT_EQ(r.errors,
            V{"v.xml:2: block 'b': BadDefault declares an invalid default: parameter 'every': 'soon' is not "
              "a duration (a number with an optional unit ns, us, ms, s, m, h or d)"});
}

TEST(CompositionValidate, DuplicateConnection) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="trk" type="FlowTracker"/>)",                                       // 3
      R"(  <connect from="cap.out" to="trk.in"/>)",                                      // 4
      R"(  <connect from="cap.out" to="trk.in"/>)",                                      // 5
  }));
  EXPECT_EQ(r.errors, V{"v.xml:5: connection cap.out -> trk.in is given twice (first at line 4)"});
}

TEST(CompositionValidate, Cycle) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="a" type="Tap"/>)",                                                 // 3
      R"(  <block id="b" type="Tap"/>)",                                                 // 4
      R"(  <block id="c" type="Tap"/>)",                                                 // 5
      R"(  <block id="n" type="Null"/>)",                                                // 6
      R"(  <connect from="cap.out" to="a.aux"/>)",                                       // 7
      R"(  <connect from="a.out" to="b.in"/>)",                                          // 8
      R"(  <connect from="b.out" to="c.in"/>)",                                          // 9
      R"(  <connect from="c.out" to="a.in"/>)",                                          // 10
      R"(  <connect from="c.out" to="n.in"/>)",  // 11: downstream only
  }));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.errors, V{"v.xml:10: connections form a cycle: a -> b -> c -> a"});
}

TEST(CompositionValidate, SelfLoopAndTwoCycles) {
  Result r = check(comp({
      R"(  <block id="s" type="Tap"/>)",         // 2
      R"(  <block id="x" type="Tap"/>)",         // 3
      R"(  <block id="y" type="Tap"/>)",         // 4
      R"(  <connect from="s.out" to="s.in"/>)",  // 5
      R"(  <connect from="y.out" to="x.in"/>)",  // 6
      R"(  <connect from="x.out" to="y.in"/>)",  // 7
  }));
  EXPECT_EQ(r.errors, (V{"v.xml:5: connections form a cycle: s -> s",
                         "v.xml:6: connections form a cycle: x -> y -> x"}));
}

TEST(CompositionValidate, Replicas) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource" replicas="4"><param name="files" value="a"/></block>)",      // 2
      R"(  <block id="cap2" type="PcapSource" replicas="1"><param name="files" value="a"/></block>)",     // 3
      R"(  <block id="cap3" type="PcapSource" replicas="auto"><param name="files" value="a"/></block>)",  // 4
      R"(  <block id="t1" type="FlowTracker" replicas="0"/>)",                                            // 5
      R"(  <block id="t2" type="FlowTracker" replicas="1025"/>)",                                         // 6
      R"(  <block id="t3" type="FlowTracker" replicas="two"/>)",                                          // 7
      R"(  <block id="t4" type="FlowTracker" replicas="1024"/>)",                                         // 8
      R"(  <block id="t5" type="Tap" replicas="auto"/>)",      // 9: stateless
      R"(  <block id="t6" type="FlowTracker" replicas=""/>)",  // 10: given but empty = absent
      R"(  <connect from="cap.out" to="t1.in"/>)",
      R"(  <connect from="cap.out" to="t2.in"/>)",
      R"(  <connect from="cap2.out" to="t3.in"/>)",
      R"(  <connect from="cap3.out" to="t4.in"/>)",
      R"(  <connect from="cap3.out" to="t5.in"/>)",
      R"(  <connect from="cap3.out" to="t6.in"/>)",
  }));
  EXPECT_EQ(r.errors,
            (V{
                "v.xml:2: block 'cap': PcapSource is serial and cannot be replicated (replicas='4')",
                "v.xml:4: block 'cap3': PcapSource is serial and cannot be replicated (replicas='auto')",
                "v.xml:5: block 't1': replicas='0': expected 'auto' or an integer from 1 to 1024",
                "v.xml:6: block 't2': replicas='1025': expected 'auto' or an integer from 1 to 1024",
                "v.xml:7: block 't3': replicas='two': expected 'auto' or an integer from 1 to 1024",
            }));
}

TEST(CompositionValidate, ReportsEveryErrorNotJustTheFirst) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"/>)",   // 2: missing files
      R"(  <block id="z" type="Zzz"/>)",            // 3: unknown type
      R"(  <block id="cnt" type="FlowCounter"/>)",  // 4: unconnected
  }));
  EXPECT_EQ(r.errors,
            (V{
                "v.xml:2: block 'cap': missing required parameter 'files' (string)",
                "v.xml:3: block 'z': unknown block type 'Zzz' (`netloom inspect` lists the available types)",
                "v.xml:4: block 'cnt': required input port 'in' (FlowBatch) is not connected",
            }));
}

// A cycle through every block of a large composition: the cycle search
// recursed once per block and overflowed the stack at 50000 blocks (found
// while writing fuzz/fuzz_composition.cpp). At the limit the cycle is
// reported; one block more is refused before any other check.
TEST(CompositionValidate, BlockLimitAndLongCycle) {
  auto ring = [](std::size_t n) {
    std::string s = "<composition name=\"t\">\n";
    for (std::size_t i = 0; i < n; ++i) s += "<block id=\"b" + std::to_string(i) + "\" type=\"Tap\"/>\n";
    for (std::size_t i = 0; i < n; ++i)
      s += "<connect from=\"b" + std::to_string(i) + ".out\" to=\"b" + std::to_string((i + 1) % n) +
           ".in\"/>\n";
    return s + "</composition>\n";
  };
  Result at = check(ring(kMaxBlocks));
  ASSERT_EQ(at.errors.size(), 1u);
  const std::string head =
      "v.xml:" + std::to_string(2 * kMaxBlocks + 1) + ": connections form a cycle: b0 -> b1 -> ";
  EXPECT_EQ(at.errors[0].substr(0, head.size()), head);
  EXPECT_TRUE(at.errors[0].ends_with(" -> b4094 -> b4095 -> b0"))
      << at.errors[0].substr(at.errors[0].size() - 60);
  Result over = check(ring(kMaxBlocks + 1));
  EXPECT_FALSE(over.ok);
  EXPECT_EQ(over.errors, V{"v.xml:1: 4097 blocks: a composition holds at most 4096"});
}

TEST(CompositionValidate, SettingsOutOfRangeInData) {
  Composition c;
  c.file = "api";
  c.loc = {"api", 1};
  c.threads = 2000;
  c.batch_size = 0;
  c.max_in_flight = 1;
  ValidatedComposition vc;
  std::vector<Diagnostic> errs;
  EXPECT_FALSE(validate_composition(c, lookup, vc, errs));
  V s;
  for (auto& d : errs) s.push_back(d.str());
  EXPECT_EQ(s, (V{"api:1: threads=2000: expected 0 (auto) or 1 to 1024",
                  "api:1: batch=0: expected an integer from 1 to 65536",
                  "api:1: max-in-flight=1: expected an integer from 2 to 4096"}));
}

TEST(CompositionValidate, OutMayAliasInput) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="n" type="Null"/>)",
      R"(  <connect from="cap.out" to="n.in"/>)",
  }));
  ASSERT_TRUE(r.ok);
  std::vector<Diagnostic> errs;
  EXPECT_TRUE(validate_composition(r.vc.comp, lookup, r.vc, errs));
  EXPECT_TRUE(errs.empty());
  EXPECT_EQ(r.vc.comp.blocks.size(), 2u);
  EXPECT_EQ(r.vc.topo_order, (V{"cap", "n"}));
}

TEST(CompositionValidate, NullLookupMeansEveryTypeIsUnknown) {
  Composition c;
  c.file = "api";
  BlockDecl b;
  b.id = "x";
  b.type = "T";
  b.loc = {"api", 3};
  c.blocks.push_back(b);
  ValidatedComposition vc;
  std::vector<Diagnostic> errs;
  EXPECT_FALSE(validate_composition(c, InfoLookup{}, vc, errs));
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].str(),
            "api:3: block 'x': unknown block type 'T' (`netloom inspect` lists the available types)");
}

// ---- replica groups ----------------------------------------------------------

TEST(CompositionValidate, ConnectedReplicatedBlocksFormOneGroup) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="trk" type="FlowTracker" replicas="2"/>)",                          // 3
      R"(  <block id="c1" type="Classifier" replicas="2"/>)",                            // 4
      R"(  <block id="c2" type="Classifier" replicas="2"/>)",                            // 5
      R"(  <block id="sink" type="Null"/>)",                                             // 6
      R"(  <block id="cnt" type="FlowCounter" replicas="2"/>)",                          // 7
      R"(  <connect from="cap.out" to="trk.in"/>)",
      R"(  <connect from="trk.out" to="c1.in"/>)",
      R"(  <connect from="c1.out" to="c2.in"/>)",
      R"(  <connect from="c2.out" to="sink.in"/>)",
      R"(  <connect from="trk.flows" to="cnt.in"/>)",
  }));
  EXPECT_EQ(r.errors, V{});
  ASSERT_EQ(r.vc.groups.size(), 1u);  // the stateless FlowCounter is not part of it
  EXPECT_EQ(r.vc.groups[0].members, (V{"trk", "c1", "c2"}));
  EXPECT_EQ(r.vc.groups[0].replicas, "2");
  EXPECT_EQ(r.vc.groups[0].entry.block, "trk");
  EXPECT_EQ(r.vc.groups[0].entry.port, "in");
}

TEST(CompositionValidate, PerFlowBlocksWithoutReplicasFormAOneReplicaGroup) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="trk" type="FlowTracker" replicas="1"/>)",
      R"(  <block id="c1" type="Classifier"/>)",
      R"(  <connect from="cap.out" to="trk.in"/>)",
      R"(  <connect from="trk.out" to="c1.in"/>)",
  }));
  EXPECT_EQ(r.errors, V{});
  ASSERT_EQ(r.vc.groups.size(), 1u);
  EXPECT_EQ(r.vc.groups[0].members, (V{"trk", "c1"}));
  EXPECT_EQ(r.vc.groups[0].replicas, "1");
}

TEST(CompositionValidate, BlocksWithoutReplicasTakeTheirGroupsCount) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="trk" type="FlowTracker"/>)",
      R"(  <block id="c1" type="Classifier" replicas="4"/>)",
      R"(  <connect from="cap.out" to="trk.in"/>)",
      R"(  <connect from="trk.out" to="c1.in"/>)",
  }));
  EXPECT_EQ(r.errors, V{});
  ASSERT_EQ(r.vc.groups.size(), 1u);
  EXPECT_EQ(r.vc.groups[0].members, (V{"trk", "c1"}));
  EXPECT_EQ(r.vc.groups[0].replicas, "4");
  EXPECT_EQ(r.vc.groups[0].entry.block, "trk");
}

TEST(CompositionValidate, AOneReplicaGroupOfAnotherShapeRunsBlockByBlock) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",
      R"(  <block id="trk" type="FlowTracker"/>)",
      R"(  <block id="c1" type="Classifier"/>)",
      R"(  <connect from="cap.out" to="trk.in"/>)",
      R"(  <connect from="trk.out" to="c1.in"/>)",
      R"(  <connect from="cap.out" to="c1.in"/>)",
  }));
  EXPECT_EQ(r.errors, V{});
  EXPECT_TRUE(r.vc.groups.empty());
}

TEST(CompositionValidate, ConnectedReplicatedBlocksNeedTheSameCount) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="trk" type="FlowTracker" replicas="2"/>)",                          // 3
      R"(  <block id="c1" type="Classifier" replicas="3"/>)",                            // 4
      R"(  <connect from="cap.out" to="trk.in"/>)",
      R"(  <connect from="trk.out" to="c1.in"/>)",
  }));
  EXPECT_EQ(r.errors,
            (V{"v.xml:4: block 'c1': replicas='3' differs from replicas='2' of 'trk', which it is "
               "connected to (blocks with per-flow state that feed each other form one group: trk, c1)"}));
}

TEST(CompositionValidate, ReplicatedGroupNeedsExactlyOneInput) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="trk" type="FlowTracker" replicas="auto"/>)",                       // 3
      R"(  <block id="c1" type="Classifier" replicas="auto"/>)",                         // 4
      R"(  <connect from="cap.out" to="trk.in"/>)", R"(  <connect from="trk.out" to="c1.in"/>)",
      R"(  <connect from="cap.out" to="c1.in"/>)",  // fan-in: a second way in
  }));
  EXPECT_EQ(r.errors, (V{"v.xml:3: block 'trk': the replicated group (trk, c1) has 2 inputs from outside it; "
                         "it needs exactly one, a PacketBatch stream to split by flow"}));
}

TEST(CompositionValidate, ReplicatedGroupMustBeFedPackets) {
  Result r = check(comp({
      R"(  <block id="cap" type="PcapSource"><param name="files" value="a"/></block>)",  // 2
      R"(  <block id="tap" type="Tap"/>)",                                               // 3
      R"(  <block id="fs" type="FlowStats" replicas="2"/>)",                             // 4
      R"(  <connect from="cap.out" to="tap.in"/>)",                                      // 5
      R"(  <connect from="tap.out" to="fs.in"/>)",                                       // 6
  }));
  EXPECT_EQ(r.errors, (V{"v.xml:6: the replicated group (fs) is fed through fs.in, which does not take "
                         "PacketBatch: only packet streams can be split by flow"}));
}
