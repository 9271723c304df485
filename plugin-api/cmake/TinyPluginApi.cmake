# tiny_add_plugin(NAME SOURCES ... [OUTPUT_DIRECTORY DIR])
#
# Builds NAME.so as a tinyhost plugin: hidden visibility, only
# `tiny_plugin_entry` exported (version script), no undefined symbols
# (-z defs) and no re-exported static-library symbols (--exclude-libs).
# Works the same in the tinyhost tree and from an installed TinyPluginApi
# package: exports.map sits beside this file in both.
include_guard(GLOBAL)
set(TINY_PLUGIN_EXPORTS_MAP ${CMAKE_CURRENT_LIST_DIR}/exports.map CACHE INTERNAL "")

function(tiny_add_plugin name)
  cmake_parse_arguments(ARG "" "OUTPUT_DIRECTORY" "SOURCES" ${ARGN})
  if(NOT TARGET tiny::plugin_api)
    message(FATAL_ERROR "tiny_add_plugin(${name}): tiny::plugin_api is not defined; "
                        "call find_package(TinyPluginApi REQUIRED) first")
  endif()
  if(NOT ARG_SOURCES AND NOT ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "tiny_add_plugin(${name}): no SOURCES given")
  endif()
  add_library(${name} MODULE ${ARG_SOURCES} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE tiny::plugin_api)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LINK_DEPENDS ${TINY_PLUGIN_EXPORTS_MAP})
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${ARG_OUTPUT_DIRECTORY})
  endif()
  target_link_options(${name} PRIVATE
    "LINKER:--version-script=${TINY_PLUGIN_EXPORTS_MAP}"
    "LINKER:-z,defs"
    "LINKER:--exclude-libs,ALL")
endfunction()
