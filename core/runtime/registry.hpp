// Block types available to compositions, loaded from plugin shared objects.
#pragma once
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "netloom/block.hpp"
#include "netloom/plugin.hpp"

namespace boost::dll {
class shared_library;
}

namespace netloom::core {

// A block instance keeps its plugin loaded: the library is unloaded only
// after the last instance created from it is destroyed.
struct BlockHandle {
  std::shared_ptr<boost::dll::shared_library> library;
  std::unique_ptr<Block> block;
  BlockHandle() = default;
  BlockHandle(BlockHandle&&) noexcept = default;
  BlockHandle& operator=(BlockHandle&&) noexcept = default;
  ~BlockHandle() { block.reset(); }  // destroy before the library goes away
};

struct BlockType {
  BlockInfo info;
  BlockFactory factory;
  std::string plugin_path;
  std::shared_ptr<boost::dll::shared_library> library;
};

class Registry {
 public:
  Registry();
  ~Registry();

  // Plugins are code run with netloom's rights (often root, for capture).
  // Unless allowed here, load_dir and load_file load nothing from a location
  // insecure_plugin_location() objects to: one line (naming it and the
  // override) goes to `errors` and to refused().
  void allow_insecure_plugins(bool allow) { allow_insecure_ = allow; }
  const std::vector<std::string>& refused() const { return refused_; }

  // Loads every *.so in `dir` (sorted by name). Each broken plugin adds one
  // line to `errors`; the others still load.
  void load_dir(const std::filesystem::path& dir, std::vector<std::string>& errors);
  // Loads one plugin file; false (and one line in `errors`) on failure.
  bool load_file(const std::filesystem::path& file, std::vector<std::string>& errors);

  const BlockType* find(std::string_view type) const;
  std::vector<const BlockType*> types() const;  // sorted by type name
  std::vector<std::string> plugin_files() const;
  BlockHandle create(const BlockType& type) const;

 private:
  std::map<std::string, BlockType, std::less<>> types_;
  std::vector<std::string> files_;  // canonical paths already loaded
  // Identity of each loaded file (device, inode, size, mtime), to refuse a
  // file replaced on disk when the plugin path is scanned again.
  std::map<std::string, std::string> stamps_;
  static std::string stamp_of(const std::string& path);
  bool allow_insecure_ = false;
  std::vector<std::string> refused_;
};

// Why code should not be loaded from `path` (a plugin directory or .so file,
// symlinks resolved), or "" when it is fine: it and every directory above it
// must be owned by root or by the user netloom runs as, and must not be
// writable by group or others; a directory above it may be writable by
// others when it has the sticky bit (as /tmp has).
std::string insecure_plugin_location(const std::filesystem::path& path);

// The plugin search path, in order: --plugin-path options, the
// NETLOOM_PLUGIN_PATH variable (colon-separated), then the directory
// `plugins` beside the netloom executable (the build's own plugin dir) and
// `../lib/netloom/plugins` from it (an installed netloom).
std::vector<std::filesystem::path> plugin_search_path(const std::vector<std::string>& cli_dirs,
                                                      const char* env_value,
                                                      const std::filesystem::path& exe_dir);

}  // namespace netloom::core
