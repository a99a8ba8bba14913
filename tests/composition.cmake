# Composition parser, parameter parser and validator (core/composition).
netloom_test(test_composition
  SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_composition.cpp
          ${NETLOOM_TEST_SOURCE_DIR}/test_composition_validate.cpp
  LIBS netloom::composition)
netloom_test(test_param_parse
  SOURCES ${NETLOOM_TEST_SOURCE_DIR}/test_param_parse.cpp
  LIBS netloom::composition)
