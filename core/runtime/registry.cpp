#include "runtime/registry.hpp"

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <sstream>
#include <system_error>

namespace netloom::core {
namespace fs = std::filesystem;

namespace {
constexpr const char* kEntrySymbol = "netloom_plugin_v1";

std::string one_line(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}
}  // namespace

Registry::Registry() = default;
Registry::~Registry() = default;

void Registry::load_dir(const fs::path& dir, std::vector<std::string>& errors) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;  // a missing search dir is not an error
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() == ".so" && (e.is_regular_file(ec) || e.is_symlink(ec)))
      files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) load_file(f, errors);
}

bool Registry::load_file(const fs::path& file, std::vector<std::string>& errors) {
  std::error_code ec;
  fs::path canon = fs::weakly_canonical(file, ec);
  if (ec) canon = file;
  const std::string path = canon.string();
  if (std::find(files_.begin(), files_.end(), path) != files_.end()) return true;  // listed twice
  if (!fs::exists(canon, ec)) {
    errors.push_back(file.string() + ": cannot load plugin: no such file");
    return false;
  }

  auto lib = std::make_shared<boost::dll::shared_library>();
  boost::system::error_code bec;
  // rtld_now: an unresolved symbol fails here, not in the middle of a run.
  lib->load(boost::dll::fs::path(path), bec,
            boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  if (bec) {
    const char* why = dlerror();
    errors.push_back(path + ": cannot load plugin: " + one_line(why ? why : bec.message()));
    return false;
  }
  if (!lib->has(kEntrySymbol)) {
    errors.push_back(path + ": not a netloom plugin (no " + kEntrySymbol + " entry point)");
    return false;
  }
  using Entry = const PluginManifest*();
  const PluginManifest* m = nullptr;
  try {
    m = lib->get_alias<Entry>(kEntrySymbol)();
  } catch (const std::exception& e) {
    errors.push_back(path + ": plugin entry point failed: " + one_line(e.what()));
    return false;
  }
  // Only the first member is read before the ABI check.
  if (m == nullptr || m->abi_version != kAbiVersion) {
    std::ostringstream os;
    os << path << ": plugin built for netloom ABI " << (m ? m->abi_version : 0) << ", this netloom has ABI "
       << kAbiVersion << "; rebuild the plugin against this SDK";
    errors.push_back(os.str());
    return false;
  }

  std::vector<BlockType> found;
  for (std::size_t i = 0; i < m->count; ++i) {
    BlockType t;
    try {
      t.info = m->blocks[i].info();
    } catch (const std::exception& e) {
      errors.push_back(path + ": block description failed: " + one_line(e.what()));
      return false;
    }
    t.factory = m->blocks[i];
    t.plugin_path = path;
    t.library = lib;
    if (t.info.type.empty()) {
      errors.push_back(path + ": a block has an empty type name");
      return false;
    }
    if (auto it = types_.find(t.info.type); it != types_.end()) {
      errors.push_back(path + ": block type '" + t.info.type + "' is already provided by " +
                       it->second.plugin_path);
      return false;
    }
    for (const auto& other : found) {
      if (other.info.type == t.info.type) {
        errors.push_back(path + ": block type '" + t.info.type + "' is declared twice in this plugin");
        return false;
      }
    }
    found.push_back(std::move(t));
  }
  for (auto& t : found) {
    std::string name = t.info.type;
    types_.emplace(std::move(name), std::move(t));
  }
  files_.push_back(path);
  return true;
}

const BlockType* Registry::find(std::string_view type) const {
  auto it = types_.find(type);
  return it == types_.end() ? nullptr : &it->second;
}

std::vector<const BlockType*> Registry::types() const {
  std::vector<const BlockType*> v;
  for (const auto& [_, t] : types_) v.push_back(&t);
  return v;
}

std::vector<std::string> Registry::plugin_files() const { return files_; }

BlockHandle Registry::create(const BlockType& type) const {
  BlockHandle h;
  h.library = type.library;
  h.block.reset(type.factory.create());
  return h;
}

std::vector<fs::path> plugin_search_path(const std::vector<std::string>& cli_dirs, const char* env_value,
                                         const fs::path& exe_dir) {
  std::vector<fs::path> dirs;
  auto add = [&](const fs::path& p) {
    if (p.empty()) return;
    std::error_code ec;
    fs::path c = fs::weakly_canonical(p, ec);
    if (ec) c = p;
    if (std::find(dirs.begin(), dirs.end(), c) == dirs.end()) dirs.push_back(c);
  };
  for (const auto& d : cli_dirs) add(d);
  if (env_value != nullptr) {
    std::string s(env_value);
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t colon = s.find(':', start);
      if (colon == std::string::npos) colon = s.size();
      add(s.substr(start, colon - start));
      start = colon + 1;
    }
  }
  add(exe_dir / "plugins");                            // build tree
  add(exe_dir.parent_path() / "lib/netloom/plugins");  // installed (bin/../lib)
  return dirs;
}

}  // namespace netloom::core
