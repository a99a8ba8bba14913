// Plugin loading: each failure is one clear line; good plugins still load.
#include <gtest/gtest.h>

#include "runtime/registry.hpp"

using netloom::core::Registry;

namespace {
const std::string kDir = NETLOOM_TEST_PLUGIN_DIR;

std::vector<std::string> load(const std::string& file, Registry& reg) {
  std::vector<std::string> errors;
  reg.load_file(file, errors);
  return errors;
}
}  // namespace

TEST(PluginLoader, LoadsGoodPluginWithAllItsTypes) {
  Registry reg;
  EXPECT_TRUE(load(kDir + "/good/test_blocks.so", reg).empty());
  ASSERT_EQ(reg.types().size(), 7u);
  EXPECT_EQ(reg.types()[0]->info.type, "TestFlowSink");
  ASSERT_NE(reg.find("TestSource"), nullptr);
  EXPECT_EQ(reg.find("TestSource")->info.params.size(), 4u);
  EXPECT_EQ(reg.find("Nope"), nullptr);
}

TEST(PluginLoader, MissingFile) {
  Registry reg;
  auto e = load(kDir + "/good/absent.so", reg);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], kDir + "/good/absent.so: cannot load plugin: no such file");
}

TEST(PluginLoader, MissingEntryPoint) {
  Registry reg;
  auto e = load(kDir + "/not_a_plugin/not_a_plugin.so", reg);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            kDir + "/not_a_plugin/not_a_plugin.so: not a netloom plugin (no netloom_plugin_v1 entry point)");
}

TEST(PluginLoader, AbiMismatch) {
  Registry reg;
  auto e = load(kDir + "/abi_mismatch/abi_mismatch.so", reg);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], kDir + "/abi_mismatch/abi_mismatch.so: plugin built for netloom ABI " +
                      std::to_string(netloom::kAbiVersion + 98) + ", this netloom has ABI " +
                      std::to_string(netloom::kAbiVersion) + "; rebuild the plugin against this SDK");
  EXPECT_TRUE(reg.types().empty());
}

TEST(PluginLoader, DuplicateTypeRejected) {
  Registry reg;
  ASSERT_TRUE(load(kDir + "/good/test_blocks.so", reg).empty());
  auto e = load(kDir + "/duplicate/duplicate_type.so", reg);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], kDir + "/duplicate/duplicate_type.so: block type 'TestSink' is already provided by " +
                      kDir + "/good/test_blocks.so");
  EXPECT_EQ(reg.find("TestSink")->plugin_path, kDir + "/good/test_blocks.so");
}

TEST(PluginLoader, UnresolvedSymbolFailsAtLoad) {
  Registry reg;
  auto e = load(kDir + "/unresolved/unresolved_symbol.so", reg);
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0].rfind(kDir + "/unresolved/unresolved_symbol.so: cannot load plugin: ", 0), 0u) << e[0];
  EXPECT_NE(e[0].find("undefined symbol: netloom_symbol_that_does_not_exist"), std::string::npos) << e[0];
  EXPECT_EQ(e[0].find('\n'), std::string::npos);
}

TEST(PluginLoader, DirectoryLoadKeepsGoodOnesAndSameFileTwiceIsHarmless) {
  Registry reg;
  std::vector<std::string> errors;
  reg.load_dir(kDir + "/good", errors);
  reg.load_dir(kDir + "/good", errors);
  reg.load_dir(kDir + "/abi_mismatch", errors);
  EXPECT_EQ(errors.size(), 1u);
  EXPECT_EQ(reg.types().size(), 7u);
  EXPECT_EQ(reg.plugin_files().size(), 1u);
}

TEST(PluginLoader, SearchPathOrderAndDedup) {
  auto dirs = netloom::core::plugin_search_path({"/a", "/b"}, "/c::/a:/d", "/opt/nl/bin");
  std::vector<std::string> s;
  for (auto& d : dirs) s.push_back(d.string());
  EXPECT_EQ(s, (std::vector<std::string>{"/a", "/b", "/c", "/d", "/opt/nl/bin/plugins",
                                         "/opt/nl/lib/netloom/plugins"}));
}
