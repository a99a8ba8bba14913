// Exporting blocks from a plugin shared object.
//
//   NETLOOM_PLUGIN(MyBlock, MyOtherBlock)   // once per .so
//
// exports, through Boost.DLL, one symbol `netloom_plugin_v1`: a function
// returning the manifest below. The manifest starts with the ABI version as a
// plain integer, so the loader can check it before touching any C++ type.
#pragma once
#include <boost/dll/alias.hpp>
#include <cstdint>
#include <memory>

#include "netloom/block.hpp"
#include "netloom/version.hpp"

namespace netloom {

struct BlockFactory {
  BlockInfo (*info)();
  Block* (*create)();
};

struct PluginManifest {
  std::uint32_t abi_version;  // must stay the first member
  const char* sdk_version;
  std::size_t count;
  const BlockFactory* blocks;
};

namespace detail {
template <class B>
Block* create_block() {
  return new B();
}
}  // namespace detail

}  // namespace netloom

#define NETLOOM_DETAIL_FACTORY(B) ::netloom::BlockFactory{&B::info, &::netloom::detail::create_block<B>},

#define NETLOOM_DETAIL_EACH(M, ...) NETLOOM_DETAIL_EACH_N(__VA_ARGS__, 8, 7, 6, 5, 4, 3, 2, 1)(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_N(_1, _2, _3, _4, _5, _6, _7, _8, N, ...) NETLOOM_DETAIL_EACH_##N
#define NETLOOM_DETAIL_EACH_1(M, a) M(a)
#define NETLOOM_DETAIL_EACH_2(M, a, ...) M(a) NETLOOM_DETAIL_EACH_1(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_3(M, a, ...) M(a) NETLOOM_DETAIL_EACH_2(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_4(M, a, ...) M(a) NETLOOM_DETAIL_EACH_3(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_5(M, a, ...) M(a) NETLOOM_DETAIL_EACH_4(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_6(M, a, ...) M(a) NETLOOM_DETAIL_EACH_5(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_7(M, a, ...) M(a) NETLOOM_DETAIL_EACH_6(M, __VA_ARGS__)
#define NETLOOM_DETAIL_EACH_8(M, a, ...) M(a) NETLOOM_DETAIL_EACH_7(M, __VA_ARGS__)

// Up to 8 block classes per plugin; each needs `static BlockInfo info()`.
#define NETLOOM_PLUGIN(...)                                                       \
  namespace {                                                                     \
  const ::netloom::BlockFactory netloom_plugin_factories_[] = {                   \
      NETLOOM_DETAIL_EACH(NETLOOM_DETAIL_FACTORY, __VA_ARGS__)};                  \
  const ::netloom::PluginManifest* netloom_plugin_manifest_() {                   \
    static const ::netloom::PluginManifest m{                                     \
        ::netloom::kAbiVersion, ::netloom::kVersion,                              \
        sizeof(netloom_plugin_factories_) / sizeof(netloom_plugin_factories_[0]), \
        netloom_plugin_factories_};                                               \
    return &m;                                                                    \
  }                                                                               \
  }                                                                               \
  BOOST_DLL_ALIAS(netloom_plugin_manifest_, netloom_plugin_v1)

#define NETLOOM_BLOCK(B) NETLOOM_PLUGIN(B)
