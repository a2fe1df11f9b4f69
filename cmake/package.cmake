# The Debian packages, made by CPack from this build tree:
#   cmake --build build --target package      (or ./dev.sh package)
# writes build/packages/xxl-executor_<version>_<arch>.deb and
# xxl-executor-dev_<version>_<arch>.deb. What goes where is decided by
# install() components:
#   runtime  the three binaries, the systemd unit, the default flag file
#            (/etc/xxl-executor, a conffile), the copyright and the operator
#            notes, the Grafana dashboard and the Prometheus alert rules
#            (/usr/share/xxl-executor, from deploy/);
#   dev      everything else `cmake --install` installs: the embedding
#            headers, the static libraries, the CMake package (the default
#            component, set in the top CMakeLists.txt).
# Files only the package has (unit, flag file, docs, deploy/, lintian
# overrides) are EXCLUDE_FROM_ALL: `cmake --install build --prefix DIR`
# installs what it always did and writes nothing outside DIR. The maintainer scripts and
# lintian overrides are in packaging/debian/, and .ci/package checks it all.

# The executables, in one place: the three an operator runs are the
# package; the benchmark is installed by `cmake --install` but not packaged.
install(TARGETS xxl-executor xxl-ctl xxl-admin-sim RUNTIME COMPONENT runtime)
install(TARGETS xxl-bench RUNTIME COMPONENT bench)

set(XXL_PKG ${PROJECT_SOURCE_DIR}/packaging)
# Debian 12 keeps packaged units in /lib/systemd/system (lintian insists).
install(FILES ${XXL_PKG}/xxl-executor.service
  DESTINATION /lib/systemd/system COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES ${XXL_PKG}/xxl-executor.flags
  DESTINATION /etc/xxl-executor COMPONENT runtime EXCLUDE_FROM_ALL)
# packaging/changelog gets an entry for every packaged version (.ci/package
# checks its latest is the project's); it is installed compressed.
set(XXL_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/packaging)
execute_process(COMMAND gzip -9nc ${XXL_PKG}/changelog
  OUTPUT_FILE ${XXL_CHANGELOG_GZ} COMMAND_ERROR_IS_FATAL ANY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${XXL_PKG}/changelog)
install(FILES ${XXL_PKG}/copyright ${XXL_CHANGELOG_GZ} ${PROJECT_SOURCE_DIR}/docs/operations.md
  DESTINATION share/doc/xxl-executor COMPONENT runtime EXCLUDE_FROM_ALL)
# What an operator imports into Grafana and Prometheus (docs/operations.md,
# "Dashboard" and "Alerts").
install(FILES ${PROJECT_SOURCE_DIR}/deploy/grafana/xxl-executor.json
  DESTINATION share/xxl-executor/grafana COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/prometheus/alerts.yml
  DESTINATION share/xxl-executor/prometheus COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES ${XXL_PKG}/debian/xxl-executor.lintian-overrides
  DESTINATION share/lintian/overrides RENAME xxl-executor
  COMPONENT runtime EXCLUDE_FROM_ALL)
install(FILES ${XXL_PKG}/copyright ${XXL_CHANGELOG_GZ}
  DESTINATION share/doc/xxl-executor-dev COMPONENT dev EXCLUDE_FROM_ALL)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/examples/embed
  DESTINATION share/doc/xxl-executor-dev/examples COMPONENT dev EXCLUDE_FROM_ALL)

set(XXL_PACKAGE_MAINTAINER "xxl-executor maintainers <maintainers@xxl-executor.invalid>"
  CACHE STRING "Maintainer field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL runtime dev)
set(CPACK_PACKAGE_NAME xxl-executor)
set(CPACK_PACKAGE_CONTACT ${XXL_PACKAGE_MAINTAINER})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/packages)
# <name>_<version>_<arch>.deb. The version is CPACK_PACKAGE_VERSION (the
# project's), so `cpack -D CPACK_PACKAGE_VERSION=...` rebuilds with another.
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${XXL_PKG}/strip.cmake)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# conffiles 0644 and maintainer scripts 0755 whatever the checkout's modes.
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME xxl-executor)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# Library dependencies come from dpkg-shlibdeps; adduser is for postinst.
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  ${XXL_PKG}/debian/postinst ${XXL_PKG}/debian/prerm
  ${XXL_PKG}/debian/postrm ${XXL_PKG}/debian/conffiles)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "XXL-JOB executor served over gRPC
xxl-executor runs the jobs an XXL-JOB admin (scheduling centre) triggers
and reports their results, over gRPC.
This package has the executor as a hardened systemd service (not started
until enabled), xxl-ctl to trigger and inspect runs by hand, and
xxl-admin-sim, an admin simulator to try it without a scheduler.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME xxl-executor-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# What xxl_executorConfig.cmake finds (find_dependency), with their headers.
# Debian's gRPC CMake package checks that the protoc plugins it exports
# exist, so find_package(gRPC) needs protobuf-compiler-grpc too.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
  "libgrpc++-dev, protobuf-compiler-grpc, libprotobuf-dev, libabsl-dev, libgoogle-glog-dev, libboost1.74-dev, libcurl4-openssl-dev, prometheus-cpp-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION "XXL-JOB executor served over gRPC (embedding)
The headers, static libraries and CMake package to build an application
that embeds the executor with its own job handlers:
find_package(xxl_executor) and link xxl_executor::xxl_executor. An example
is in /usr/share/doc/xxl-executor-dev/examples/embed.")

include(CPack)
