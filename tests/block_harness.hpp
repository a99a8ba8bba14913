// Driving one block outside the runtime: load its plugin from the build, give
// it a fake Context, configure it with its declared defaults (parsed by the
// real parameter parser) plus overrides. Shared by the block tests.
#pragma once
#include <gtest/gtest.h>

#include <boost/dll/shared_library.hpp>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "composition/composition.hpp"
#include "corpus.hpp"
#include "netloom/netloom.hpp"

namespace netloom::test {

struct FakeContext : Context {
  struct Timer {
    unsigned id;
    std::uint64_t period, next = 0;
  };
  std::string id = "blk";
  std::map<std::string, Counter, std::less<>> counters;
  std::vector<std::string> logs;
  std::vector<Timer> timers;
  std::size_t batch = 64;
  unsigned slots = 0;

  const std::string& block_id() const override { return id; }
  Counter& counter(std::string_view name) override {
    auto it = counters.find(name);
    if (it == counters.end()) throw ConfigError("undeclared counter " + std::string(name));
    return it->second;
  }
  std::shared_ptr<PacketBatch> new_packet_batch() override { return std::make_shared<PacketBatch>(); }
  std::size_t batch_size() const override { return batch; }
  void add_timer(unsigned tid, std::uint64_t period) override { timers.push_back({tid, period}); }
  void log(LogLevel, std::string_view text) override { logs.emplace_back(text); }
  bool stopping() const override { return false; }
  unsigned flow_slot() override { return slots++; }
  std::uint64_t value(const char* n) { return counter(n).value(); }
};

// A block plugin of the build (build/plugins/<file>), loaded like the
// runtime loads it; its first block type by default.
class PluginFile {
 public:
  explicit PluginFile(const std::string& file) {
    lib_.load((std::filesystem::path(NETLOOM_BUILD_ROOT) / "plugins" / file).string(),
              boost::dll::load_mode::rtld_now);
    manifest_ = lib_.get_alias<const PluginManifest*()>("netloom_plugin_v1")();
  }
  const BlockFactory& factory(std::size_t i = 0) const { return manifest_->blocks[i]; }
  const PluginManifest* manifest() const { return manifest_; }

 private:
  boost::dll::shared_library lib_;
  const PluginManifest* manifest_ = nullptr;
};

// Every declared parameter at its default, then the overrides.
inline Params make_params(const BlockInfo& info, const std::map<std::string, ParamValue>& over) {
  Params p;
  for (const auto& s : info.params)
    if (s.default_text) p.set(s.name, core::parse_param_value(s, *s.default_text));
  for (const auto& [k, v] : over) p.set(k, v);
  return p;
}

// A configured block with a fake context whose counters are the declared ones.
inline std::unique_ptr<Block> make_block(const BlockFactory& f, FakeContext& ctx,
                                         const std::map<std::string, ParamValue>& over = {}) {
  BlockInfo info = f.info();
  for (const auto& c : info.counters) ctx.counters[c.name];
  std::unique_ptr<Block> b(f.create());
  b->configure(make_params(info, over), ctx);
  return b;
}

}  // namespace netloom::test
