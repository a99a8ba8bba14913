# Multi-probe deployment recipe (docs/deployment.md): the BPF split checked end
# to end with the netloom binary (PcapSource -> FlowTracker -> LogSink).
netloom_test(test_deployment SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_deployment.cpp LIBS)
add_dependencies(test_deployment netloom netloom_capture netloom_flow netloom_logs)
