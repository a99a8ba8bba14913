# IPFIXExporter and IPFIXSource (docs/ipfix.md): IPFIX (RFC 7011) over UDP and
# TCP with netloom's own small codec (ipfix_codec.*), no external library.
# netloom_ipfix_codec holds the codec and the FlowRecord mapping so the tests
# can use them without the plugin.
add_library(netloom_ipfix_codec STATIC ${CMAKE_CURRENT_LIST_DIR}/ipfix_codec.cpp
                                       ${CMAKE_CURRENT_LIST_DIR}/ipfix_flow.cpp
                                       ${CMAKE_CURRENT_LIST_DIR}/ipfix_net.cpp)
target_include_directories(netloom_ipfix_codec PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(netloom_ipfix_codec PUBLIC netloom::sdk)
set_target_properties(netloom_ipfix_codec PROPERTIES CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
add_library(netloom::ipfix_codec ALIAS netloom_ipfix_codec)

netloom_add_block(netloom_ipfix ${CMAKE_CURRENT_LIST_DIR}/ipfix_plugin.cpp
                  ${CMAKE_CURRENT_LIST_DIR}/ipfix_exporter.cpp ${CMAKE_CURRENT_LIST_DIR}/ipfix_source.cpp)
target_link_libraries(netloom_ipfix PRIVATE netloom_ipfix_codec)
