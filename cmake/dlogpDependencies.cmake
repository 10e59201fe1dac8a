# find_package first; FetchContent (pinned tags) only where a package is missing.
include(FetchContent)

macro(dlogp_find_eigen)
  find_package(Eigen3 3.4 QUIET NO_MODULE)
  if(NOT TARGET Eigen3::Eigen)
    if(NOT DLOGP_FETCH_DEPENDENCIES)
      message(FATAL_ERROR "dlogp needs Eigen >= 3.4 (Debian: libeigen3-dev)")
    endif()
    message(STATUS "dlogp: Eigen3 not found, fetching 3.4.0")
    _dlogp_fetch_eigen()
  endif()
endmacro()

# A function so Eigen's switches are normal variables local to this scope: forcing
# BUILD_TESTING into the cache would switch off a consumer's own tests. CMP0077 NEW makes
# Eigen's option() calls (its cmake_minimum_required predates 3.13) honour them.
function(_dlogp_fetch_eigen)
  set(CMAKE_POLICY_DEFAULT_CMP0077 NEW)
  set(BUILD_TESTING OFF)
  set(EIGEN_BUILD_DOC OFF)
  set(EIGEN_BUILD_PKGCONFIG OFF)
  FetchContent_Declare(eigen GIT_REPOSITORY https://gitlab.com/libeigen/eigen.git GIT_TAG 3.4.0
                       GIT_SHALLOW TRUE)
  FetchContent_MakeAvailable(eigen)
endfunction()

macro(dlogp_find_json)
  find_package(nlohmann_json 3.10 QUIET)
  if(NOT TARGET nlohmann_json::nlohmann_json)
    if(NOT DLOGP_FETCH_DEPENDENCIES)
      message(FATAL_ERROR "dlogp's programs need nlohmann_json (Debian: nlohmann-json3-dev)")
    endif()
    message(STATUS "dlogp: nlohmann_json not found, fetching v3.11.2")
    FetchContent_Declare(nlohmann_json GIT_REPOSITORY https://github.com/nlohmann/json.git
                         GIT_TAG v3.11.2 GIT_SHALLOW TRUE)
    FetchContent_MakeAvailable(nlohmann_json)
  endif()
endmacro()

macro(dlogp_find_catch2)
  find_package(Catch2 2.13 QUIET)
  if(NOT TARGET Catch2::Catch2)
    if(NOT DLOGP_FETCH_DEPENDENCIES)
      message(FATAL_ERROR "dlogp's tests need Catch2 v2 (Debian: catch2)")
    endif()
    message(STATUS "dlogp: Catch2 not found, fetching v2.13.10")
    FetchContent_Declare(Catch2 GIT_REPOSITORY https://github.com/catchorg/Catch2.git
                         GIT_TAG v2.13.10 GIT_SHALLOW TRUE)
    FetchContent_MakeAvailable(Catch2)
    list(APPEND CMAKE_MODULE_PATH "${catch2_SOURCE_DIR}/contrib")
  endif()
endmacro()
