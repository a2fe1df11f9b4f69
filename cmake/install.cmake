# The CMake package: the exported targets (namespace xxl_executor::), a config
# file that finds our dependencies, and a version file. Headers and libraries
# are installed by each layer's CMakeLists.txt.
include(CMakePackageConfigHelpers)

set(XXL_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/xxl_executor)

install(EXPORT ${XXL_EXPORT}
  NAMESPACE xxl_executor::
  DESTINATION ${XXL_CMAKE_DIR})

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/xxl_executorConfig.cmake.in
  ${PROJECT_BINARY_DIR}/xxl_executorConfig.cmake
  INSTALL_DESTINATION ${XXL_CMAKE_DIR})
# 0.x: minor versions may break the API.
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/xxl_executorConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES
  ${PROJECT_BINARY_DIR}/xxl_executorConfig.cmake
  ${PROJECT_BINARY_DIR}/xxl_executorConfigVersion.cmake
  DESTINATION ${XXL_CMAKE_DIR})
