# RRDSink (blocks/sinks/rrd_*) and `netloom report` (apps/netloom/report.cpp):
# the rrd.conf parser and the statistics, the plugin writing RRD files read
# back through librrd, and the report's PNGs and index.html.
netloom_test(test_rrd
             SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_rrd_conf.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_rrd_stats.cpp
                     ${NETLOOM_TEST_SOURCE_DIR}/test_rrd_sink.cpp ${NETLOOM_SOURCE_ROOT}/apps/netloom/report.cpp
             LIBS netloom::rrd_core netloom::sdk netloom::composition Boost::filesystem PkgConfig::RRD
                  ${CMAKE_DL_LIBS})
target_include_directories(test_rrd PRIVATE ${NETLOOM_SOURCE_ROOT}/apps/netloom)
add_dependencies(test_rrd netloom_rrd)
