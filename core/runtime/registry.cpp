#include "runtime/registry.hpp"

#include <dlfcn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/dll/shared_library.hpp>
#include <cstdio>
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

// One path's verdict for insecure_plugin_location ("" = fine). `target` is
// the plugin directory or file itself; the others are the directories above.
std::string location_problem(const fs::path& p, bool target, uid_t me) {
  struct stat st {};
  if (::stat(p.c_str(), &st) != 0) return "";  // gone: nothing is loaded from it
  const bool dir = S_ISDIR(st.st_mode);
  const std::string what =
      target ? (dir ? "the directory" : "the file") : "the directory above it, " + p.string() + ",";
  if (st.st_uid != 0 && st.st_uid != me)
    return what + " is owned by uid " + std::to_string(st.st_uid) +
           ", neither root nor the user netloom runs as (uid " + std::to_string(me) + ")";
  const mode_t w = st.st_mode & (S_IWGRP | S_IWOTH);
  // Others may add entries to a sticky directory above, but not rename or
  // remove ours (/tmp).
  if (w == 0 || (!target && dir && (st.st_mode & S_ISVTX))) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return what + " is writable by " +
         (w == (S_IWGRP | S_IWOTH) ? "group and others"
          : w == S_IWGRP           ? "group"
                                   : "others") +
         " (mode " + mode + ")";
}

std::string refusal(const fs::path& p, bool is_dir) {
  std::string why = insecure_plugin_location(p);
  if (why.empty()) return why;
  return p.string() + (is_dir ? ": refusing to load plugins: " : ": refusing to load plugin: ") + why +
         "; fix the permissions or pass --allow-insecure-plugins";
}
}  // namespace

std::string insecure_plugin_location(const fs::path& path) {
  std::error_code ec;
  const fs::path canon = fs::canonical(path, ec);
  if (ec) return "";  // missing: the loader reports it
  const uid_t me = ::geteuid();
  if (auto why = location_problem(canon, true, me); !why.empty()) return why;
  // Whoever can write a directory above can swap the plugin directory.
  for (fs::path p = canon.parent_path();; p = p.parent_path()) {
    if (auto why = location_problem(p, false, me); !why.empty()) return why;
    if (p == p.root_path() || p.empty()) break;
  }
  return "";
}

Registry::Registry() = default;

std::string Registry::stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) +
         ":" + std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec);
}
Registry::~Registry() = default;

void Registry::load_dir(const fs::path& dir, std::vector<std::string>& errors) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;  // a missing search dir is not an error
  if (!allow_insecure_) {
    if (std::string no = refusal(dir, true); !no.empty()) {
      errors.push_back(no);
      refused_.push_back(std::move(no));
      return;
    }
  }
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
  if (std::find(files_.begin(), files_.end(), path) != files_.end()) {
    // Listed twice, or met again on a rescan: fine unless the file changed. A
    // running instance keeps the code it was built from, so a replaced plugin
    // is refused rather than loaded beside the old one (docs/runtime.md).
    auto st = stamps_.find(path);
    if (st != stamps_.end() && st->second != stamp_of(path)) {
      errors.push_back(path +
                       ": plugin file changed on disk since it was loaded; restart netloom to use "
                       "the new version (the running blocks keep the old one)");
      return false;
    }
    return true;
  }
  if (!fs::exists(canon, ec)) {
    errors.push_back(file.string() + ": cannot load plugin: no such file");
    return false;
  }
  if (!allow_insecure_) {
    if (std::string no = refusal(file, false); !no.empty()) {
      errors.push_back(no);
      refused_.push_back(std::move(no));
      return false;
    }
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
  // An accepted plugin stays mapped until the process exits, even after the
  // last instance and the Registry are gone: the libraries plugins pull in
  // (glib and fontconfig through librrd, OpenSSL, Hyperscan) keep atexit
  // handlers and global state that must not be unmapped under them. Only
  // refused files above are unloaded again.
  dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
  files_.push_back(path);
  stamps_[path] = stamp_of(path);
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
