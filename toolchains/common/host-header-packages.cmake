# Lets find_package(xsimd CONFIG) and find_package(doctest CONFIG) use the build machine's copies
# when cross-compiling.
#
# Both packages are header-only, so one copy serves every target. The cross toolchains search
# packages only under the target's root (CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY), which keeps
# compiled host packages such as Google Benchmark from being linked into target binaries. These two
# are therefore found through xsimd_DIR and doctest_DIR, which find_package uses as they are,
# without prefixing the find root. Pass -Dxsimd_DIR=... or -Ddoctest_DIR=... to use other copies.
#
# The include directory of both packages on Debian is /usr/include. The Debian cross compilers
# search it last (after the target's own headers), so CMake drops it from the compile line as an
# implicit directory and target headers keep precedence.

foreach(package xsimd doctest)
  if(NOT DEFINED ${package}_DIR)
    file(GLOB config_files
      /usr/lib/*/cmake/${package}/${package}Config.cmake
      /usr/lib/cmake/${package}/${package}Config.cmake
      /usr/share/cmake/${package}/${package}Config.cmake
      /usr/local/lib/cmake/${package}/${package}Config.cmake
      /usr/local/share/cmake/${package}/${package}Config.cmake)
    if(config_files)
      list(GET config_files 0 config_file)
      get_filename_component(config_dir "${config_file}" DIRECTORY)
      set(${package}_DIR "${config_dir}" CACHE PATH "Directory containing ${package}Config.cmake")
    endif()
  endif()
endforeach()
unset(config_files)
unset(config_file)
unset(config_dir)
