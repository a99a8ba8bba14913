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
add_library(netloom_wiretap INTERFACE)
target_include_directories(netloom_wiretap SYSTEM INTERFACE ${WIRETAP_INCLUDE_DIR})
target_link_libraries(netloom_wiretap INTERFACE ${WIRETAP_LIBRARY} ${WSUTIL_LIBRARY} PkgConfig::GLIB)

if(NETLOOM_TESTS)
  find_package(GTest REQUIRED)
endif()
if(NETLOOM_BENCH)
  find_package(benchmark REQUIRED)
endif()
pkg_check_modules(HS REQUIRED IMPORTED_TARGET libhs)
