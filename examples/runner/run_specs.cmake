# cmake -P script: every examples/specs/*.json runs with exit status 0 and writes a result.
#   -DRUNNER=<dlogp-run> -DSPECS=<examples/specs>
file(GLOB specs ${SPECS}/*.json)
if(NOT specs)
  message(FATAL_ERROR "no specs in ${SPECS}")
endif()
foreach(spec IN LISTS specs)
  execute_process(COMMAND ${RUNNER} ${spec} --no-progress RESULT_VARIABLE rc
                  OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dlogp-run ${spec}: exit ${rc}\n${err}")
  endif()
  if(NOT out MATCHES "\"summary\"")
    message(FATAL_ERROR "dlogp-run ${spec}: no summary in the output\n${out}")
  endif()
  message(STATUS "ok: ${spec}")
endforeach()
