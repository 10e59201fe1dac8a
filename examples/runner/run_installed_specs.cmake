# cmake -P script: installs the build into a scratch prefix and runs the installed example specs
# that name other files (data, weights) with the installed dlogp-run: the relative paths in
# them must resolve inside the installed tree, not only in the source tree.
#   -DBUILD_DIR=<build tree> -DPREFIX=<scratch prefix> -DCONFIG=<build type>
#   -DBINDIR=<CMAKE_INSTALL_BINDIR> -DDOCDIR=<CMAKE_INSTALL_DOCDIR> (the project's install layout)
file(REMOVE_RECURSE ${PREFIX})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX} --config ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc})\n${out}")
endif()
file(GLOB specs ${PREFIX}/${DOCDIR}/specs/*.json)
set(ran 0)
foreach(spec IN LISTS specs)
  file(READ ${spec} text)
  if(NOT text MATCHES "\\.npy|\\.json\"|\\.safetensors")
    continue()  # self-contained; run_specs.cmake covers it
  endif()
  execute_process(COMMAND ${PREFIX}/${BINDIR}/dlogp-run ${spec} --no-progress
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out MATCHES "\"summary\"")
    message(FATAL_ERROR "installed dlogp-run ${spec}: exit ${rc}\n${err}")
  endif()
  message(STATUS "ok: ${spec}")
  math(EXPR ran "${ran} + 1")
endforeach()
if(ran LESS 2)
  message(FATAL_ERROR "expected the installed specs with data and weight files, found ${ran}")
endif()
file(REMOVE_RECURSE ${PREFIX})
