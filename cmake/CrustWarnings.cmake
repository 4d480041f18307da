# Warnings for project code only; third-party headers come in as system
# headers and are not held to them.
function(crust_project_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
    -Woverloaded-virtual -Wimplicit-fallthrough)
  if(CRUST_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
