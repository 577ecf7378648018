#!/bin/sh
#
# Copyright (c) 2026 The sniproxyd developers
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
#
# make check: the unit tests, then the integration tests, then one line
# that counts both.

set -u

# Under make check SANITIZE=1: see the file for what it lets pass.
LSAN_OPTIONS="suppressions=$(pwd)/regress/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS

out=$(mktemp) || exit 1
trap 'rm -f "$out"' EXIT

./regress/unit/unit 2>&1 | tee "$out"
# Check ends with "NN%: Checks: N, Failures: N, Errors: N".
summary=$(grep -E '^[0-9]+%: Checks: ' "$out" | tail -n 1)
if [ -z "$summary" ]; then
	echo "check: the unit tests printed no summary" >&2
	unit_pass=0
	unit_fail=1
else
	total=$(echo "$summary" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
	failures=$(echo "$summary" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
	errors=$(echo "$summary" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
	unit_fail=$((failures + errors))
	unit_pass=$((total - unit_fail))
fi

# The daemon's processes live in chroots without /proc, where
# LeakSanitizer cannot work; leaks are the unit tests' to find.
ASAN_OPTIONS="detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    sh regress/run.sh 2>&1 | tee "$out"
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
if [ -z "$summary" ]; then
	echo "check: the integration tests printed no summary" >&2
	reg_pass=0
	reg_fail=1
	reg_skip=0
else
	reg_pass=$(echo "$summary" | sed -E 's/^([0-9]+) passed.*/\1/')
	reg_fail=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed.*/\1/')
	reg_skip=$(echo "$summary" | sed -nE 's/.* ([0-9]+) skipped.*/\1/p')
	reg_skip=${reg_skip:-0}
fi

passed=$((unit_pass + reg_pass))
failed=$((unit_fail + reg_fail))
echo
echo "unit: $unit_pass passed, $unit_fail failed"
echo "integration: $reg_pass passed, $reg_fail failed, $reg_skip skipped"
echo "$passed passed, $failed failed, $reg_skip skipped"
[ "$failed" -eq 0 ]
