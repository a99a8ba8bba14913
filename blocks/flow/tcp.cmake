# TCP per-connection sequence analysis (retransmissions, RTT, anomalies,
# options, windows), used by the FlowTracker for every TCP segment.
if(NOT TARGET netloom_tcp_analyzer)
  add_library(netloom_tcp_analyzer STATIC ${CMAKE_CURRENT_LIST_DIR}/tcp_analyzer.cpp)
  add_library(netloom::tcp_analyzer ALIAS netloom_tcp_analyzer)
  target_include_directories(netloom_tcp_analyzer PUBLIC ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(netloom_tcp_analyzer PUBLIC netloom::sdk)
endif()
