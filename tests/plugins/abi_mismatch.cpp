// A plugin whose manifest claims another ABI version.
#include <netloom/plugin.hpp>

namespace {
const netloom::PluginManifest* manifest() {
  static const netloom::PluginManifest m{netloom::kAbiVersion + 98, "9.9.9", 0, nullptr};
  return &m;
}
}  // namespace
BOOST_DLL_ALIAS(manifest, netloom_plugin_v1)
