# Flow-sharded replicas: N-replica runs of compositions/tstat.xml write the same
# files as the 1-replica run (demo, dev captures, a 1 M-packet synthesized trace).
netloom_test(test_shards SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_shards.cpp LIBS netloom::sdk)
add_dependencies(test_shards netloom netloom-synth)
foreach(plugin netloom_capture netloom_flow netloom_pdpi netloom_fsmdpi netloom_bayes_classifier netloom_logs
               netloom_histogram netloom_rrd netloom_pcapdump)
  if(TARGET ${plugin})
    add_dependencies(test_shards ${plugin})
  endif()
endforeach()
# The test blocks (TestPass: a serial block between the tracker and replicated classifiers).
set(NETLOOM_SHARDS_PLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/shards-plugins)
add_library(shards_test_blocks MODULE ${NETLOOM_TEST_SOURCE_DIR}/plugins/test_blocks.cpp)
target_link_libraries(shards_test_blocks PRIVATE netloom::sdk)
set_target_properties(shards_test_blocks PROPERTIES PREFIX "" OUTPUT_NAME test_blocks
                      LIBRARY_OUTPUT_DIRECTORY ${NETLOOM_SHARDS_PLUGIN_DIR})
target_compile_definitions(test_shards PRIVATE NETLOOM_SHARDS_PLUGIN_DIR="${NETLOOM_SHARDS_PLUGIN_DIR}")
add_dependencies(test_shards shards_test_blocks)
