# decode_packet throughput (built frames + real captures when the corpus exists).
add_executable(bench_decode ${CMAKE_CURRENT_LIST_DIR}/bench_decode.cpp)
target_link_libraries(bench_decode PRIVATE benchmark::benchmark_main netloom::decode PkgConfig::PCAP)
target_include_directories(bench_decode PRIVATE ${PROJECT_SOURCE_DIR}/tests)  # pcap_builder.hpp
target_compile_definitions(bench_decode PRIVATE
  NETLOOM_CORPUS_DEFAULT="${PROJECT_SOURCE_DIR}/../shared/corpus")
set_target_properties(bench_decode PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
