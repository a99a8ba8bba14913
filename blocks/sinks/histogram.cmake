# HistogramSink: Tstat's histogram engine. netloom_histo holds the engine
# (definitions, bins and formats, the -H parser, what feeds each histogram,
# file output) so tests link it without the plugin.
add_library(netloom_histo STATIC
  ${CMAKE_CURRENT_LIST_DIR}/histo_defs.cpp ${CMAKE_CURRENT_LIST_DIR}/histo_engine.cpp
  ${CMAKE_CURRENT_LIST_DIR}/histo_config.cpp ${CMAKE_CURRENT_LIST_DIR}/histo_adx.cpp
  ${CMAKE_CURRENT_LIST_DIR}/histo_collect.cpp ${CMAKE_CURRENT_LIST_DIR}/histo_output.cpp)
add_library(netloom::histo ALIAS netloom_histo)
target_include_directories(netloom_histo PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(netloom_histo PUBLIC netloom::sdk)
set_target_properties(netloom_histo PROPERTIES POSITION_INDEPENDENT_CODE ON)

# The -N net file parser comes from the flow tracker (blocks/flow/netfile.*).
netloom_add_block(netloom_histogram ${CMAKE_CURRENT_LIST_DIR}/histogram_sink.cpp)
target_link_libraries(netloom_histogram PRIVATE netloom_histo netloom_netfile)
target_link_options(netloom_histogram PRIVATE -Wl,--exclude-libs,ALL)
