// Versions a plugin is checked against when it is loaded.
#pragma once
#include <cstdint>

namespace netloom {

// Bumped whenever a type that crosses the plugin boundary changes layout or
// meaning (Packet, Message, Block vtable, Context, PluginManifest...). The
// loader refuses plugins built against another value.
inline constexpr std::uint32_t kAbiVersion =
    4;  // 4: FlowContext::state first, FlowContext::done; 3: Context::replica_index/count, kOtherShard, FlowContext::flow_hash
inline constexpr const char* kVersion = "0.1.0";

}  // namespace netloom
