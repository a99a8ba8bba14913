# Hardening: the hostile-input sweep over the whole corpus (test_sweep), and
# `netloom run --user` plus the plugin-location checks (test_privileges).
netloom_test(test_sweep SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_sweep.cpp LIBS PkgConfig::PCAP ZLIB::ZLIB Threads::Threads)
add_dependencies(test_sweep netloom)

# A copy of the runtime tests' plugin, built here so this area stands alone.
set(NETLOOM_HARDENING_PLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/hardening-plugins)
add_library(hardening_test_blocks MODULE ${NETLOOM_TEST_SOURCE_DIR}/plugins/test_blocks.cpp)
target_link_libraries(hardening_test_blocks PRIVATE netloom::sdk)
set_target_properties(hardening_test_blocks PROPERTIES PREFIX "" OUTPUT_NAME test_blocks
                      LIBRARY_OUTPUT_DIRECTORY ${NETLOOM_HARDENING_PLUGIN_DIR})

netloom_test(test_privileges
  SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_privileges.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_privileges_plugins.cpp
  LIBS Threads::Threads)
target_compile_definitions(test_privileges PRIVATE
  NETLOOM_HARDENING_PLUGIN="${NETLOOM_HARDENING_PLUGIN_DIR}/test_blocks.so")
add_dependencies(test_privileges netloom hardening_test_blocks)
