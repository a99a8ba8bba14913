# Third-party libraries, all from Debian 12 packages (scripts/deps.sh installs them).
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(GLIB REQUIRED IMPORTED_TARGET glib-2.0)
find_package(pugixml REQUIRED)
find_package(TBB REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS filesystem)
find_package(ZLIB REQUIRED)
find_package(CLI11 REQUIRED)
find_package(Threads REQUIRED)

# Wireshark's wiretap reads pcapng files libpcap refuses (several interfaces
# with different link types or snap lengths). Debian ships no pkg-config file.
find_path(WIRETAP_INCLUDE_DIR wiretap/wtap.h PATH_SUFFIXES wireshark REQUIRED)
find_library(WIRETAP_LIBRARY wiretap REQUIRED)
find_library(WSUTIL_LIBRARY wsutil REQUIRED)

# netloom_soname(VAR LIBRARY_PATH): the soname (libfoo.so.N) of a library
# netloom opens with dlopen on first use instead of linking it.
function(netloom_soname var path)
  file(REAL_PATH ${path} real)
  get_filename_component(file ${real} NAME)
  string(REGEX MATCH "^lib[^.]+\\.so\\.[0-9]+" soname "${file}")
  if(NOT soname)
    message(FATAL_ERROR "cannot tell the soname of ${real}")
  endif()
  set(${var} ${soname} PARENT_SCOPE)
endfunction()

# libwiretap and its ~25 libraries (glib, gnutls, ...) cost 14 ms at every
# start; only pcapng files need them, so blocks/capture opens it then
# (wiretap_lib.hpp): headers here, the library by soname.
netloom_soname(NETLOOM_LIBWIRETAP_SONAME ${WIRETAP_LIBRARY})
add_library(netloom_wiretap INTERFACE)
target_include_directories(netloom_wiretap SYSTEM INTERFACE ${WIRETAP_INCLUDE_DIR} ${GLIB_INCLUDE_DIRS})
target_compile_definitions(netloom_wiretap INTERFACE NETLOOM_LIBWIRETAP_SONAME="${NETLOOM_LIBWIRETAP_SONAME}")
target_link_libraries(netloom_wiretap INTERFACE ${CMAKE_DL_LIBS})

if(NETLOOM_TESTS)
  find_package(GTest REQUIRED)
endif()
if(NETLOOM_BENCH)
  find_package(benchmark REQUIRED)
endif()
pkg_check_modules(HS REQUIRED IMPORTED_TARGET libhs)
