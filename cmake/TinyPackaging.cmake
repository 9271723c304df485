# Install layout beyond the targets, and the Debian packages (CPack DEB).
#
#   tinyhost      (component group "runtime"): bin/tinyhost, the plugins in
#                 <libdir>/tinyhost/plugins (the host's compiled-in default
#                 --plugin-dir), the systemd unit, /etc/tinyhost (config +
#                 an example flow, both conffiles), the docs.
#   tinyhost-dev  (component "dev"): tiny/*.h(pp) and the CMake package
#                 TinyPluginApi (installed by plugin-api/CMakeLists.txt), and
#                 the example out-of-tree plugin project.
#
# The host and plugin install() rules carry no COMPONENT, so they land in
# CMake's "Unspecified" component; it is grouped into "runtime" here.
#
# A .deb for Debian is configured with the prefix it installs to, because
# the default plugin dir is compiled in from CMAKE_INSTALL_PREFIX:
#   packaging/build-deb.sh   (-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_LIBDIR=lib)
include_guard(GLOBAL)

# The config dir the unit and the host name (absolute), and where to install
# it: relative to the prefix where GNUInstallDirs keeps it there (so that
# `cmake --install --prefix P` stays inside P), absolute /etc for /usr.
set(TINYHOST_SYSCONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/tinyhost)
if(CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL "${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SYSCONFDIR}")
  set(TINYHOST_SYSCONF_INSTALL_DIR ${CMAKE_INSTALL_SYSCONFDIR}/tinyhost)
else()
  set(TINYHOST_SYSCONF_INSTALL_DIR ${TINYHOST_SYSCONF_DIR})
endif()
set(TINYHOST_PACKAGING_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(TINYHOST_PACKAGING_OUT ${PROJECT_BINARY_DIR}/packaging)

# Copies a packaging file, rewriting the Debian paths it names (/usr/bin,
# /etc, /usr/share/doc) to this build's install paths, so the unit and the
# config always point at what this build installs.
function(tiny_configure_installed_paths in out)
  file(READ ${in} text)
  string(REPLACE "/usr/bin/tinyhost" "${CMAKE_INSTALL_FULL_BINDIR}/tinyhost" text "${text}")
  string(REPLACE "/etc/default/tinyhost" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/tinyhost" text "${text}")
  string(REPLACE "/etc/tinyhost" "${TINYHOST_SYSCONF_DIR}" text "${text}")
  string(REPLACE "/usr/share/doc/tinyhost" "${CMAKE_INSTALL_FULL_DOCDIR}" text "${text}")
  file(CONFIGURE OUTPUT ${out} CONTENT "${text}" @ONLY)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${in})
endfunction()

tiny_configure_installed_paths(${TINYHOST_PACKAGING_DIR}/systemd/tinyhost.service
                               ${TINYHOST_PACKAGING_OUT}/tinyhost.service)
tiny_configure_installed_paths(${TINYHOST_PACKAGING_DIR}/etc/tinyhost.conf
                               ${TINYHOST_PACKAGING_OUT}/tinyhost.conf)

# systemd searches <prefix>/lib/systemd/system for /usr and /usr/local.
install(FILES ${TINYHOST_PACKAGING_OUT}/tinyhost.service
  DESTINATION lib/systemd/system
  COMPONENT runtime)
# For the /usr prefix this is /etc: stage such installs with DESTDIR.
install(FILES ${TINYHOST_PACKAGING_OUT}/tinyhost.conf
  DESTINATION ${TINYHOST_SYSCONF_INSTALL_DIR}
  COMPONENT runtime)
install(FILES ${TINYHOST_PACKAGING_DIR}/etc/flows/example.yaml
  DESTINATION ${TINYHOST_SYSCONF_INSTALL_DIR}/flows
  COMPONENT runtime)
install(FILES ${PROJECT_SOURCE_DIR}/README.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT runtime)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/
  DESTINATION ${CMAKE_INSTALL_DOCDIR}
  COMPONENT runtime
  FILES_MATCHING PATTERN "*.md")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/examples/plugin-example/
  DESTINATION ${CMAKE_INSTALL_DATADIR}/tinyhost/examples/plugin-example
  COMPONENT dev
  PATTERN "build*" EXCLUDE)

# dpkg keeps an admin's edits of these across upgrades.
file(CONFIGURE OUTPUT ${TINYHOST_PACKAGING_OUT}/deb/conffiles
  CONTENT "${TINYHOST_SYSCONF_DIR}/tinyhost.conf\n${TINYHOST_SYSCONF_DIR}/flows/example.yaml\n")
foreach(script postinst prerm postrm)
  # COPYONLY keeps the scripts' mode (755) and re-copies them when edited.
  configure_file(${TINYHOST_PACKAGING_DIR}/deb/${script} ${TINYHOST_PACKAGING_OUT}/deb/${script} COPYONLY)
endforeach()

if(NOT TINYHOST_TOP_LEVEL)
  return()
endif()

# --- CPack: two Debian 12 packages ---
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tinyhost)
set(CPACK_PACKAGE_VENDOR tinyhost)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "tinyhost maintainers <tinyhost@localhost>")
# The package installs where the binary was configured to look.
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)
set(CPACK_PROJECT_CONFIG_FILE ${TINYHOST_PACKAGING_DIR}/deb/cpack-project-config.cmake)

set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ONE_PER_GROUP)
set(CPACK_COMPONENTS_ALL Unspecified runtime dev)
set(CPACK_COMPONENT_UNSPECIFIED_GROUP runtime)
set(CPACK_COMPONENT_RUNTIME_GROUP runtime)
set(CPACK_COMPONENT_DEV_GROUP dev)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)

set(CPACK_DEBIAN_RUNTIME_PACKAGE_NAME tinyhost)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_SECTION net)
# Each package's description starts with its own summary line. CPackDeb
# prepends CPACK_PACKAGE_DESCRIPTION_SUMMARY (default: the project's
# DESCRIPTION) to every package unless it equals CPack's placeholder, so it
# is set to that placeholder here.
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${CMAKE_PROJECT_NAME} built using CMake")
set(TINYHOST_DEB_PLUGINS common-module)
if(TARGET http-module)
  list(APPEND TINYHOST_DEB_PLUGINS http-module)
endif()
list(JOIN TINYHOST_DEB_PLUGINS ", " TINYHOST_DEB_PLUGIN_LIST)
set(CPACK_DEBIAN_RUNTIME_DESCRIPTION "${PROJECT_DESCRIPTION}
One tinyhost process owns a gRPC server, the scheduler and a client pool,
and loads module logic (components) from shared-object plugins through a
stable C ABI. Includes the plugins ${TINYHOST_DEB_PLUGIN_LIST}, a systemd
unit and a default configuration in ${TINYHOST_SYSCONF_DIR}.")
# The libraries tinyhost and the plugins link (readelf -d NEEDED), as the
# Debian 12 packages that ship them, with the versions dpkg-shlibdeps
# derives from their shlibs/symbols files (regenerate with
# `dpkg-shlibdeps -O build/host/tinyhost build/plugins/*.so` in a dir
# holding a stub debian/control). tests/integration/packaging_test.py checks
# the names against the built binaries both ways.
set(TINYHOST_DEB_RUNTIME_DEPENDS
  "libc6 (>= 2.34)"
  "libstdc++6 (>= 12)"
  "libgcc-s1 (>= 3.0)"
  "libgrpc++1.51 (>= 1.51.1)"
  "libgrpc29 (>= 1.51.1)"
  "libprotobuf32 (>= 3.21.12)"
  "libabsl20220623 (>= 0~20220623.0-1)"
  "libboost-program-options1.74.0 (>= 1.74.0+ds1)"
  "libspdlog1.10-fmt9"
  "libfmt9 (>= 9.1.0+ds1)"
  "libyaml-cpp0.7 (>= 0.7.0)"
  "libsimdjson14 (>= 2.0.1)"
  "libprometheus-cpp-core1.0 (>= 1.0.1)"
  "libgvc6"     # the flow drawings (graph, the admin page); ships Graphviz's dot layout and SVG plugins
  "libcgraph6"
  "adduser")
if(TARGET http-module)
  list(APPEND TINYHOST_DEB_RUNTIME_DEPENDS "libssl3 (>= 3.0.0)")  # Beast's TLS: libssl.so.3, libcrypto.so.3
endif()
list(JOIN TINYHOST_DEB_RUNTIME_DEPENDS ", " CPACK_DEBIAN_RUNTIME_PACKAGE_DEPENDS)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_EXTRA
  ${TINYHOST_PACKAGING_OUT}/deb/postinst
  ${TINYHOST_PACKAGING_OUT}/deb/prerm
  ${TINYHOST_PACKAGING_OUT}/deb/postrm
  ${TINYHOST_PACKAGING_OUT}/deb/conffiles)
set(CPACK_DEBIAN_RUNTIME_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_DEV_PACKAGE_NAME tinyhost-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_DEV_PACKAGE_ARCHITECTURE all)
set(CPACK_DEBIAN_DEV_DESCRIPTION "tinyhost plugin SDK: headers and CMake package
tiny/plugin.h (the C ABI), tiny/plugin.hpp (the header-only C++ SDK) and
tiny/testing.hpp (unit-test a component without a host), with the CMake
package TinyPluginApi: find_package(TinyPluginApi) + tiny_add_plugin(),
and an example plugin project in ${CMAKE_INSTALL_FULL_DATADIR}/tinyhost/examples.")
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS "nlohmann-json3-dev (>= 3.10)")
set(CPACK_DEBIAN_DEV_PACKAGE_RECOMMENDS "tinyhost (= ${PROJECT_VERSION}), cmake (>= 3.25), g++ (>= 4:12), doctest-dev")

include(CPack)
