# netloom_add_block(<target> <sources>...): a block plugin, loaded at run time
# exactly like a third-party one. Output: ${NETLOOM_PLUGIN_DIR}/<target>.so,
# or <top build dir>/plugins/<target>.so when NETLOOM_PLUGIN_DIR is not set.
#
# Used by the netloom tree itself (which sets NETLOOM_PLUGIN_DIR to
# build/plugins and collects every block in the netloom_plugins target) and,
# from an installed netloom, by find_package(netloom): netloomConfig.cmake sets
# the global property NETLOOM_SDK_INSTALLED, and then a block also gets an
# install rule to ${NETLOOM_PLUGIN_INSTALL_DIR} (lib/netloom/plugins), where an
# installed netloom of the same prefix finds it without --plugin-path.
function(netloom_add_block target)
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE netloom::sdk)
  set(dir "${NETLOOM_PLUGIN_DIR}")
  if(dir STREQUAL "")
    set(dir "${CMAKE_BINARY_DIR}/plugins")
  endif()
  set_target_properties(${target} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${dir}
                                             CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # A plugin must resolve every symbol at build time, not at dlopen.
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  get_property(installed GLOBAL PROPERTY NETLOOM_SDK_INSTALLED)
  if(installed)
    set(dest "${NETLOOM_PLUGIN_INSTALL_DIR}")
    if(dest STREQUAL "")
      set(dest "lib/netloom/plugins")
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION ${dest})
  else()
    # In tree: the top-level install section installs every block listed here.
    set_property(GLOBAL APPEND PROPERTY NETLOOM_BLOCK_TARGETS ${target})
    if(TARGET netloom_plugins)
      add_dependencies(netloom_plugins ${target})
    endif()
  endif()
endfunction()
