# SPDX-License-Identifier: MIT
# cmake -P script: install mobilenet from BUILD_DIR (find_package and pkg-config modes), then
# build and run the consumer app in WORK_DIR: with CMake (find_package, add_subdirectory,
# fetchcontent), or with the compiler and `pkg-config --cflags mobilenet` alone (pkg-config).
# find_package and add_subdirectory also build embed_consumer (mobilenet_embed_model, from the
# installed package and from the source tree). Any failing step fails the test.
function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

# One command's standard output, stripped; failure is fatal.
function(output_of var)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
  set(${var} "${out}" PARENT_SCOPE)
endfunction()

file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")
set(model "${SOURCE_DIR}/models/mobilenet_v1_0.5_160_quant.tflite")
set(args -DMODE=${MODE} -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=Release)
if(MODE STREQUAL "find_package" OR MODE STREQUAL "pkg-config")
  run(${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${prefix}")
  foreach(installed include/mobilenet/mobilenet.hpp share/pkgconfig/mobilenet.pc
                    share/cmake/mobilenet/MobilenetEmbed.cmake
                    share/mobilenet/models/mobilenet_v1_0.5_160_quant.tflite
                    share/mobilenet/models/imagenet_labels.txt
                    share/mobilenet/models/LICENSE-Apache-2.0.md)
    if(NOT EXISTS "${prefix}/${installed}")
      message(FATAL_ERROR "install did not place ${installed} under ${prefix}")
    endif()
  endforeach()
endif()

if(MODE STREQUAL "pkg-config")
  find_program(pkg_config pkg-config)
  if(NOT pkg_config)
    message(FATAL_ERROR "pkg-config is not installed (Debian: pkg-config; scripts/install-deps.sh)")
  endif()
  set(ENV{PKG_CONFIG_PATH} "${prefix}/share/pkgconfig")
  output_of(cflags "${pkg_config}" --cflags mobilenet)
  output_of(libs "${pkg_config}" --libs mobilenet)
  output_of(version "${pkg_config}" --modversion mobilenet)
  message(STATUS "pkg-config: version ${version}, cflags ${cflags}, libs ${libs}")
  separate_arguments(cflags UNIX_COMMAND "${cflags}")
  separate_arguments(libs UNIX_COMMAND "${libs}")
  file(MAKE_DIRECTORY "${WORK_DIR}/build")
  run("${CXX_COMPILER}" -std=c++17 -O2 ${cflags} "-DMOBILENET_EXPECTED_VERSION=\"${version}\""
      "${SOURCE_DIR}/tests/consumer/main.cpp" -o "${WORK_DIR}/build/consumer" ${libs})
  run("${WORK_DIR}/build/consumer")
  return()
endif()

if(MODE STREQUAL "find_package")
  list(APPEND args -DCMAKE_PREFIX_PATH=${prefix})
else()
  list(APPEND args -DMOBILENET_SOURCE_DIR=${SOURCE_DIR})
endif()
if(MODE STREQUAL "find_package" OR MODE STREQUAL "add_subdirectory")
  list(APPEND args -DMOBILENET_EMBED_FILE=${model})
endif()
run(${CMAKE_COMMAND} -S "${SOURCE_DIR}/tests/consumer" -B "${WORK_DIR}/build" ${args})
run(${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run("${WORK_DIR}/build/consumer")
# The README's top-5 app names the shipped sample photo with the shipped model.
if(EXISTS "${WORK_DIR}/build/top5")
  output_of(top5 "${WORK_DIR}/build/top5" "${model}" "${SOURCE_DIR}/examples/data/chelsea.jpg")
  if(NOT top5 MATCHES "^  286  0\\.[0-9]+  Egyptian cat")
    message(FATAL_ERROR "the top-5 app did not name the cat first:\n${top5}")
  endif()
  message(STATUS "${top5}")
elseif(NOT MODE STREQUAL "pkg-config")
  message(FATAL_ERROR "top5 was not built: mobilenet::image is missing")
endif()
if(EXISTS "${WORK_DIR}/build/embed_consumer")
  file(SIZE "${model}" model_size)
  run("${WORK_DIR}/build/embed_consumer" ${model_size})
elseif(MODE STREQUAL "find_package" OR MODE STREQUAL "add_subdirectory")
  message(FATAL_ERROR "embed_consumer was not built")
endif()

# An installed classify (when the build made one) finds the installed model and labels by
# itself and names the installed sample photo.
if(MODE STREQUAL "find_package" AND EXISTS "${prefix}/bin/classify")
  unset(ENV{MOBILENET_MODEL})
  output_of(answer "${prefix}/bin/classify" --top 1 "${prefix}/share/mobilenet/examples/chelsea.jpg")
  if(NOT answer MATCHES "286  0\\.[0-9]+  Egyptian cat")
    message(FATAL_ERROR "installed classify did not name the cat:\n${answer}")
  endif()
  message(STATUS "${answer}")
endif()
