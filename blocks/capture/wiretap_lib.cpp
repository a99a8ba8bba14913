#include "wiretap_lib.hpp"

#include <netloom/error.hpp>
#include <netloom/lazy_library.hpp>
#include <string>

#ifndef NETLOOM_LIBWIRETAP_SONAME
#define NETLOOM_LIBWIRETAP_SONAME "libwiretap.so.13"
#endif

namespace netloom::pcapio::detail {
namespace {

struct Loaded {
  Libwiretap api{};
  std::string error;  // empty when every function was found
};

Loaded load() {
  LazyLibrary lib(NETLOOM_LIBWIRETAP_SONAME);  // wsutil's and glib's functions come through it
  Loaded l;
  Libwiretap& a = l.api;
  lib.get("ws_log_set_level", a.log_set_level);
  lib.get("wtap_init", a.init);
  lib.get("open_info_name_to_type", a.open_info_name_to_type);
  lib.get("wtap_get_num_encap_types", a.get_num_encap_types);
  lib.get("wtap_pcap_encap_to_wtap_encap", a.pcap_encap_to_wtap_encap);
  lib.get("wtap_strerror", a.strerror);
  lib.get("wtap_open_offline", a.open_offline);
  lib.get("wtap_read", a.read);
  lib.get("wtap_read_so_far", a.read_so_far);
  lib.get("wtap_close", a.close);
  lib.get("wtap_rec_init", a.rec_init);
  lib.get("wtap_rec_reset", a.rec_reset);
  lib.get("wtap_rec_cleanup", a.rec_cleanup);
  lib.get("ws_buffer_init", a.buffer_init);
  lib.get("ws_buffer_free", a.buffer_free);
  lib.get("g_free", a.g_free);
  if (!lib.error().empty()) l.error = lib.message("libwiretap");
  return l;
}

}  // namespace

const Libwiretap& libwiretap() {
  static const Loaded l = load();  // one load, thread-safe
  if (!l.error.empty()) throw InputError(l.error);
  return l.api;
}

}  // namespace netloom::pcapio::detail
