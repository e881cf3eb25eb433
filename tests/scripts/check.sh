# SPDX-License-Identifier: MIT
# Sourced by the script tests: check NAME EXPECTED_STATUS PATTERN -- COMMAND... runs the
# command, and counts a failure (printing its output) unless it exits with EXPECTED_STATUS and
# its output (stdout and stderr) matches the extended regex PATTERN.
failures=0
check() {
  local name="$1" want_status="$2" pattern="$3"
  shift 4
  local output status
  output="$("$@" 2>&1)"
  status=$?
  if [[ $status -ne $want_status ]] || ! grep -qE -- "$pattern" <<<"$output"; then
    echo "FAIL $name: status $status (want $want_status), output:"
    echo "$output"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}
