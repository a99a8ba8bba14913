// libwiretap, opened on the first pcapng file. Linked, it brought ~25
// libraries (glib, gnutls, libxml2...) and 14 ms into every start, although
// libpcap reads the plain pcap files most runs are made of.
//
// <wiretap/wtap.h> handles extern "C" itself; wrapping it again breaks glib's
// C++ templates.
#pragma once
#include <wiretap/pcap-encap.h>
#include <wiretap/wtap.h>
#include <wsutil/buffer.h>
#include <wsutil/wslog.h>

namespace netloom::pcapio::detail {

// The libwiretap (and wsutil, glib) functions the reader calls, with their
// own signatures.
struct Libwiretap {
  decltype(&::ws_log_set_level) log_set_level;
  decltype(&::wtap_init) init;
  decltype(&::open_info_name_to_type) open_info_name_to_type;
  decltype(&::wtap_get_num_encap_types) get_num_encap_types;
  decltype(&::wtap_pcap_encap_to_wtap_encap) pcap_encap_to_wtap_encap;
  decltype(&::wtap_strerror) strerror;
  decltype(&::wtap_open_offline) open_offline;
  decltype(&::wtap_read) read;
  decltype(&::wtap_read_so_far) read_so_far;
  decltype(&::wtap_close) close;
  decltype(&::wtap_rec_init) rec_init;
  decltype(&::wtap_rec_reset) rec_reset;
  decltype(&::wtap_rec_cleanup) rec_cleanup;
  decltype(&::ws_buffer_init) buffer_init;
  decltype(&::ws_buffer_free) buffer_free;
  decltype(&::g_free) g_free;
};

// Opens libwiretap once (thread-safe). Throws netloom::InputError "cannot
// load libwiretap (libwiretap.so.13): <why>" when it or a function is missing.
const Libwiretap& libwiretap();

}  // namespace netloom::pcapio::detail
