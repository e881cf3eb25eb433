# SPDX-License-Identifier: MIT
# Dependencies: the system's packages first (Debian: libeigen3-dev, libgtest-dev), and
# FetchContent as the fallback for users who lack them.
include(FetchContent)

# Defines Eigen3::Eigen.
macro(mobilenet_find_eigen)
  if(NOT TARGET Eigen3::Eigen)
    find_package(Eigen3 3.4 QUIET NO_MODULE)
    if(NOT Eigen3_FOUND)
      message(STATUS "mobilenet: Eigen 3.4 not found on the system; fetching it")
      FetchContent_Declare(mobilenet_eigen
        GIT_REPOSITORY https://gitlab.com/libeigen/eigen.git
        GIT_TAG 3.4.0
        GIT_SHALLOW TRUE)
      # Only the headers are needed: do not configure Eigen's own tests and docs.
      FetchContent_GetProperties(mobilenet_eigen)
      if(NOT mobilenet_eigen_POPULATED)
        FetchContent_Populate(mobilenet_eigen)
      endif()
      add_library(mobilenet_eigen_headers INTERFACE)
      target_include_directories(mobilenet_eigen_headers SYSTEM INTERFACE
        $<BUILD_INTERFACE:${mobilenet_eigen_SOURCE_DIR}>)
      add_library(Eigen3::Eigen ALIAS mobilenet_eigen_headers)
      # An installed package must find a system Eigen; a fetched copy cannot be exported.
      set(MOBILENET_EIGEN_FETCHED ON)
    else()
      message(STATUS "mobilenet: using Eigen ${Eigen3_VERSION} from ${Eigen3_DIR}")
    endif()
  endif()
endmacro()

# Defines GTest::gtest and GTest::gtest_main.
macro(mobilenet_find_gtest)
  if(NOT TARGET GTest::gtest_main)
    find_package(GTest QUIET)
    if(NOT GTest_FOUND)
      message(STATUS "mobilenet: GoogleTest not found on the system; fetching it")
      FetchContent_Declare(mobilenet_googletest
        GIT_REPOSITORY https://github.com/google/googletest.git
        GIT_TAG v1.14.0
        GIT_SHALLOW TRUE)
      set(INSTALL_GTEST OFF CACHE BOOL "" FORCE)
      set(gtest_force_shared_crt ON CACHE BOOL "" FORCE)
      FetchContent_MakeAvailable(mobilenet_googletest)
    endif()
  endif()
endmacro()
