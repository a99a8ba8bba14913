# Capture readers (blocks/capture, library netloom_pcapio).
netloom_test(test_capture SOURCES test_capture.cpp LIBS netloom::pcapio PkgConfig::PCAP ZLIB::ZLIB Threads::Threads)

# The PcapSource block itself, loaded from the built plugin with a fake Context.
netloom_test(test_capture_block SOURCES test_capture_block.cpp LIBS netloom::sdk netloom::composition Boost::filesystem ${CMAKE_DL_LIBS})
add_dependencies(test_capture_block netloom_capture)
