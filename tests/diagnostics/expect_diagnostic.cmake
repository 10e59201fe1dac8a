# cmake -DCXX=... -DINCLUDES="a|b" -DSOURCE=file.cpp -DEXPECT="text" -P expect_diagnostic.cmake
# Compiles SOURCE, which must fail, and requires EXPECT in the compiler's first error line: the
# user's mistake is named where they look first, not 20 notes further down.
set(args -std=c++20 -fsyntax-only)
string(REPLACE "|" ";" INCLUDES "${INCLUDES}")
foreach(dir IN LISTS INCLUDES)
  list(APPEND args "-I${dir}")
endforeach()
execute_process(COMMAND ${CXX} ${args} ${SOURCE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but it must not")
endif()
string(REGEX MATCH "error:[^\n]*" first "${out}")
string(FIND "${first}" "${EXPECT}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "first error of ${SOURCE} does not say \"${EXPECT}\":\n${first}\n\nfull output:\n${out}")
endif()
message(STATUS "${CXX}: ${first}")
