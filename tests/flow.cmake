# FlowTracker (blocks/flow): the -N net-file parser and the block itself.
netloom_test(test_flow_netfile SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_flow_netfile.cpp LIBS netloom::netfile)
target_compile_definitions(test_flow_netfile PRIVATE NETLOOM_FLOW_DATA="${NETLOOM_TEST_SOURCE_DIR}/data")

netloom_test(test_flow_tracker SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_flow_tracker.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode Boost::filesystem ${CMAKE_DL_LIBS})
target_compile_definitions(test_flow_tracker PRIVATE NETLOOM_FLOW_DATA="${NETLOOM_TEST_SOURCE_DIR}/data")
add_dependencies(test_flow_tracker netloom_flow)
