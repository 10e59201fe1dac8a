# cmake -P script: dlogp-run-mpi on 2 ranks writes, for every example spec (and variants with a
# recorded trajectory and with fewer trajectories than ranks), the document dlogp-run writes,
# byte for byte apart from summary.seconds; its errors are dlogp-run's.
#   -DRUNNER=<dlogp-run> -DMPI_RUNNER=<dlogp-run-mpi> -DMPIEXEC=<mpiexec> -DSPECS=<dir> -DWORK=<dir>
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})

set(launch ${MPIEXEC} -np 2 --oversubscribe)
execute_process(COMMAND id -u OUTPUT_VARIABLE uid OUTPUT_STRIP_TRAILING_WHITESPACE)
if(uid STREQUAL "0")
  list(APPEND launch --allow-run-as-root)
endif()

# Specs: the examples (but objective, which the MPI runner refuses) and three variants.
file(GLOB specs ${SPECS}/*.json)
list(FILTER specs EXCLUDE REGEX "objective\\.json$")
file(READ ${SPECS}/hd-sampler.json text)
string(JSON text SET "${text}" record "{\"every\": 100}")
string(JSON text SET "${text}" n 7)
file(WRITE ${WORK}/hd-sampler-recorded.json "${text}")
file(READ ${SPECS}/quickstart.json text)
string(JSON text SET "${text}" n 1)
file(WRITE ${WORK}/one-trajectory.json "${text}")
file(READ ${SPECS}/reverse-sde.json text)
string(JSON text SET "${text}" n 9)
string(JSON text SET "${text}" record "{\"every\": 50}")
file(WRITE ${WORK}/reverse-sde-odd.json "${text}")
list(APPEND specs ${WORK}/hd-sampler-recorded.json ${WORK}/one-trajectory.json ${WORK}/reverse-sde-odd.json)

function(strip_seconds file out_var)
  file(READ ${file} text)
  string(REGEX REPLACE "\"seconds\":[-+0-9.eE]+" "\"seconds\":0" text "${text}")
  set(${out_var} "${text}" PARENT_SCOPE)
endfunction()

foreach(spec IN LISTS specs)
  get_filename_component(name ${spec} NAME_WE)
  execute_process(COMMAND ${RUNNER} ${spec} --no-progress --threads 1 -o ${WORK}/${name}.single.json
                  RESULT_VARIABLE rc1 ERROR_VARIABLE err1)
  execute_process(COMMAND ${launch} ${MPI_RUNNER} ${spec} --threads 1 -o ${WORK}/${name}.mpi.json
                  RESULT_VARIABLE rc2 OUTPUT_VARIABLE out2 ERROR_VARIABLE err2)
  if(NOT rc1 STREQUAL rc2)
    message(FATAL_ERROR "${name}: dlogp-run exit ${rc1}, dlogp-run-mpi exit ${rc2}\n${err1}\n${out2}\n${err2}")
  endif()
  strip_seconds(${WORK}/${name}.single.json a)
  strip_seconds(${WORK}/${name}.mpi.json b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "${name}: the documents differ (${WORK}/${name}.single.json, ${WORK}/${name}.mpi.json)")
  endif()
  message(STATUS "identical: ${name}")
endforeach()

# Errors: one line from one rank, dlogp-run's exit status.
file(WRITE ${WORK}/bad.json "{\"model\": {\"type\": \"gmm\"}, \"method\": \"pf-od\"}")
foreach(case "bad" "objective")
  if(case STREQUAL "bad")
    set(spec ${WORK}/bad.json)
  else()
    set(spec ${SPECS}/objective.json)
  endif()
  execute_process(COMMAND ${launch} ${MPI_RUNNER} ${spec} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  string(REGEX MATCHALL "\\[dlogp\\.[a-z]+\\]" ids "${err}")
  list(LENGTH ids count)
  if(NOT rc EQUAL 2 OR NOT count EQUAL 1 OR NOT out STREQUAL "")
    message(FATAL_ERROR "${case}: expected exit 2 and one error line, got exit ${rc}\nstdout: ${out}\nstderr: ${err}")
  endif()
  message(STATUS "refused as expected: ${case}: ${err}")
endforeach()
