# IPFIXExporter / IPFIXSource (blocks/export/ipfix_*, docs/ipfix.md). Test
# names get the prefix "ipfix." so `ctest -R ipfix` selects them all.
#   test_ipfix_codec   the codec and the FlowRecord layout, no sockets
#   test_ipfix_blocks  both blocks loaded from the plugin, over loopback sockets
#   test_ipfix_e2e     `netloom run` end to end: nfcapd/nfdump round trip,
#                      probe -> collector round trip
function(netloom_ipfix_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest_main ${T_LIBS})
  target_include_directories(${name} PRIVATE ${NETLOOM_TEST_SOURCE_DIR})
  target_compile_definitions(${name} PRIVATE NETLOOM_SOURCE_ROOT="${PROJECT_SOURCE_DIR}"
                                             NETLOOM_BUILD_ROOT="${CMAKE_BINARY_DIR}"
                                             NETLOOM_CORPUS_DEFAULT="${NETLOOM_CORPUS_DEFAULT}")
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  gtest_discover_tests(${name} TEST_PREFIX "ipfix." WORKING_DIRECTORY ${PROJECT_SOURCE_DIR} DISCOVERY_TIMEOUT 60
                       PROPERTIES ENVIRONMENT "NETLOOM_BUILD_ROOT=${CMAKE_BINARY_DIR}" TIMEOUT 600)
endfunction()

netloom_ipfix_test(test_ipfix_codec SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_ipfix_codec.cpp
                   LIBS netloom::ipfix_codec)

netloom_ipfix_test(test_ipfix_blocks SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_ipfix_blocks.cpp
                   LIBS netloom::ipfix_codec netloom::sdk netloom::composition Boost::filesystem ${CMAKE_DL_LIBS})
add_dependencies(test_ipfix_blocks netloom_ipfix)

netloom_ipfix_test(test_ipfix_e2e SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_ipfix_e2e.cpp
                   LIBS netloom::ipfix_codec)
add_dependencies(test_ipfix_e2e netloom netloom_ipfix netloom_capture netloom_flow netloom_pdpi netloom_fsmdpi
                 netloom_bayes_classifier netloom_logs)
