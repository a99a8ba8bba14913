# LogSink (blocks/sinks/log_*), loaded from the built plugin with a fake Context.
netloom_test(test_log_sink SOURCES test_log_sink.cpp LIBS netloom::sdk netloom::composition Boost::filesystem ZLIB::ZLIB ${CMAKE_DL_LIBS})
add_dependencies(test_log_sink netloom_logs)
