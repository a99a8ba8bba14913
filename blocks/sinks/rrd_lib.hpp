// librrd, opened on first use. Its graphing pulls in ~40 libraries (cairo,
// pango, glib, fontconfig, X11...): ~12 ms of start-up for every process
// linking it, although only `netloom report` draws. Opened with dlopen, the
// archives' writer thread pays it at its first write, and a `netloom run`
// without RRDSink (or the main thread of one with it) never does.
#pragma once
#include <rrd.h>

namespace netloom::rrd {

// The librrd functions netloom calls, with librrd's own signatures.
struct Librrd {
  decltype(&::rrd_get_error) get_error;
  decltype(&::rrd_clear_error) clear_error;
  decltype(&::rrd_create_r) create_r;
  decltype(&::rrd_update_r) update_r;
  decltype(&::rrd_last_r) last_r;
  decltype(&::rrd_lastupdate_r) lastupdate_r;
  decltype(&::rrd_fetch_r) fetch_r;
  decltype(&::rrd_freemem) freemem;
  decltype(&::rrd_graph_v) graph_v;
  decltype(&::rrd_info_free) info_free;
  decltype(&::rrd_parsetime) parsetime;
  decltype(&::rrd_proc_start_end) proc_start_end;
};

// Opens librrd once (thread-safe). Throws netloom::InputError "cannot load
// librrd (librrd.so.8): <why>" when the library or a function is missing.
const Librrd& librrd();

}  // namespace netloom::rrd
