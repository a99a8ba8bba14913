# PcapSink (blocks/sinks/pcap_*): the selection rules on their own, and the
# plugin behind a real FlowTracker and PDPI, its dumps re-read with libpcap.
netloom_test(test_pcap_sink
             SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_pcap_sink.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_pcap_sink_rules.cpp
                     ${NETLOOM_SOURCE_ROOT}/blocks/sinks/pcap_dump_rules.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode PkgConfig::PCAP ZLIB::ZLIB
                  Boost::filesystem ${CMAKE_DL_LIBS})
target_include_directories(test_pcap_sink PRIVATE ${NETLOOM_SOURCE_ROOT}/blocks/sinks)
add_dependencies(test_pcap_sink netloom_pcapdump netloom_flow netloom_pdpi)
