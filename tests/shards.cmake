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
