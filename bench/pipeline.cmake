# The pipeline benchmark's baseline: a plain libpcap read loop (see bench/README.md).
add_executable(bench_plain_loop ${CMAKE_CURRENT_LIST_DIR}/plain_loop.cpp)
target_link_libraries(bench_plain_loop PRIVATE PkgConfig::PCAP)
set_target_properties(bench_plain_loop PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
