// Composition XML parser: structure, ${var} substitution, -D, escapes,
// <composition> attributes, and every parse error asserted exactly
// (Diagnostic::str(), including the line number).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "composition/composition.hpp"

using namespace netloom::core;

namespace {

using Defines = std::map<std::string, std::string>;

// Joins lines with '\n' so that element i of `lines` is on line i + 1.
std::string lines(std::initializer_list<const char*> ls) {
  std::string s;
  for (const char* l : ls) s += std::string(l) + "\n";
  return s;
}

std::vector<std::string> strs(const std::vector<Diagnostic>& ds) {
  std::vector<std::string> v;
  for (const auto& d : ds) v.push_back(d.str());
  return v;
}

// Parses and returns the error strings.
std::vector<std::string> errors_of(const std::string& xml, const Defines& defs = {}) {
  std::vector<Diagnostic> errs;
  parse_composition_string(xml, "f.xml", defs, errs);
  return strs(errs);
}

using V = std::vector<std::string>;

const std::string kExample = lines({
    R"(<composition name="count" threads="auto" batch="256" max-in-flight="64">)",               // 1
    R"(  <var name="input" default="data/demo.pcap" doc="capture file(s), comma-separated"/>)",  // 2
    R"(  <var name="out"/>   <!-- no default: must be given with -D out=... -->)",               // 3
    R"(  <block id="cap" type="PcapSource">)",                                                   // 4
    R"(    <param name="files" value="${input}"/>)",                                             // 5
    R"(  </block>)",                                                                             // 6
    R"(  <block id="cnt" type="PacketCounter" replicas="auto">)",                                // 7
    R"(    <param name="output" value="${out}/counts.json"/>)",                                  // 8
    R"(  </block>)",                                                                             // 9
    R"(  <connect from="cap.out" to="cnt.in"/>)",                                                // 10
    R"(</composition>)",                                                                         // 11
});

}  // namespace

std::string diag(const char* file, int line, const char* id, const char* msg) {
  Diagnostic d;
  d.loc.file = file;
  d.loc.line = line;
  d.block_id = id;
  d.message = msg;
  return d.str();
}

TEST(Diagnostic, Format) {
  EXPECT_EQ(diag("a.xml", 3, "cap", "boom"), "a.xml:3: block 'cap': boom");
  EXPECT_EQ(diag("a.xml", 3, "", "boom"), "a.xml:3: boom");
  EXPECT_EQ(diag("a.xml", 0, "cap", "boom"), "a.xml: block 'cap': boom");
  EXPECT_EQ(diag("a.xml", 0, "", "boom"), "a.xml: boom");
  EXPECT_EQ(diag("", 0, "", "boom"), "boom");
  EXPECT_EQ(diag("", 7, "", "boom"), "7: boom");
}

TEST(CompositionParse, ExampleStructure) {
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(kExample, "count.xml", {{"out", "/tmp/o"}}, errs);
  ASSERT_EQ(strs(errs), V{});
  EXPECT_EQ(c.name, "count");
  EXPECT_EQ(c.file, "count.xml");
  EXPECT_EQ(c.loc.file, "count.xml");
  EXPECT_EQ(c.loc.line, 1);
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.batch_size, 256u);
  EXPECT_EQ(c.max_in_flight, 64u);

  ASSERT_EQ(c.vars.size(), 2u);
  EXPECT_EQ(c.vars[0].name, "input");
  EXPECT_TRUE(c.vars[0].has_default);
  EXPECT_EQ(c.vars[0].default_value, "data/demo.pcap");
  EXPECT_EQ(c.vars[0].doc, "capture file(s), comma-separated");
  EXPECT_EQ(c.vars[0].loc.line, 2);
  EXPECT_EQ(c.vars[1].name, "out");
  EXPECT_FALSE(c.vars[1].has_default);
  EXPECT_EQ(c.vars[1].loc.line, 3);

  ASSERT_EQ(c.blocks.size(), 2u);
  const BlockDecl& cap = c.blocks[0];
  EXPECT_EQ(cap.id, "cap");
  EXPECT_EQ(cap.type, "PcapSource");
  EXPECT_EQ(cap.replicas, "");
  EXPECT_EQ(cap.loc.line, 4);
  EXPECT_EQ(cap.loc.file, "count.xml");
  ASSERT_EQ(cap.params.size(), 1u);
  EXPECT_EQ(cap.params[0].name, "files");
  EXPECT_EQ(cap.params[0].value, "data/demo.pcap");
  EXPECT_EQ(cap.params[0].loc.line, 5);
  const BlockDecl& cnt = c.blocks[1];
  EXPECT_EQ(cnt.id, "cnt");
  EXPECT_EQ(cnt.type, "PacketCounter");
  EXPECT_EQ(cnt.replicas, "auto");
  EXPECT_EQ(cnt.loc.line, 7);
  ASSERT_EQ(cnt.params.size(), 1u);
  EXPECT_EQ(cnt.params[0].value, "/tmp/o/counts.json");
  EXPECT_EQ(cnt.params[0].loc.line, 8);

  ASSERT_EQ(c.connections.size(), 1u);
  EXPECT_EQ(c.connections[0].from.block, "cap");
  EXPECT_EQ(c.connections[0].from.port, "out");
  EXPECT_EQ(c.connections[0].to.block, "cnt");
  EXPECT_EQ(c.connections[0].to.port, "in");
  EXPECT_EQ(c.connections[0].loc.line, 10);
}

TEST(CompositionParse, DefineOverridesDefault) {
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(kExample, "count.xml", {{"out", "o"}, {"input", "-"}}, errs);
  ASSERT_EQ(strs(errs), V{});
  EXPECT_EQ(c.blocks[0].params[0].value, "-");
  EXPECT_EQ(c.blocks[1].params[0].value, "o/counts.json");
  // the declaration keeps its default; only the use sees the -D value
  EXPECT_EQ(c.vars[0].default_value, "data/demo.pcap");
}

TEST(CompositionParse, DefineMayBeEmpty) {
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(kExample, "count.xml", {{"out", ""}}, errs);
  ASSERT_EQ(strs(errs), V{});
  EXPECT_EQ(c.blocks[1].params[0].value, "/counts.json");
}

TEST(CompositionParse, SubstitutionAndEscapes) {
  std::string xml = lines({
      R"(<composition>)",
      R"(  <var name="a" default="A"/>)",
      R"(  <var name="b_2" default="$x"/>)",  // defaults are literal text
      R"(  <var name="e" default=""/>)",
      R"(  <block id="x" type="T">)",
      R"(    <param name="p1" value="${a}${a}-${b_2}"/>)",
      R"(    <param name="p2" value="price $$5"/>)",
      R"(    <param name="p3" value="$${a}"/>)",
      R"(    <param name="p4" value="$$$${a}$$"/>)",
      R"(    <param name="p5" value="[${e}]"/>)",
      R"(    <param name="p6" value="no vars &amp; &lt;escapes&gt;"/>)",
      R"(  </block>)",
      R"(</composition>)",
  });
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(xml, "s.xml", {}, errs);
  ASSERT_EQ(strs(errs), V{});
  ASSERT_EQ(c.blocks.size(), 1u);
  const auto& p = c.blocks[0].params;
  ASSERT_EQ(p.size(), 6u);
  EXPECT_EQ(p[0].value, "AA-$x");
  EXPECT_EQ(p[1].value, "price $5");
  EXPECT_EQ(p[2].value, "${a}");
  EXPECT_EQ(p[3].value, "$${a}$");
  EXPECT_EQ(p[4].value, "[]");
  EXPECT_EQ(p[5].value, "no vars & <escapes>");
  EXPECT_EQ(c.name, "s");  // no name attribute: the file's stem
}

TEST(CompositionParse, SettingsAndVarsInSettings) {
  std::string xml = lines({
      R"(<composition name="n" threads="${t}" batch="${b}" max-in-flight="8">)",
      R"(  <var name="t" default="4"/>)",
      R"(  <var name="b" default="1024"/>)",
      R"(  <var name="r" default="3"/>)",
      R"(  <block id="x" type="T" replicas="${r}"/>)",
      R"(</composition>)",
  });
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(xml, "s.xml", {{"t", "1024"}}, errs);
  ASSERT_EQ(strs(errs), V{});
  EXPECT_EQ(c.threads, 1024);
  EXPECT_EQ(c.batch_size, 1024u);
  EXPECT_EQ(c.max_in_flight, 8u);
  EXPECT_EQ(c.blocks[0].replicas, "3");
}

TEST(CompositionParse, SettingBoundaries) {
  auto parse = [](const std::string& attrs, std::vector<std::string>& errs) {
    std::vector<Diagnostic> ds;
    Composition c = parse_composition_string("<composition " + attrs + "/>", "s.xml", {}, ds);
    errs = strs(ds);
    return c;
  };
  std::vector<std::string> e;
  EXPECT_EQ(parse(R"(threads="1" batch="1" max-in-flight="2")", e).threads, 1);
  EXPECT_EQ(e, V{});
  Composition hi = parse(R"(threads="1024" batch="65536" max-in-flight="4096")", e);
  EXPECT_EQ(e, V{});
  EXPECT_EQ(hi.threads, 1024);
  EXPECT_EQ(hi.batch_size, 65536u);
  EXPECT_EQ(hi.max_in_flight, 4096u);
  Composition bad = parse(R"(threads="0" batch="0" max-in-flight="1")", e);
  EXPECT_EQ(e, (V{"s.xml:1: threads='0': expected 'auto' or an integer from 1 to 1024",
                  "s.xml:1: batch='0': expected an integer from 1 to 65536",
                  "s.xml:1: max-in-flight='1': expected an integer from 2 to 4096"}));
  // invalid values leave the defaults
  EXPECT_EQ(bad.threads, 0);
  EXPECT_EQ(bad.batch_size, 256u);
  EXPECT_EQ(bad.max_in_flight, 64u);
  parse(R"(threads="1025" batch="65537" max-in-flight="4097")", e);
  EXPECT_EQ(e, (V{"s.xml:1: threads='1025': expected 'auto' or an integer from 1 to 1024",
                  "s.xml:1: batch='65537': expected an integer from 1 to 65536",
                  "s.xml:1: max-in-flight='4097': expected an integer from 2 to 4096"}));
  parse(R"(threads="Auto" batch="-1" max-in-flight="8x")", e);
  EXPECT_EQ(e, (V{"s.xml:1: threads='Auto': expected 'auto' or an integer from 1 to 1024",
                  "s.xml:1: batch='-1': expected an integer from 1 to 65536",
                  "s.xml:1: max-in-flight='8x': expected an integer from 2 to 4096"}));
  parse(R"(threads="" batch="+4" max-in-flight="99999999999999999999999")", e);
  EXPECT_EQ(e, (V{"s.xml:1: threads='': expected 'auto' or an integer from 1 to 1024",
                  "s.xml:1: batch='+4': expected an integer from 1 to 65536",
                  "s.xml:1: max-in-flight='99999999999999999999999': expected an integer from 2 to 4096"}));
}

TEST(CompositionParse, UnknownDefine) {
  EXPECT_EQ(
      errors_of(kExample, {{"out", "o"}, {"nope", "1"}, {"Out", "2"}}),
      (V{"f.xml: unknown variable 'Out' given with -D", "f.xml: unknown variable 'nope' given with -D"}));
}

TEST(CompositionParse, UsedVarWithoutValue) {
  EXPECT_EQ(
      errors_of(kExample),
      V{"f.xml:8: block 'cnt': variable 'out' has no value: it has no default (declared at line 3) and no -D "
        "out=VALUE was given"});
}

TEST(CompositionParse, UnusedVarWithoutValueIsFine) {
  EXPECT_EQ(errors_of(lines({R"(<composition>)", R"(  <var name="unused"/>)", R"(</composition>)"})), V{});
}

TEST(CompositionParse, VarErrors) {
  std::string xml = lines({
      R"(<composition threads="${nt}">)",                              // 1
      R"(  <var name="a" default="1"/>)",                              // 2
      R"(  <var name="a" default="2"/>)",                              // 3
      R"(  <var name="9x"/>)",                                         // 4
      R"(  <var default="3"/>)",                                       // 5
      R"(  <block id="b" type="T" replicas="${zz}">)",                 // 6
      R"(    <param name="p" value="${undeclared}/${undeclared}"/>)",  // 7
      R"(    <param name="q" value="cost: 5$"/>)",                     // 8
      R"(    <param name="r" value="a${a"/>)",                         // 9
      R"(    <param name="s" value="${}${a b}"/>)",                    // 10
      R"(    <param name="t" value="$a"/>)",                           // 11
      R"(  </block>)",                                                 // 12
      R"(</composition>)",                                             // 13
  });
  EXPECT_EQ(
      errors_of(xml),
      (V{
          "f.xml:3: variable 'a' declared twice (first at line 2)",
          "f.xml:4: invalid variable name '9x': names start with a letter or '_' and contain only letters, "
          "digits, '_' and '-'",
          "f.xml:5: <var> is missing the attribute 'name'",
          R"(f.xml:1: undeclared variable 'nt' (declare it with <var name="nt"/>))",
          R"(f.xml:6: block 'b': undeclared variable 'zz' (declare it with <var name="zz"/>))",
          R"(f.xml:7: block 'b': undeclared variable 'undeclared' (declare it with <var name="undeclared"/>))",
          "f.xml:8: block 'b': lone '$' in 'cost: 5$' (write $$ for a literal '$')",
          "f.xml:9: block 'b': unterminated '${' in 'a${a'",
          "f.xml:10: block 'b': invalid variable reference '${}': names start with a letter or '_' and "
          "contain "
          "only letters, digits, '_' and '-'",
          "f.xml:10: block 'b': invalid variable reference '${a b}': names start with a letter or '_' and "
          "contain only letters, digits, '_' and '-'",
          "f.xml:11: block 'b': lone '$' in '$a' (write $$ for a literal '$')",
      }));
}

TEST(CompositionParse, UnresolvedReferenceKeepsText) {
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(
      lines({R"(<composition>)", R"(<block id="b" type="T"><param name="p" value="x/${nope}"/></block>)",
             R"(</composition>)"}),
      "f.xml", {}, errs);
  EXPECT_EQ(errs.size(), 1u);
  ASSERT_EQ(c.blocks.size(), 1u);
  EXPECT_EQ(c.blocks[0].params[0].value, "x/${nope}");
}

TEST(CompositionParse, StructureErrors) {
  std::string xml = lines({
      R"(<composition name="n" thread="4">)",              // 1
      R"(  <blok id="a" type="T"/>)",                      // 2
      R"(  <block id="b" tpye="T"/>)",                     // 3
      R"(  <block id="c" type="T">)",                      // 4
      R"(    <parm name="x" value="1"/>)",                 // 5
      R"(    stray text)",                                 // 6
      R"(    <param name="x" value="1" vlaue="2"/>)",      // 7
      R"(    <param name="y"/>)",                          // 8
      R"(    <param name="z" value="1"><sub/></param>)",   // 9
      R"(  </block>)",                                     // 10
      R"(  <connect from="a.out"/>)",                      // 11
      R"(  <connect from="a.out" to="c.in">x</connect>)",  // 12
      R"(  <var name="v"><doc/></var>)",                   // 13
      R"(  hello)",                                        // 14
      R"(</composition>)",                                 // 15
  });
  EXPECT_EQ(errors_of(xml),
            (V{
                "f.xml:1: unknown attribute 'thread' on <composition> (expected name, threads, batch, "
                "max-in-flight)",
                "f.xml:13: unexpected element <doc> inside <var>",
                "f.xml:2: unknown element <blok> (expected <var>, <block> or <connect>)",
                "f.xml:3: block 'b': unknown attribute 'tpye' on <block> (expected id, type, replicas)",
                "f.xml:3: block 'b': <block> is missing the attribute 'type'",
                "f.xml:5: block 'c': unknown element <parm> inside <block> (expected <param>)",
                "f.xml:6: block 'c': unexpected text inside <block>",
                "f.xml:7: block 'c': unknown attribute 'vlaue' on <param> (expected name, value)",
                "f.xml:8: block 'c': <param> is missing the attribute 'value'",
                "f.xml:9: block 'c': unexpected element <sub> inside <param>",
                "f.xml:11: <connect> is missing the attribute 'to'",
                "f.xml:12: unexpected text inside <connect>",
                "f.xml:14: unexpected text inside <composition>",
            }));
}

TEST(CompositionParse, DuplicateAttribute) {
  std::string xml = lines({R"(<composition>)", R"(  <block id="a" type="T" id="b"/>)", R"(</composition>)"});
  EXPECT_EQ(errors_of(xml), V{"f.xml:2: block 'a': attribute 'id' given twice on <block>"});
}

TEST(CompositionParse, RootErrors) {
  EXPECT_EQ(errors_of("<compositon/>\n"),
            V{"f.xml:1: the root element must be <composition>, found <compositon>"});
  EXPECT_EQ(errors_of("<?xml version=\"1.0\"?>\n<!-- c -->\n<composition/>\n<composition/>\n"),
            V{"f.xml:4: unexpected element <composition> after <composition>"});
}

TEST(CompositionParse, MalformedXml) {
  std::string xml = lines({
      R"(<composition>)",                   // 1
      R"(  <block id="a" type="T">)",       // 2
      R"(    <param name="x" value="1">)",  // 3: never closed
      R"(  </block>)",                      // 4
      R"(</composition>)",                  // 5
  });
  EXPECT_EQ(errors_of(xml), V{"f.xml:4: malformed XML: Start-end tags mismatch"});
  EXPECT_EQ(errors_of("<composition>\n\n<block id=\"a\n"),
            V{"f.xml:3: malformed XML: Error parsing element attribute"});
  EXPECT_EQ(errors_of(""), V{"f.xml:1: malformed XML: No document element found"});
  EXPECT_EQ(errors_of("<composition>\n<block id='a' id2=x/>\n</composition>"),
            V{"f.xml:2: malformed XML: Error parsing element attribute"});
}

TEST(CompositionParse, Comments) {
  std::string xml = lines({
      R"(<!-- header -->)",
      R"(<composition>)",
      R"(  <!-- <block id="x" type="T"/> -->)",
      R"(  <block id="y" type="T"/>)",
      R"(</composition>)",
  });
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(xml, "f.xml", {}, errs);
  EXPECT_EQ(strs(errs), V{});
  ASSERT_EQ(c.blocks.size(), 1u);
  EXPECT_EQ(c.blocks[0].id, "y");
  EXPECT_EQ(c.blocks[0].loc.line, 4);
  EXPECT_EQ(c.loc.line, 2);
}

TEST(CompositionParse, CrLfLineNumbers) {
  std::string xml = "<composition>\r\n\r\n  <blok/>\r\n</composition>\r\n";
  EXPECT_EQ(errors_of(xml), V{"f.xml:3: unknown element <blok> (expected <var>, <block> or <connect>)"});
  // Lone CRs end no line: text after them is on the line they are on (found
  // by fuzzing, fuzz/fuzz_composition.cpp: it was counted 4 lines further,
  // past the end of the file).
  EXPECT_EQ(
      errors_of("<composition>\n  <block id=\"c\" type=\"T\">\r\r\r\r  stray\n  </block>\n</composition>\n"),
      V{"f.xml:2: block 'c': unexpected text inside <block>"});
  EXPECT_EQ(
      errors_of(
          "<composition>\r\n  <block id=\"c\" type=\"T\">\r\n\r\n  stray\r\n  </block>\r\n</composition>"),
      V{"f.xml:4: block 'c': unexpected text inside <block>"});
}

TEST(CompositionParse, EndpointsAreSplitAtTheFirstDot) {
  std::string xml = lines({
      R"(<composition>)",
      R"(  <connect from="a.out" to="b.in.x"/>)",
      R"(  <connect from="a" to="b."/>)",
      R"(  <connect from=".out" to=""/>)",
      R"(</composition>)",
  });
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_string(xml, "f.xml", {}, errs);
  EXPECT_EQ(strs(errs), V{});
  ASSERT_EQ(c.connections.size(), 3u);
  EXPECT_EQ(c.connections[0].to.block, "b");
  EXPECT_EQ(c.connections[0].to.port, "in.x");
  // malformed endpoints keep the whole text in `block`, with no port
  EXPECT_EQ(c.connections[1].from.block, "a");
  EXPECT_EQ(c.connections[1].from.port, "");
  EXPECT_EQ(c.connections[1].to.block, "b.");
  EXPECT_EQ(c.connections[2].from.block, ".out");
  EXPECT_EQ(c.connections[2].to.block, "");
  EXPECT_EQ(c.connections[2].to.port, "");
}

TEST(CompositionParseFile, ReadsFileAndNamesIt) {
  std::string dir = ::testing::TempDir();
  std::string path = dir + "/netloom_test_comp_" + std::to_string(::getpid()) + ".xml";
  {
    std::ofstream f(path);
    f << kExample;
  }
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_file(path, {}, errs);
  EXPECT_EQ(strs(errs),
            V{path + ":8: block 'cnt': variable 'out' has no value: it has no default (declared at line "
                     "3) and no -D out=VALUE was given"});
  EXPECT_EQ(c.file, path);
  EXPECT_EQ(c.blocks.size(), 2u);
  std::remove(path.c_str());
}

TEST(CompositionParseFile, MissingFile) {
  std::vector<Diagnostic> errs;
  Composition c = parse_composition_file("/nonexistent/dir/x.xml", {}, errs);
  EXPECT_EQ(strs(errs), V{"/nonexistent/dir/x.xml: cannot open composition file: No such file or directory"});
  EXPECT_EQ(c.file, "/nonexistent/dir/x.xml");
  EXPECT_TRUE(c.blocks.empty());
}

TEST(CompositionParseFile, Directory) {
  std::vector<Diagnostic> errs;
  parse_composition_file("/", {}, errs);
  EXPECT_EQ(strs(errs), V{"/: cannot open composition file: Is a directory"});
}
