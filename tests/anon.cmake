# Anonymizer (blocks/privacy): Crypto-PAn reference vectors and prefix
# preservation, key forms, packet rewriting with checksums (library), and the
# block end to end between FlowTracker and LogSink on the dev captures.
netloom_test(test_anon SOURCES test_anon_cryptopan.cpp test_anon_keys.cpp test_anon_rewrite.cpp
             LIBS netloom::privacy netloom::decode)
netloom_test(test_anon_block SOURCES test_anon_block.cpp
             LIBS netloom::privacy netloom::sdk netloom::composition netloom::pcapio netloom::decode
                  Boost::filesystem ${CMAKE_DL_LIBS})
add_dependencies(test_anon_block netloom_anon netloom_flow netloom_logs)
