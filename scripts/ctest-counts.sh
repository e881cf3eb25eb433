#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Reads a ctest log and prints "PASSED FAILED SKIPPED" (used by scripts/test.sh).
#   scripts/ctest-counts.sh LOG
# ctest's summary is "N% tests passed, F tests failed out of T", and it counts a skipped test
# (a GTEST_SKIP, which gtest_discover_tests marks by SKIP_REGULAR_EXPRESSION, or a script
# test's SKIP_RETURN_CODE) among the passed; each one is listed as "<n> - NAME (Skipped)".
# PASSED excludes them. A log without a summary counts as 0 0 0.
set -euo pipefail
log="$1"
ran=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log" | tail -n 1)
failed=$(sed -n 's/.* \([0-9]*\) tests failed out of.*/\1/p' "$log" | tail -n 1)
skipped=$(grep -c '(Skipped)$' "$log" || true)
ran=${ran:-0} failed=${failed:-0}
echo "$((ran - failed - skipped)) $failed $skipped"
