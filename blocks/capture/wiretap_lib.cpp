#include "wiretap_lib.hpp"

#include <dlfcn.h>

#include <netloom/error.hpp>
#include <string>

#ifndef NETLOOM_LIBWIRETAP_SONAME
#define NETLOOM_LIBWIRETAP_SONAME "libwiretap.so.13"
#endif

namespace netloom::pcapio::detail {
namespace {

struct Loaded {
  Libwiretap api{};
  std::string error;  // why it could not be loaded; empty when it was
};

// A symbol of libwiretap or of a library it depends on (wsutil, glib).
template <class F>
void resolve(void* h, const char* name, F& f, std::string& error) {
  f = reinterpret_cast<F>(dlsym(h, name));
  if (!f && error.empty()) error = std::string("no symbol ") + name;
}

Loaded load() {
  Loaded l;
  // Never closed: wiretap keeps global state (wtap_init) for the process.
  void* h = dlopen(NETLOOM_LIBWIRETAP_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char* e = dlerror();
    l.error = e ? e : "dlopen failed";
    return l;
  }
  Libwiretap& a = l.api;
  resolve(h, "ws_log_set_level", a.log_set_level, l.error);
  resolve(h, "wtap_init", a.init, l.error);
  resolve(h, "open_info_name_to_type", a.open_info_name_to_type, l.error);
  resolve(h, "wtap_get_num_encap_types", a.get_num_encap_types, l.error);
  resolve(h, "wtap_pcap_encap_to_wtap_encap", a.pcap_encap_to_wtap_encap, l.error);
  resolve(h, "wtap_strerror", a.strerror, l.error);
  resolve(h, "wtap_open_offline", a.open_offline, l.error);
  resolve(h, "wtap_read", a.read, l.error);
  resolve(h, "wtap_read_so_far", a.read_so_far, l.error);
  resolve(h, "wtap_close", a.close, l.error);
  resolve(h, "wtap_rec_init", a.rec_init, l.error);
  resolve(h, "wtap_rec_reset", a.rec_reset, l.error);
  resolve(h, "wtap_rec_cleanup", a.rec_cleanup, l.error);
  resolve(h, "ws_buffer_init", a.buffer_init, l.error);
  resolve(h, "ws_buffer_free", a.buffer_free, l.error);
  resolve(h, "g_free", a.g_free, l.error);
  return l;
}

}  // namespace

const Libwiretap& libwiretap() {
  static const Loaded l = load();
  if (!l.error.empty())
    throw InputError("cannot load libwiretap (" NETLOOM_LIBWIRETAP_SONAME "): " + l.error);
  return l.api;
}

}  // namespace netloom::pcapio::detail
