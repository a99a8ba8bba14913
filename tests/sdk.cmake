# The out-of-tree SDK: installs this build into a temporary prefix, builds
# sdk/examples/ntp_classifier against it and runs it (tests/test_sdk.cpp).
# One ctest entry, not one per test: the tests share one install and one
# example build, which take most of the run time.
add_executable(test_sdk ${NETLOOM_TEST_SOURCE_DIR}/test_sdk.cpp)
target_link_libraries(test_sdk PRIVATE GTest::gtest_main netloom::sdk)
target_include_directories(test_sdk PRIVATE ${NETLOOM_TEST_SOURCE_DIR})
# The example is compiled with the flags in-tree plugins get (warnings as
# errors, sanitizers in a sanitizer build) and the same compiler: the ABI rule.
get_directory_property(netloom_sdk_cflags COMPILE_OPTIONS)
get_directory_property(netloom_sdk_lflags LINK_OPTIONS)
list(JOIN netloom_sdk_cflags " " netloom_sdk_cflags)
list(JOIN netloom_sdk_lflags " " netloom_sdk_lflags)
target_compile_definitions(test_sdk PRIVATE
  NETLOOM_SOURCE_ROOT="${PROJECT_SOURCE_DIR}" NETLOOM_BUILD_ROOT="${CMAKE_BINARY_DIR}"
  NETLOOM_CORPUS_DEFAULT="${NETLOOM_CORPUS_DEFAULT}"
  NETLOOM_CMAKE_COMMAND="${CMAKE_COMMAND}" NETLOOM_CMAKE_GENERATOR="${CMAKE_GENERATOR}"
  NETLOOM_MAKE_PROGRAM="${CMAKE_MAKE_PROGRAM}" NETLOOM_CXX_COMPILER="${CMAKE_CXX_COMPILER}"
  NETLOOM_BUILD_TYPE="${CMAKE_BUILD_TYPE}"
  NETLOOM_EXAMPLE_CXX_FLAGS="${netloom_sdk_cflags}" NETLOOM_EXAMPLE_LINK_FLAGS="${netloom_sdk_lflags}")
set_target_properties(test_sdk PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
# netloom depends on every stock plugin: all that `cmake --install` installs.
add_dependencies(test_sdk netloom)
add_test(NAME sdk.out_of_tree_plugin COMMAND test_sdk WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(sdk.out_of_tree_plugin PROPERTIES TIMEOUT 280 LABELS sdk)
