# TcpConnAnalyzer (blocks/flow/tcp_analyzer): hand-built segments, and real
# connections of the dev captures against Tstat's logs.
netloom_test(test_tcp_analyzer SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_tcp_analyzer.cpp
             LIBS netloom::tcp_analyzer netloom::decode netloom::pcapio PkgConfig::PCAP)
target_compile_definitions(test_tcp_analyzer PRIVATE NETLOOM_TCP_SEQ_CORPUS=1)
