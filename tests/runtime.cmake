# Runtime, plugin loader and CLI tests, with their own test plugins.
set(NETLOOM_TEST_PLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/plugins)
function(netloom_test_plugin name dir)
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE netloom::sdk)
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${NETLOOM_TEST_PLUGIN_DIR}/${dir})
endfunction()
netloom_test_plugin(test_blocks good ${NETLOOM_TEST_SOURCE_DIR}/plugins/test_blocks.cpp)
netloom_test_plugin(not_a_plugin not_a_plugin ${NETLOOM_TEST_SOURCE_DIR}/plugins/not_a_plugin.cpp)
netloom_test_plugin(abi_mismatch abi_mismatch ${NETLOOM_TEST_SOURCE_DIR}/plugins/abi_mismatch.cpp)
netloom_test_plugin(duplicate_type duplicate ${NETLOOM_TEST_SOURCE_DIR}/plugins/duplicate_type.cpp)
netloom_test_plugin(unresolved_symbol unresolved ${NETLOOM_TEST_SOURCE_DIR}/plugins/unresolved_symbol.cpp)
add_custom_target(netloom_test_plugins DEPENDS test_blocks not_a_plugin abi_mismatch duplicate_type unresolved_symbol)

netloom_test(test_runtime
  SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_runtime.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_plugin_loader.cpp
          ${NETLOOM_TEST_SOURCE_DIR}/test_heap_prefault.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_recycled.cpp
          ${NETLOOM_TEST_SOURCE_DIR}/test_lazy_library.cpp
  LIBS netloom::runtime)
target_compile_definitions(test_runtime PRIVATE NETLOOM_TEST_PLUGIN_DIR="${NETLOOM_TEST_PLUGIN_DIR}")
add_dependencies(test_runtime netloom_test_plugins)

netloom_test(test_cli SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_cli.cpp LIBS netloom::sdk ZLIB::ZLIB)
target_compile_definitions(test_cli PRIVATE NETLOOM_TEST_PLUGIN_DIR="${NETLOOM_TEST_PLUGIN_DIR}")
add_dependencies(test_cli netloom netloom_test_plugins)

netloom_test(test_count_corpus SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_count_corpus.cpp LIBS ZLIB::ZLIB)
add_dependencies(test_count_corpus netloom)

netloom_test(test_golden_tstat SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_golden_tstat.cpp LIBS)
add_dependencies(test_golden_tstat netloom)

# Hot reload on the real plugins.
netloom_test(test_reload SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_reload.cpp LIBS netloom::runtime)
add_dependencies(test_reload netloom_plugins)
