# HistogramSink (blocks/sinks/histo_*, histogram_sink.cpp): the engine on its
# own (bins, formats, -H parser, the docs table), then the block behind a real
# FlowTracker against histograms the test computes itself from the dev captures.
netloom_test(test_histogram_engine SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_histogram_engine.cpp
             LIBS netloom_histo)

netloom_test(test_histogram_sink SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_histogram_sink.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode Boost::filesystem
                  ${CMAKE_DL_LIBS})
add_dependencies(test_histogram_sink netloom_histogram netloom_flow)
