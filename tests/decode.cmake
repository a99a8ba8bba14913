# L2–L4 decoder: hand-built frames and real captures (skipped without corpus).
netloom_test(test_decode
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_decode.cpp ${CMAKE_CURRENT_LIST_DIR}/test_decode_corpus.cpp
  LIBS netloom::decode PkgConfig::PCAP)
