// A shared library opened by soname when first needed, its functions looked
// up one by one. Blocks use it for heavy optional dependencies (librrd's
// graphing stack, libwiretap): linked, their dozens of libraries would load
// at every start. The handle is never closed: such libraries keep global
// state for the process's life.
#pragma once
#include <dlfcn.h>

#include <string>

namespace netloom {

class LazyLibrary {
 public:
  explicit LazyLibrary(const char* soname) : soname_(soname) {
    handle_ = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle_) {
      const char* e = dlerror();
      error_ = e ? e : "dlopen failed";
    }
  }
  // Sets f to the function `name` (of the library or one it depends on);
  // the first missing one is remembered in error().
  template <class F>
  void get(const char* name, F& f) {
    f = handle_ ? reinterpret_cast<F>(dlsym(handle_, name)) : nullptr;
    if (!f && error_.empty()) error_ = std::string("no symbol ") + name;
  }
  // Empty when the library and every function asked for were found.
  const std::string& error() const { return error_; }
  // "cannot load <soname>: <why>"
  std::string message(const char* what) const {
    return std::string("cannot load ") + what + " (" + soname_ + "): " + error_;
  }

 private:
  const char* soname_;
  void* handle_ = nullptr;
  std::string error_;
};

}  // namespace netloom
