# cmake -P script: configure, build and run tests/packaging/consumer in a fresh build dir.
#   -DCONSUMER_SOURCE=<consumer dir> -DCONSUMER_BINARY=<scratch dir> -DGENERATOR=<gen> -DCXX=<compiler>
#   -DMODE=find_package|add_subdirectory|fetchcontent  [-DCONFIG=<build type>]
#   [-DPREFIX=<staged prefix>] [-DDLOGP_SOURCE=<dlogp source>] [-DFIND_VERSION=<x.y>]
#   [-DEXPECTED_VERSION=<x.y.z>] [-DEIGEN3_DIR=<dir>] [-DFETCH_DEPENDENCIES=ON|OFF]
#   [-DCONFIGURE_ONLY=ON]            stop after a successful configure
#   [-DEXPECT_REJECTED=ON]           the configure must FAIL because find_package found dlogp
#                                    EXPECTED_VERSION but rejected it for FIND_VERSION
cmake_minimum_required(VERSION 3.21)
foreach(v IN ITEMS CONSUMER_SOURCE CONSUMER_BINARY GENERATOR CXX MODE)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${v}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()
file(REMOVE_RECURSE ${CONSUMER_BINARY})

set(configure_args -S ${CONSUMER_SOURCE} -B ${CONSUMER_BINARY} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_BUILD_TYPE=${CONFIG} -DDLOGP_CONSUMER_MODE=${MODE})
foreach(pair IN ITEMS PREFIX:CMAKE_PREFIX_PATH DLOGP_SOURCE:DLOGP_SOURCE
                      FIND_VERSION:DLOGP_CONSUMER_FIND_VERSION
                      EXPECTED_VERSION:DLOGP_EXPECTED_VERSION EIGEN3_DIR:Eigen3_DIR
                      FETCH_DEPENDENCIES:DLOGP_FETCH_DEPENDENCIES)
  string(REPLACE ":" ";" pair "${pair}")
  list(GET pair 0 in)
  list(GET pair 1 out)
  if(DEFINED ${in} AND NOT "${${in}}" STREQUAL "")
    list(APPEND configure_args -D${out}=${${in}})
  endif()
endforeach()

execute_process(COMMAND ${CMAKE_COMMAND} ${configure_args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("---- configure: ${CMAKE_COMMAND} ${configure_args}\n${out}")
if(EXPECT_REJECTED)
  if(rc EQUAL 0)
    message(FATAL_ERROR "run_consumer: find_package(dlogp ${FIND_VERSION}) was accepted; expected a rejection")
  endif()
  # Found but refused on version (not merely missing): CMake names the request and lists the
  # config file it considered with its version. Its message is line-wrapped, hence [ \t\n]+.
  string(REPLACE "." "\\." want "${FIND_VERSION}")
  string(REPLACE "." "\\." have "${EXPECTED_VERSION}")
  set(re "requested[ \t\n]+version[ \t\n]+\"${want}\".*dlogpConfig\\.cmake, version: ${have}")
  if(NOT out MATCHES "${re}")
    message(FATAL_ERROR "run_consumer: configure failed, but not with /${re}/")
  endif()
  message(STATUS "run_consumer: find_package(dlogp ${FIND_VERSION}) rejected dlogp ${EXPECTED_VERSION} as expected")
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "run_consumer: configure failed (${rc})")
endif()
if(CONFIGURE_ONLY)
  return()
endif()

execute_process(COMMAND ${CMAKE_COMMAND} --build ${CONSUMER_BINARY} --config ${CONFIG}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("---- build\n${out}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "run_consumer: build failed (${rc})")
endif()

foreach(program IN ITEMS consumer consumer_instances)
  unset(exe)
  find_program(exe ${program} PATHS ${CONSUMER_BINARY} ${CONSUMER_BINARY}/${CONFIG}
               NO_DEFAULT_PATH NO_CACHE)
  if(NOT exe)
    message(FATAL_ERROR "run_consumer: the executable ${program} was not built")
  endif()
  execute_process(COMMAND ${exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  message("---- run: ${exe}\n${out}")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "run_consumer: ${program} failed (${rc})")
  endif()
endforeach()
