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
# The libFuzzer targets: every regress/fuzz/fuzz_NAME.c, built with
# clang against the daemon's sources with ASan and UBSan, then run for
# FUZZ_SECONDS (30 by default) each, one after the other, on a copy of
# its seed corpus regress/fuzz/corpus/NAME and of the inputs that once
# crashed it, regress/fuzz/crashes/NAME-*.
#
# usage: sh regress/fuzz/run.sh [NAME ...]
#
# Run from the top of the tree.  CC (clang by default), YACC and
# PKG_CONFIG name other tools; FUZZ_SECONDS the time of each target.
# Set FUZZ_KEEP to keep the binaries and the logs.
#
# One line per target, "ok N NAME: E executions in S s" or "not ok N
# NAME" with what went wrong; then "N passed, N failed".  An input that
# crashes a target is copied to regress/fuzz/crashes/NAME-crash-HASH
# (or -leak-, -timeout-, -oom-), where later runs replay it; the
# sanitizer's report is shown.

set -u

CC=${CC:-clang}
YACC=${YACC:-yacc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
secs=${FUZZ_SECONDS:-30}
top=$(pwd)
fuzz=$top/regress/fuzz
crashes=$fuzz/crashes
work=

broken() {
	printf 'fuzz: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

# shellcheck disable=SC2317
finish() {
	trap - EXIT
	[ -n "$work" ] || return
	if [ -n "${FUZZ_KEEP:-}" ]; then
		echo "# binaries and logs kept in $work"
	else
		rm -rf "$work"
	fi
}

trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

[ -f "$fuzz/run.sh" ] || broken "run from the top of the tree"
case $secs in
''|*[!0-9]*|0)	broken "FUZZ_SECONDS must be a number of seconds" ;;
esac
command -v "$CC" >/dev/null 2>&1 ||
    broken "$CC is needed (clang, with libFuzzer)"
command -v "$YACC" >/dev/null 2>&1 || broken "$YACC is needed"
pkgs="libbsd-overlay libtls libevent libcrypto libpcre2-8"
# shellcheck disable=SC2086
cppflags="-D_GNU_SOURCE -Isniproxyd -Iprivsep $($PKG_CONFIG --cflags $pkgs)" ||
    broken "$PKG_CONFIG cannot find $pkgs"
# shellcheck disable=SC2086
libs=$($PKG_CONFIG --libs $pkgs) || broken "$PKG_CONFIG cannot find $pkgs"
san="address,undefined"
cflags="-std=c99 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

work=$(mktemp -d "${TMPDIR:-/tmp}/sniproxyd-fuzz.XXXXXX") ||
    broken "cannot make a temporary directory"
mkdir "$work/obj" "$work/bin" || broken "cannot make $work/obj"

# Every source of the daemon but the two programs' main files, built
# once for all targets; parse.c is made afresh from parse.y.
"$YACC" -o "$work/parse.c" sniproxyd/parse.y >"$work/build.log" 2>&1 ||
    { cat "$work/build.log" >&2; broken "$YACC failed on sniproxyd/parse.y"; }
objs=
for src in privsep/*.c sniproxyd/*.c "$work/parse.c"; do
	case $src in
	sniproxyd/sniproxyd.c|sniproxyd/sniproxyctl.c|sniproxyd/parse.c)
		continue ;;
	esac
	obj=$work/obj/$(basename "$src" .c).o
	# shellcheck disable=SC2086
	if ! "$CC" $cppflags $cflags -fsanitize=fuzzer-no-link,$san \
	    -c -o "$obj" "$src" >>"$work/build.log" 2>&1; then
		cat "$work/build.log" >&2
		broken "cannot compile $src"
	fi
	objs="$objs $obj"
done

# What a target needs beyond the defaults.  Peeks go up to 16 KiB.
target_opts() {
	case $1 in
	hello|probe)	echo "-max_len=17000" ;;
	esac
}

# Sources a target shares with the unit tests.
target_srcs() {
	case $1 in
	quic)	echo "-Iregress/unit regress/unit/quic_pkt.c" ;;
	esac
}

passed=0
failed=0
n=0

for src in "$fuzz"/fuzz_*.c; do
	[ -f "$src" ] || continue
	name=$(basename "$src" .c)
	name=${name#fuzz_}
	if [ $# -gt 0 ]; then
		want=0
		for arg in "$@"; do
			[ "$arg" = "$name" ] && want=1
		done
		[ "$want" -eq 1 ] || continue
	fi
	n=$((n + 1))
	bin=$work/bin/fuzz_$name
	# Not optimised, so that a report names the check that failed.
	# shellcheck disable=SC2086
	if ! "$CC" $cppflags $cflags -O0 -fsanitize=fuzzer,$san -o "$bin" \
	    "$src" $(target_srcs "$name") $objs $libs \
	    >"$work/build-$name.log" 2>&1; then
		failed=$((failed + 1))
		echo "not ok $n $name: does not build"
		sed -e 's/^/#     /' "$work/build-$name.log" | tail -n 20
		continue
	fi

	# The run may add inputs to its corpus: a copy, not the seeds.
	run=$work/run-$name
	mkdir -p "$run/corpus" "$run/out" || broken "cannot make $run"
	if [ -d "$fuzz/corpus/$name" ]; then
		cp "$fuzz/corpus/$name"/* "$run/corpus/" 2>/dev/null
	fi
	for f in "$crashes/$name"-*; do
		[ -f "$f" ] && cp "$f" "$run/corpus/"
	done

	# yacc's error recovery drops the values of the rules it unwinds
	# without freeing them: a rejected configuration leaks a little,
	# once.  The configuration target hunts crashes and bad accesses;
	# leaks on the parser's good paths are the unit tests' to find.
	leaks=1
	[ "$name" = config ] && leaks=0
	asan="detect_leaks=$leaks${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
	ubsan="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
	# Leaks the parser is known to leave after a syntax error.
	lsan="suppressions=$top/regress/lsan.supp"
	lsan="$lsan${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
	# A target's own files, in TMPDIR, go with the rest.
	# shellcheck disable=SC2046
	(cd "$run" && TMPDIR=$run ASAN_OPTIONS=$asan UBSAN_OPTIONS=$ubsan \
	    LSAN_OPTIONS=$lsan exec "$bin" -max_total_time="$secs" \
	    -timeout=10 -close_fd_mask=2 -print_final_stats=1 \
	    -artifact_prefix="$run/out/" $(target_opts "$name") corpus) \
	    </dev/null >"$run/log" 2>&1
	rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" |
	    tail -n 1)
	if [ -z "$execs" ]; then
		execs=$(sed -n 's/^#\([0-9][0-9]*\).*/\1/p' "$run/log" |
		    tail -n 1)
	fi
	execs=${execs:-0}
	took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' \
	    "$run/log" | tail -n 1)

	saved=
	report=$run/log
	for f in "$run/out"/*; do
		[ -f "$f" ] || continue
		mkdir -p "$crashes" || broken "cannot make $crashes"
		cp "$f" "$crashes/$name-$(basename "$f")"
		saved="$saved regress/fuzz/crashes/$name-$(basename "$f")"
		[ "$report" = "$run/log" ] || continue
		# Once more on its own, slowly enough for a whole stack.
		(cd "$run" && TMPDIR=$run UBSAN_OPTIONS=$ubsan \
		    ASAN_OPTIONS="$asan:fast_unwind_on_malloc=0" \
		    LSAN_OPTIONS=$lsan exec "$bin" -close_fd_mask=2 "$f") \
		    </dev/null >"$run/replay" 2>&1
		grep -q -E '^==[0-9]+==' "$run/replay" && report=$run/replay
	done
	if [ "$rc" -eq 0 ] && [ -z "$saved" ]; then
		passed=$((passed + 1))
		echo "ok $n $name: $execs executions in ${took:-$secs} s"
		continue
	fi
	failed=$((failed + 1))
	echo "not ok $n $name: exit $rc after $execs executions"
	for f in $saved; do
		echo "#   input saved in $f"
	done
	# The sanitizer's or libFuzzer's report, without the progress lines.
	first=$(grep -n -E '^==[0-9]+==|ERROR|runtime error' "$report" |
	    head -n 1 | cut -d: -f1)
	if [ -n "$first" ]; then
		echo "#   report:"
		tail -n "+$first" "$report" |
		    grep -v -E '^(#[0-9]|stat::|MS: |base unit: )' |
		    head -n 60 | sed -e 's/^/#     /'
	else
		echo "#   log, last lines:"
		tail -n 20 "$run/log" | sed -e 's/^/#     /'
	fi
done

if [ "$n" -eq 0 ]; then
	echo "fuzz: no target matches: $*" >&2
	failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
