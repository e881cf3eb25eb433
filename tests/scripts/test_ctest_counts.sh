#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Checks scripts/ctest-counts.sh, which scripts/test.sh uses to report passed, failed and
# skipped tests, on the output of a real ctest run: a tiny project with two passing tests, one
# skipped by its return code, one skipped by its output (as gtest_discover_tests marks
# GTEST_SKIP) and one failing.
#   test_ctest_counts.sh SOURCE_DIR WORK_DIR
set -uo pipefail
counts="$1/scripts/ctest-counts.sh"
work="$2/ctest_counts"
source "$(dirname "$0")/check.sh"
rm -rf "$work" && mkdir -p "$work/project"
cat > "$work/project/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.16)
project(counts NONE)
enable_testing()
add_test(NAME pass1 COMMAND ${CMAKE_COMMAND} -E echo "[       OK ] A.B")
add_test(NAME pass2 COMMAND ${CMAKE_COMMAND} -E true)
add_test(NAME skip_code COMMAND ${CMAKE_COMMAND} -E env sh -c "exit 77")
set_tests_properties(skip_code PROPERTIES SKIP_RETURN_CODE 77)
add_test(NAME skip_gtest COMMAND ${CMAKE_COMMAND} -E echo "[  SKIPPED ] Photos.Every (0 ms)")
set_tests_properties(skip_gtest PROPERTIES SKIP_REGULAR_EXPRESSION "\\[  SKIPPED \\]")
add_test(NAME fail COMMAND ${CMAKE_COMMAND} -E false)
CMAKE
cmake -S "$work/project" -B "$work/build" >/dev/null 2>&1 || { echo "FAIL: cannot configure"; exit 1; }
(cd "$work/build" && ctest > "$work/all.log" 2>&1)
(cd "$work/build" && ctest -E fail > "$work/no_fail.log" 2>&1)
(cd "$work/build" && ctest -R pass > "$work/passing.log" 2>&1)
: > "$work/empty.log"

check mixed 0 "^2 1 2$" -- bash "$counts" "$work/all.log"
check no-failures 0 "^2 0 2$" -- bash "$counts" "$work/no_fail.log"
check all-pass 0 "^2 0 0$" -- bash "$counts" "$work/passing.log"
check no-summary 0 "^0 0 0$" -- bash "$counts" "$work/empty.log"
echo "$failures failed"
[[ $failures -eq 0 ]]
