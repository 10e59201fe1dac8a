# cmake -P script: runs -DFIRST=<program> and -DSECOND=<program>; fails unless both succeed and
# print the same standard output.
foreach(p IN ITEMS FIRST SECOND)
  execute_process(COMMAND ${${p}} RESULT_VARIABLE rc OUTPUT_VARIABLE out_${p} ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "same_output: ${${p}} failed (${rc}): ${err}")
  endif()
endforeach()
if(NOT out_FIRST STREQUAL out_SECOND)
  message(FATAL_ERROR "same_output: the outputs differ\n--- ${FIRST}\n${out_FIRST}\n--- ${SECOND}\n${out_SECOND}")
endif()
string(LENGTH "${out_FIRST}" n)
message(STATUS "same_output: ${n} bytes identical")
