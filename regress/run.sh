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
# The integration tests: every regress/cases/*.sh, in order, each in a
# shell and a directory of its own, with lib.sh sourced first and a time
# limit ("# timeout N" in the case, 120 seconds otherwise).
#
# usage: sh regress/run.sh [pattern ...]
#
# Run from the top of the tree.  Patterns (shell globs) select cases by
# name, with or without the number in front.  SNIPROXYD and TLSPEER name
# other binaries than sniproxyd/sniproxyd and regress/tlspeer; set
# REGRESS_KEEP to keep the directories with every log.  With VALGRIND
# set (make check-valgrind), the daemon runs under that command and a
# valgrind report from any of its processes fails the case.
#
# One line per case, "ok N name", "not ok N name" with the reason and
# the end of the daemon's log, or "skip N name"; then, last of all,
# "N passed, N failed" (and ", N skipped" when a case was skipped).

set -u

# sniproxyd refuses a configuration that group or others may write and
# a key file they may read: whatever umask this starts with, the files
# written here are made so.
umask 022

# The first line of a valgrind report of an error or a leak.
vg_report='== (Invalid|Conditional|Syscall|Use of|Mismatched|[0-9,]+ bytes in)'

top=$(pwd)
lib=$top/regress/lib.sh
cases=$top/regress/cases

abspath() {
	case $1 in
	/*)	echo "$1" ;;
	*)	echo "$top/$1" ;;
	esac
}

SNIPROXYD=$(abspath "${SNIPROXYD:-sniproxyd/sniproxyd}")
TLSPEER=$(abspath "${TLSPEER:-regress/tlspeer}")
TOP=$top
export SNIPROXYD TLSPEER TOP

passed=0
failed=0
skipped=0
n=0
run=
tpid=

broken() {
	printf 'run.sh: %s\n' "$*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

[ -f "$lib" ] || broken "run from the top of the tree: no $lib"
[ -x "$SNIPROXYD" ] ||
    broken "$SNIPROXYD: no such executable (run make first)"
for cmd in openssl curl timeout od; do
	command -v "$cmd" >/dev/null 2>&1 || broken "$cmd is needed"
done
[ -r /proc/net/tcp ] || broken "/proc is needed to watch sockets"

# Every process a case leaves behind is in the process group of the
# timeout(1) that ran it.
group_members() {
	cat /proc/[0-9]*/stat 2>/dev/null |
	    awk -v g="$1" '{ pid = $1; sub(/^.*\) /, "");
		if ($3 == g && $1 != "Z") print pid }'
}

stop_case() {
	[ -n "$tpid" ] || return
	kill -TERM -- "-$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	tpid=
}

# shellcheck disable=SC2317
finish() {
	trap - EXIT
	stop_case
	if [ -n "$run" ] && [ -d "$run" ] && [ -z "${REGRESS_KEEP:-}" ]; then
		rm -rf "$run"
	fi
}

trap finish EXIT
trap 'stop_case; exit 130' INT
trap 'stop_case; exit 143' TERM HUP

wanted() {
	[ $# -gt 2 ] || return 0
	_name=$1
	_base=$2
	shift 2
	for _pat in "$@"; do
		# shellcheck disable=SC2254
		case $_name in
		$_pat)	return 0 ;;
		esac
		# shellcheck disable=SC2254
		case $_base in
		$_pat)	return 0 ;;
		esac
	done
	return 1
}

# Indented, so that a reader tells the diagnosis from the verdicts.
show() {
	sed -e 's/^/#     /'
}

run=$(mktemp -d "${TMPDIR:-/tmp}/sniproxyd-regress.XXXXXX") ||
    broken "cannot make a temporary directory"
# A case may run sniproxyd as an unprivileged user, who must be able to
# reach its configuration.
chmod 755 "$run"

T=$run
# shellcheck source=regress/lib.sh
. "$lib"
PKI=$run/pki
export PKI
if ! pki_make "$PKI"; then
	show <"$PKI/log"
	broken "openssl could not make the certificates"
fi

for f in "$cases"/*.sh; do
	[ -f "$f" ] || continue
	base=$(basename "$f" .sh)
	name=${base#[0-9][0-9]-}
	wanted "$name" "$base" "$@" || continue
	n=$((n + 1))
	dir=$run/$base
	if ! mkdir "$dir" || ! chmod 755 "$dir"; then
		broken "cannot make $dir"
	fi
	limit=$(sed -n 's/^# timeout \([0-9][0-9]*\)$/\1/p' "$f" | head -n 1)
	limit=${limit:-120}
	t0=$(date +%s)

	# The case's shell expands its own arguments: its name, directory,
	# the certificates, lib.sh and the case file itself.
	# shellcheck disable=SC2016
	(cd "$dir" && exec timeout -k 10 "$limit" sh -c '
		T=$1
		PKI=$2
		. "$3"
		lib_init
		. "$4"
		exit 0' "$name" "$dir" "$PKI" "$lib" "$f") \
	    </dev/null >"$dir/output" 2>&1 &
	tpid=$!
	wait "$tpid"
	rc=$?
	tpid_done=$tpid
	tpid=
	# The time of each case, so that a slow one is seen before the
	# whole run grows too long.
	took="($(($(date +%s) - t0)) s)"

	left=$(group_members "$tpid_done")
	if [ -n "$left" ]; then
		for pid in $left; do
			echo "left running: $pid $(tr '\0' ' ' \
			    <"/proc/$pid/cmdline" 2>/dev/null)" >>"$dir/reason"
		done
		# shellcheck disable=SC2086
		kill -KILL $left 2>/dev/null
		[ "$rc" -eq 0 ] && rc=1
	fi

	# Under make check SANITIZE=1 a report in a log fails the case,
	# whether or not the process it killed was missed by the case.
	if grep -rlsE 'ERROR: AddressSanitizer|runtime error:' "$dir" \
	    >"$dir/sanitizer"; then
		echo "sanitizer report in $(tr '\n' ' ' <"$dir/sanitizer")" \
		    >>"$dir/reason"
		rc=1
	fi

	# Under make check-valgrind: an error or a leak in any process
	# fails the case.  Every process that ends prints its summary.
	if [ -n "${VALGRIND:-}" ]; then
		cat "$dir"/valgrind.*.log >"$dir/valgrind.log" 2>/dev/null
		[ -s "$dir/valgrind.log" ] || rm -f "$dir/valgrind.log"
	fi
	if [ -n "${VALGRIND:-}" ] && [ -e "$dir/valgrind.log" ]; then
		if grep -qE 'ERROR SUMMARY: [1-9]' "$dir/valgrind.log"; then
			echo "valgrind: $(grep -cE 'ERROR SUMMARY: [1-9]' \
			    "$dir/valgrind.log") process(es) with errors," \
			    "in valgrind.log" >>"$dir/reason"
			rc=1
		elif ! grep -q 'ERROR SUMMARY: 0' "$dir/valgrind.log"; then
			echo "valgrind: no process summary" >>"$dir/reason"
			rc=1
		fi
	fi

	case $rc in
	0)
		passed=$((passed + 1))
		echo "ok $n $name $took"
		continue
		;;
	77)
		skipped=$((skipped + 1))
		echo "skip $n $name: $(head -n 1 "$dir/reason" 2>/dev/null)"
		continue
		;;
	124|137)
		echo "timed out after $limit s" >>"$dir/reason"
		;;
	esac
	failed=$((failed + 1))
	echo "not ok $n $name $took"
	if [ -s "$dir/reason" ]; then
		sed -e 's/^/#   /' "$dir/reason"
	else
		echo "#   exited with status $rc"
	fi
	# The reason is in the output too.
	grep -v '^FAIL: ' "$dir/output" | tail -n 10 >"$dir/output.tail"
	if [ -s "$dir/output.tail" ]; then
		echo "#   output, last lines:"
		show <"$dir/output.tail"
	fi
	if [ -s "$dir/sniproxyd.log" ]; then
		echo "#   sniproxyd log, last lines:"
		tail -n 20 "$dir/sniproxyd.log" | show
	fi
	if grep -qE 'ERROR SUMMARY: [1-9]' "$dir/valgrind.log" 2>/dev/null
	then
		echo "#   valgrind, first report:"
		grep -m 1 -A 24 -E "$vg_report" "$dir/valgrind.log" | show
	fi
done

[ -n "${REGRESS_KEEP:-}" ] && echo "# logs kept in $run"
if [ "$n" -eq 0 ]; then
	echo "run.sh: no case matches: $*" >&2
	failed=1
fi
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
