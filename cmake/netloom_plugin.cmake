# netloom_add_block(<target> <sources>...): a block plugin, loaded at run time
# exactly like a third-party one. Output: ${NETLOOM_PLUGIN_DIR}/<target>.so
function(netloom_add_block target)
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE netloom::sdk)
  set_target_properties(${target} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${NETLOOM_PLUGIN_DIR}
                                             CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  # A plugin must resolve every symbol at build time, not at dlopen.
  target_link_options(${target} PRIVATE -Wl,--no-undefined)
  if(TARGET netloom_plugins)
    add_dependencies(netloom_plugins ${target})
  endif()
endfunction()
