# PDPI (blocks/classifiers/pdpi_*): the signature parser, every shipped
# signature on hand-built payloads, and accuracy on the dev captures.
netloom_test(test_pdpi SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_pdpi.cpp
             LIBS netloom_pdpi_sigs netloom::sdk netloom::composition netloom::pcapio netloom::decode
                  Boost::filesystem ${CMAKE_DL_LIBS})
target_compile_definitions(test_pdpi PRIVATE
  NETLOOM_PDPI_SIGNATURES="${NETLOOM_SOURCE_ROOT}/blocks/classifiers/signatures/tstat.sig")
add_dependencies(test_pdpi netloom_pdpi netloom_flow)

# The on-disk cache of the compiled database (pdpi_signatures.cpp, docs/pdpi.md);
# the test forges entries with OpenSSL's SHA-256.
find_package(OpenSSL REQUIRED COMPONENTS Crypto)
netloom_test(test_pdpi_cache SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_pdpi_cache.cpp
             LIBS netloom_pdpi_sigs netloom::sdk netloom::composition OpenSSL::Crypto Boost::filesystem
                  ${CMAKE_DL_LIBS})
target_compile_definitions(test_pdpi_cache PRIVATE
  NETLOOM_PDPI_SIGNATURES="${NETLOOM_SOURCE_ROOT}/blocks/classifiers/signatures/tstat.sig")
add_dependencies(test_pdpi_cache netloom_pdpi)
