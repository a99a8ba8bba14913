# BayesClassifier (blocks/classifiers/bayes_*): the naive Bayes engine and
# the block on synthetic flows and the dev captures.
netloom_test(test_bayes_engine SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_bayes_engine.cpp LIBS netloom::bayes)

netloom_test(test_bayes_block SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_bayes_block.cpp
             LIBS netloom::sdk netloom::composition netloom::pcapio netloom::decode Boost::filesystem ${CMAKE_DL_LIBS})
add_dependencies(test_bayes_block netloom_flow netloom_bayes_classifier)
