# --- KafkaSink (flow records, classification events and histograms to Kafka
# through librdkafka) ----------------------------------------------------------
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka)

# Flow records are LogSink's JSON lines: its formatter is compiled in.
netloom_add_block(netloom_kafka ${CMAKE_CURRENT_LIST_DIR}/kafka_sink.cpp ${CMAKE_CURRENT_LIST_DIR}/kafka_json.cpp
                  ${CMAKE_CURRENT_LIST_DIR}/kafka_config.cpp ${CMAKE_SOURCE_DIR}/blocks/sinks/log_format.cpp)
target_include_directories(netloom_kafka PRIVATE ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_SOURCE_DIR}/blocks/sinks)
target_link_libraries(netloom_kafka PRIVATE PkgConfig::RDKAFKA)
# --- end KafkaSink --------------------------------------------------------------
