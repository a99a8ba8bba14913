# KafkaSink (blocks/export/kafka_*), loaded from the built plugin, against
# librdkafka's in-process mock cluster; read back with a real consumer. Also
# drives a FlowTracker and PDPI, LogSink (the reference JSON) and the netloom
# command with compositions/probe-kafka.xml.
pkg_check_modules(RDKAFKA_TEST REQUIRED IMPORTED_TARGET rdkafka)
netloom_test(test_kafka_sink SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_kafka_sink.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode PkgConfig::RDKAFKA_TEST
                  Boost::filesystem ${CMAKE_DL_LIBS})
add_dependencies(test_kafka_sink netloom netloom_kafka netloom_logs netloom_capture netloom_flow netloom_pdpi
                 netloom_fsmdpi netloom_bayes_classifier netloom_histogram)
