# Classification accuracy of the whole Tstat chain on the dev captures.
netloom_test(test_accuracy SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_accuracy.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode Boost::filesystem
                  ${CMAKE_DL_LIBS})
add_dependencies(test_accuracy netloom_flow netloom_pdpi netloom_bayes_classifier)
if(TARGET netloom_fsmdpi)
  add_dependencies(test_accuracy netloom_fsmdpi)
endif()
