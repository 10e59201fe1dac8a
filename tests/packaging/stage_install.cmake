# cmake -P script: configure the dlogp source as a packager would (tests, examples and
# benchmarks OFF), build, `cmake --install` into a fresh staging prefix and check the files.
#   -DDLOGP_SOURCE=<dlogp source> -DSTAGE_DIR=<scratch dir> -DGENERATOR=<gen> -DCXX=<compiler>
#   [-DCONFIG=<build type>] [-DEIGEN3_DIR=<dir with Eigen3Config.cmake>]
cmake_minimum_required(VERSION 3.21)
foreach(v IN ITEMS DLOGP_SOURCE STAGE_DIR GENERATOR CXX)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "stage_install.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()
set(build ${STAGE_DIR}/build)
set(prefix ${STAGE_DIR}/prefix)
file(REMOVE_RECURSE ${build} ${prefix})

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("---- ${what}: ${ARGN}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "stage_install: ${what} failed (${rc})")
  endif()
endfunction()

set(configure_args -S ${DLOGP_SOURCE} -B ${build} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CXX}
    -DCMAKE_BUILD_TYPE=${CONFIG} -DDLOGP_BUILD_TESTS=OFF -DDLOGP_BUILD_EXAMPLES=OFF
    -DDLOGP_BUILD_BENCHMARKS=OFF -DDLOGP_INSTALL=ON)
if(EIGEN3_DIR)
  list(APPEND configure_args -DEigen3_DIR=${EIGEN3_DIR})
endif()
run_step(configure ${CMAKE_COMMAND} ${configure_args})
run_step(build ${CMAKE_COMMAND} --build ${build} --config ${CONFIG})
run_step(install ${CMAKE_COMMAND} --install ${build} --prefix ${prefix} --config ${CONFIG})

# The layout consumers rely on (header-only, so the package files live under share/).
set(cmake_dir ${prefix}/share/cmake/dlogp)
foreach(f IN ITEMS include/dlogp/version.hpp include/dlogp/error.hpp include/dlogp/core/random.hpp
                   include/dlogp/process/vp.hpp share/cmake/dlogp/dlogpConfig.cmake
                   share/cmake/dlogp/dlogpConfigVersion.cmake share/cmake/dlogp/dlogpTargets.cmake
                   share/doc/dlogp/LICENSE)
  if(NOT EXISTS ${prefix}/${f})
    message(FATAL_ERROR "stage_install: ${f} was not installed")
  endif()
endforeach()
# A relocatable package: the exported targets must not point back into the source or build tree.
file(READ ${cmake_dir}/dlogpTargets.cmake targets)
foreach(tree IN ITEMS ${DLOGP_SOURCE} ${build})
  string(FIND "${targets}" "${tree}" pos)
  if(NOT pos EQUAL -1)
    message(FATAL_ERROR "stage_install: dlogpTargets.cmake refers to ${tree}")
  endif()
endforeach()
string(FIND "${targets}" [[INTERFACE_INCLUDE_DIRECTORIES "${_IMPORT_PREFIX}/include"]] pos)
if(pos EQUAL -1)
  message(FATAL_ERROR "stage_install: dlogp::dlogp does not export <prefix>/include as its include directory")
endif()
message(STATUS "stage_install: dlogp staged in ${prefix}")
