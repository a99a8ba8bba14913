# --- RRDSink (Tstat's RRD output through librrd) -----------------------------
# GLOBAL: the `netloom report` command (apps/) links librrd too.
pkg_check_modules(RRD REQUIRED IMPORTED_TARGET GLOBAL librrd)

# The rrd.conf parser, the statistics and the librrd calls, shared by the
# plugin, `netloom report` and the tests.
add_library(netloom_rrd_core STATIC ${CMAKE_CURRENT_LIST_DIR}/rrd_conf.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/rrd_stats.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/rrd_archive.cpp
                                    ${CMAKE_CURRENT_LIST_DIR}/rrd_lib.cpp)
add_library(netloom::rrd_core ALIAS netloom_rrd_core)
target_include_directories(netloom_rrd_core PUBLIC ${CMAKE_CURRENT_LIST_DIR})
# librrd is opened with dlopen on first use (rrd_lib.hpp says why): only its
# headers at build time, and its soname to open.
find_library(NETLOOM_LIBRRD_PATH NAMES rrd HINTS ${RRD_LIBRARY_DIRS} REQUIRED)
netloom_soname(netloom_librrd_soname ${NETLOOM_LIBRRD_PATH})
target_include_directories(netloom_rrd_core PUBLIC ${RRD_INCLUDE_DIRS})
target_compile_definitions(netloom_rrd_core PRIVATE NETLOOM_LIBRRD_SONAME="${netloom_librrd_soname}")
target_link_libraries(netloom_rrd_core PUBLIC netloom::sdk ${CMAKE_DL_LIBS})
set_target_properties(netloom_rrd_core PROPERTIES POSITION_INDEPENDENT_CODE ON)

# The shipped rrd.conf is compiled into the plugin (param config="" uses it).
set(NETLOOM_RRD_CONF ${CMAKE_CURRENT_LIST_DIR}/rrd/rrd.conf)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${NETLOOM_RRD_CONF})
file(READ ${NETLOOM_RRD_CONF} netloom_rrd_hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," netloom_rrd_hex "${netloom_rrd_hex}")
file(CONFIGURE OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/rrd_builtin.cpp CONTENT
     "namespace netloom::rrd {\nextern const char kBuiltinConf[] = {${netloom_rrd_hex} 0};\nextern const char kBuiltinName[] = \"rrd/rrd.conf\";\n}\n")

netloom_add_block(netloom_rrd ${CMAKE_CURRENT_LIST_DIR}/rrd_sink.cpp ${CMAKE_CURRENT_BINARY_DIR}/rrd_builtin.cpp)
target_link_libraries(netloom_rrd PRIVATE netloom_rrd_core)
target_link_options(netloom_rrd PRIVATE -Wl,--exclude-libs,ALL)
# --- end RRDSink ---------------------------------------------------------------
