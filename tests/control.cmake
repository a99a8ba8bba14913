# Live control: the control socket, `netloom ctl` (ctl_main) and the
# Prometheus endpoint, over real Unix and TCP sockets.
netloom_test(test_control
  SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_control_socket.cpp ${NETLOOM_TEST_SOURCE_DIR}/test_control_metrics.cpp
  LIBS netloom_control)
