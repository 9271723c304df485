# Read by cpack (CPACK_PROJECT_CONFIG_FILE) when it builds the packages.
# A .deb belongs in /usr; the host's default --plugin-dir is compiled in
# from the configure-time prefix, so the prefix cannot be changed here.
if(CPACK_GENERATOR STREQUAL "DEB" AND NOT CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr")
  message(WARNING "tinyhost: building .debs for prefix ${CPACK_PACKAGING_INSTALL_PREFIX}; "
                  "Debian packages belong in /usr: configure with packaging/build-deb.sh "
                  "(-DCMAKE_INSTALL_PREFIX=/usr -DCMAKE_INSTALL_LIBDIR=lib)")
endif()
