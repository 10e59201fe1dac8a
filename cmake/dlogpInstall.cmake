include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS dlogp EXPORT dlogpTargets)
install(DIRECTORY include/dlogp DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT dlogpTargets NAMESPACE dlogp:: DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/dlogp)

configure_package_config_file(cmake/dlogpConfig.cmake.in
  ${PROJECT_BINARY_DIR}/dlogpConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/dlogp)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/dlogpConfigVersion.cmake
  COMPATIBILITY SameMajorVersion ARCH_INDEPENDENT)
install(FILES ${PROJECT_BINARY_DIR}/dlogpConfig.cmake ${PROJECT_BINARY_DIR}/dlogpConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_DATADIR}/cmake/dlogp)
