#include "rrd_lib.hpp"

#include <dlfcn.h>

#include <mutex>
#include <netloom/error.hpp>
#include <string>

#ifndef NETLOOM_LIBRRD_SONAME
#define NETLOOM_LIBRRD_SONAME "librrd.so.8"
#endif

namespace netloom::rrd {
namespace {

struct Loaded {
  Librrd api{};
  std::string error;  // why it could not be loaded; empty when it was
};

template <class F>
bool resolve(void* h, const char* name, F& f, std::string& error) {
  f = reinterpret_cast<F>(dlsym(h, name));
  if (!f && error.empty()) error = std::string("no symbol ") + name;
  return f != nullptr;
}

Loaded load() {
  Loaded l;
  // Never closed: librrd and its libraries stay for the process's life.
  void* h = dlopen(NETLOOM_LIBRRD_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    l.error = e ? e : "dlopen failed";
    return l;
  }
  Librrd& a = l.api;
  resolve(h, "rrd_get_error", a.get_error, l.error);
  resolve(h, "rrd_clear_error", a.clear_error, l.error);
  resolve(h, "rrd_create_r", a.create_r, l.error);
  resolve(h, "rrd_update_r", a.update_r, l.error);
  resolve(h, "rrd_last_r", a.last_r, l.error);
  resolve(h, "rrd_lastupdate_r", a.lastupdate_r, l.error);
  resolve(h, "rrd_fetch_r", a.fetch_r, l.error);
  resolve(h, "rrd_freemem", a.freemem, l.error);
  resolve(h, "rrd_graph_v", a.graph_v, l.error);
  resolve(h, "rrd_info_free", a.info_free, l.error);
  resolve(h, "rrd_parsetime", a.parsetime, l.error);
  resolve(h, "rrd_proc_start_end", a.proc_start_end, l.error);
  return l;
}

}  // namespace

const Librrd& librrd() {
  static const Loaded l = load();  // C++11 magic static: one load, thread-safe
  if (!l.error.empty()) throw InputError("cannot load librrd (" NETLOOM_LIBRRD_SONAME "): " + l.error);
  return l.api;
}

}  // namespace netloom::rrd
