#include "rrd_lib.hpp"

#include <netloom/error.hpp>
#include <netloom/lazy_library.hpp>

#ifndef NETLOOM_LIBRRD_SONAME
#define NETLOOM_LIBRRD_SONAME "librrd.so.8"
#endif

namespace netloom::rrd {
namespace {

struct Loaded {
  Librrd api{};
  std::string error;  // empty when every function was found
};

Loaded load() {
  LazyLibrary lib(NETLOOM_LIBRRD_SONAME);
  Loaded l;
  Librrd& a = l.api;
  lib.get("rrd_get_error", a.get_error);
  lib.get("rrd_clear_error", a.clear_error);
  lib.get("rrd_create_r", a.create_r);
  lib.get("rrd_update_r", a.update_r);
  lib.get("rrd_last_r", a.last_r);
  lib.get("rrd_lastupdate_r", a.lastupdate_r);
  lib.get("rrd_fetch_r", a.fetch_r);
  lib.get("rrd_freemem", a.freemem);
  lib.get("rrd_graph_v", a.graph_v);
  lib.get("rrd_info_free", a.info_free);
  lib.get("rrd_parsetime", a.parsetime);
  lib.get("rrd_proc_start_end", a.proc_start_end);
  if (!lib.error().empty()) l.error = lib.message("librrd");
  return l;
}

}  // namespace

const Librrd& librrd() {
  static const Loaded l = load();  // one load, thread-safe
  if (!l.error.empty()) throw InputError(l.error);
  return l.api;
}

}  // namespace netloom::rrd
