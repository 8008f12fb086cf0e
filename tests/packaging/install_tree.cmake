# Installs a configured microfit build into an empty prefix and checks the installed files.
#
#   cmake -DBUILD_DIR=<build> -DSOURCE_DIR=<source> -DPREFIX=<prefix> -DINCLUDEDIR=<dir>
#         -DCMAKEDIR=<dir> [-DCONFIG=<config>] -P install_tree.cmake
#
# INCLUDEDIR and CMAKEDIR are where the headers and the package configuration go, relative to the
# prefix.
foreach(variable BUILD_DIR SOURCE_DIR PREFIX INCLUDEDIR CMAKEDIR)
  if(NOT ${variable})
    message(FATAL_ERROR "install_tree.cmake: ${variable} is missing; pass it with -D${variable}=...")
  endif()
endforeach()

# A fresh prefix, so that files left by an earlier run cannot hide a missing install rule.
file(REMOVE_RECURSE ${PREFIX})

set(install_command ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${PREFIX})
if(CONFIG)
  list(APPEND install_command --config ${CONFIG})
endif()
execute_process(COMMAND ${install_command} RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "cmake --install ${BUILD_DIR} failed with ${result}")
endif()

set(missing "")
foreach(file microfitConfig.cmake microfitConfigVersion.cmake microfitTargets.cmake)
  if(NOT EXISTS ${PREFIX}/${CMAKEDIR}/${file})
    list(APPEND missing ${CMAKEDIR}/${file})
  endif()
endforeach()

# Every public and detail header of the source tree is installed; the host helpers are not.
file(GLOB_RECURSE headers RELATIVE ${SOURCE_DIR}/include ${SOURCE_DIR}/include/microfit/*.hpp)
list(FILTER headers EXCLUDE REGEX "^microfit/host/")
foreach(header ${headers})
  if(NOT EXISTS ${PREFIX}/${INCLUDEDIR}/${header})
    list(APPEND missing ${INCLUDEDIR}/${header})
  endif()
endforeach()
if(missing)
  list(JOIN missing "\n  " missing_lines)
  message(FATAL_ERROR "missing from the installed tree ${PREFIX}:\n  ${missing_lines}")
endif()

if(EXISTS ${PREFIX}/${INCLUDEDIR}/microfit/host)
  message(FATAL_ERROR "${PREFIX}/${INCLUDEDIR}/microfit/host is installed, but microfit_host is not, so its "
    "headers must not be either")
endif()

list(LENGTH headers header_count)
message(STATUS "installed tree ${PREFIX} has the package configuration and all ${header_count} headers")
