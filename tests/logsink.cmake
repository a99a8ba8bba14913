# LogSink (blocks/sinks/log_*), loaded from the built plugin with a fake Context.
netloom_test(test_log_sink SOURCES test_log_sink.cpp LIBS netloom::sdk netloom::composition Boost::filesystem ZLIB::ZLIB ${CMAKE_DL_LIBS})
add_dependencies(test_log_sink netloom_logs)

# The log formatting itself (numbers), compiled in.
netloom_test(test_log_format SOURCES test_log_format.cpp ${NETLOOM_SOURCE_ROOT}/blocks/sinks/log_format.cpp
             LIBS netloom::sdk)
target_include_directories(test_log_format PRIVATE ${NETLOOM_SOURCE_ROOT}/blocks/sinks)
