# Warnings are per target, never global, so consumers of our headers and
# third-party code keep their own flags.
function(tiny_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor>
    $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic>
    $<$<BOOL:${TINYHOST_WERROR}>:-Werror>)
endfunction()
