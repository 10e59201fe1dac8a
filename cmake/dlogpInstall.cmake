# Install rules: headers, the exported dlogp::dlogp target, dlogpConfig.cmake and its version
# file. Header-only, so the package files go to the architecture-independent share/ directory.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(DLOGP_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/dlogp
    CACHE STRING "Where dlogpConfig.cmake is installed (relative to the prefix)")
mark_as_advanced(DLOGP_INSTALL_CMAKEDIR)

install(TARGETS dlogp EXPORT dlogpTargets)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/dlogp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(EXPORT dlogpTargets NAMESPACE dlogp:: DESTINATION ${DLOGP_INSTALL_CMAKEDIR})

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/dlogpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dlogpConfig.cmake
  INSTALL_DESTINATION ${DLOGP_INSTALL_CMAKEDIR})
# 0.x and 1.x are not compatible; no compiled code, so any architecture may use the package.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dlogpConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/dlogpConfig.cmake ${PROJECT_BINARY_DIR}/dlogpConfigVersion.cmake
  DESTINATION ${DLOGP_INSTALL_CMAKEDIR})

if(EXISTS ${PROJECT_SOURCE_DIR}/LICENSE)
  install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DOCDIR})
endif()
