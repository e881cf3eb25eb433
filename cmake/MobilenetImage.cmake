# SPDX-License-Identifier: MIT
# Optional image decoding: mobilenet/io/image.hpp uses stb_image (Debian: libstb-dev), which is
# found on the system, never copied into this repository. When it is found, the INTERFACE
# target mobilenet::image adds its directory (as a system directory, so its code is not held
# to our warning flags) to mobilenet::mobilenet. Without it, image loading, the classify
# example and their tests are left out; everything else builds.
find_path(MOBILENET_STB_INCLUDE_DIR stb_image.h PATH_SUFFIXES stb
          DOC "Directory holding stb_image.h (Debian: libstb-dev)")
if(MOBILENET_STB_INCLUDE_DIR)
  message(STATUS "mobilenet: stb_image found in ${MOBILENET_STB_INCLUDE_DIR}: image loading on")
  add_library(mobilenet_image INTERFACE)
  add_library(mobilenet::image ALIAS mobilenet_image)
  set_target_properties(mobilenet_image PROPERTIES EXPORT_NAME image)
  target_include_directories(mobilenet_image SYSTEM INTERFACE "${MOBILENET_STB_INCLUDE_DIR}")
  target_link_libraries(mobilenet_image INTERFACE mobilenet)
else()
  message(STATUS "mobilenet: stb_image.h not found (Debian: libstb-dev): image loading, "
                 "examples/classify and their tests are left out")
endif()
