# FSMDPI (blocks/classifiers/fsmdpi/): the machines on real packets from the
# dev captures and near-misses (test_fsmdpi), and the plugin behind a real
# FlowTracker and PDPI: parameters, events, per-class corpus numbers
# (test_fsmdpi_block).
if(TARGET netloom_fsmdpi_machines)
  netloom_test(test_fsmdpi SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_fsmdpi_machines.cpp
               LIBS netloom_fsmdpi_machines netloom::sdk netloom::pcapio netloom::decode)
  netloom_test(test_fsmdpi_block SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_fsmdpi_block.cpp
               LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode Boost::filesystem
                    ${CMAKE_DL_LIBS})
  add_dependencies(test_fsmdpi_block netloom_fsmdpi netloom_pdpi netloom_flow)
  find_package(OpenSSL QUIET COMPONENTS Crypto)
  if(OpenSSL_FOUND)
    netloom_test(test_fsmdpi_cert SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_fsmdpi_cert.cpp
                 LIBS netloom_fsmdpi_machines OpenSSL::Crypto)
  endif()
endif()
