# What `cmake --install` puts where (GNUInstallDirs), and the .deb that `cpack -G DEB` builds
# from the same rules. Included last by the top-level CMakeLists.txt, once every target exists.
#
#   sbin/bcastd                            the daemon
#   bin/bcastctl, bin/bcast-sim            the command line client, the simulator
#   include/bcast/*.hpp                    the public headers (lib/include/bcast)
#   lib/libbcast.so.0, lib/libbcast.a      the client library, shared and static
#   lib/cmake/bcast/                       find_package(bcast): bcast::client, bcast::client_static
#   lib/pkgconfig/bcast.pc                 pkg-config bcast
#   lib/systemd/system/bcastd.service      the systemd unit (packaging/bcastd.service.in)
#   etc/bcastd/bcastd.conf                 the commented default config (/etc for prefix /usr)
#   the C ABI (bindings/c) when its target bcast_c exists: see the hook below
#   share/doc/bcastd/operations.md         deploying, metrics, alerts
#
# Paths inside the unit (ExecStart, --config) are fixed when configuring: configure with the
# prefix the files will live under (-DCMAKE_INSTALL_PREFIX=/usr for packages). The CMake
# package and bcast.pc are relocatable (`cmake --install --prefix DIR` works for them).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(BCAST_CONFIG_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/bcastd/bcastd.conf")
# Under prefix /usr the config belongs in /etc (GNUInstallDirs' rule); anywhere else it stays
# under the prefix, so that `cmake --install --prefix DIR` writes nothing outside DIR.
if(CMAKE_INSTALL_FULL_SYSCONFDIR STREQUAL "/etc")
  set(BCAST_CONFIG_DESTINATION /etc/bcastd)
else()
  set(BCAST_CONFIG_DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/bcastd)
endif()
set(BCAST_SYSTEMD_UNIT_DIR lib/systemd/system)  # /usr/lib/systemd/system under prefix /usr
set(BCAST_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/bcastd)
set(BCAST_FULL_DOC_DIR ${CMAKE_INSTALL_PREFIX}/${BCAST_DOC_DIR})

install(TARGETS bcastd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS bcastctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
if(TARGET bcast-sim)
  install(TARGETS bcast-sim RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/lib/include/bcast
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.hpp" PATTERN "*.h")

# The client library and its CMake package.
install(TARGETS bcast_client_shared bcast_client_static EXPORT bcastTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(BCAST_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/bcast)
install(EXPORT bcastTargets NAMESPACE bcast:: DESTINATION ${BCAST_CMAKE_DIR})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/bcastConfig.cmake.in
  ${PROJECT_BINARY_DIR}/bcastConfig.cmake INSTALL_DESTINATION ${BCAST_CMAKE_DIR})
# 0.x: a minor version may break the API.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/bcastConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/bcastConfig.cmake ${PROJECT_BINARY_DIR}/bcastConfigVersion.cmake
        DESTINATION ${BCAST_CMAKE_DIR})

# pkg-config, relocatable: the prefix is found from the .pc file's own directory.
file(RELATIVE_PATH BCAST_PC_PREFIX_FROM_PCDIR
  "/prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/prefix")
string(REGEX REPLACE "/$" "" BCAST_PC_PREFIX_FROM_PCDIR "${BCAST_PC_PREFIX_FROM_PCDIR}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/bcast.pc.in ${PROJECT_BINARY_DIR}/bcast.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/bcast.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The C ABI (bindings/c, target bcast_c) installs itself with its pkg-config file bcast_c.pc
# (bindings/c/CMakeLists.txt).

# systemd, the default configuration, the operations guide.
configure_file(${PROJECT_SOURCE_DIR}/packaging/bcastd.service.in
  ${PROJECT_BINARY_DIR}/packaging/bcastd.service @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/packaging/bcastd.service DESTINATION ${BCAST_SYSTEMD_UNIT_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/packaging/bcastd.conf DESTINATION ${BCAST_CONFIG_DESTINATION})
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md DESTINATION ${BCAST_DOC_DIR})

# The .deb (cpack -G DEB in the build directory; docs/operations.md). Dependencies on shared
# libraries are computed by dpkg-shlibdeps; the scripts create the user bcastd and enable and
# start the unit like dh_installsystemd.
set(CPACK_PACKAGE_NAME bcastd)
set(CPACK_PACKAGE_VENDOR "bcastd")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "ordered-broadcast group communication daemon")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "bcastd runs beside the applications on every host. Applications join named groups and "
  "publish messages with a chosen dissemination (best-effort, reliable, gossip) and delivery "
  "order (none, FIFO, causal, total through Raft). Includes bcastctl, the client library "
  "(C++, shared and static, CMake package and pkg-config) and a systemd unit.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "bcastd developers <bcastd@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, init-system-helpers (>= 1.52)")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
file(WRITE ${PROJECT_BINARY_DIR}/packaging/conffiles "${BCAST_CONFIG_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/postinst
  ${PROJECT_SOURCE_DIR}/packaging/prerm
  ${PROJECT_SOURCE_DIR}/packaging/postrm
  ${PROJECT_BINARY_DIR}/packaging/conffiles)
include(CPack)
