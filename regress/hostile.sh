# shellcheck shell=sh
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
# More functions for the cases of hostile clients, which source this
# file after lib.sh:
#
#	. "$TOP/regress/hostile.sh"
#
# Their clients are python3 programs.  Each case checks that a client
# with SNI is still served beside and after the hostile ones, and that
# sniproxyd's processes are the same from start to end: none died, none
# was respawned.

command -v python3 >/dev/null 2>&1 || skip "python3 is needed"

# The pid and role of every sniproxyd process, one a line.
procs() {
	for _p in "$DAEMON_PID" $(children "$DAEMON_PID"); do
		echo "$_p $(role "$_p")"
	done | sort -n
}

# same_procs BEFORE: every process still there, and no other.
same_procs() {
	_now=$(procs)
	[ "$_now" = "$1" ] || fail "sniproxyd's processes changed:" \
	    "before: $(echo "$1" | tr '\n' ' ') now: $(echo "$_now" |
	    tr '\n' ' ')"
	assert_log_lacks '\(pid [0-9]+\) (killed by signal|exited with)'
}

# Descriptors of a process: the held connections among them.
nfds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l
}

# hostile_start INSPECT [LINE ...] <RULES: starts backend ok and sniproxyd
# with the LINEs, table <ok> and a listener on 127.0.0.1 port $P (a free
# port) with timeout inspect INSPECT and the RULES, a line each; sets
# before to its processes.
hostile_start() {
	backend ok
	P=$(free_port)
	_inspect=$1
	shift
	{
		for _l in "$@"; do
			echo "$_l"
		done
		echo "table <ok> { 127.0.0.1 port $(port ok) }"
		echo
		echo "listen on 127.0.0.1 port $P {"
		echo "	timeout inspect $_inspect"
		sed -e 's/^/	/'
		echo "}"
	} | conf
	start_daemon "$P"
	# shellcheck disable=SC2034
	before=$(procs)
}

# accept_proc: sets acc to the pid of the accept process, the only one:
# a case that looks at it sets accept 1.
accept_proc() {
	acc=$(procs_titled "$DAEMON_PID" accept)
	[ -n "$acc" ] || fail "no accept process"
	[ "$(echo "$acc" | wc -w)" -eq 1 ] ||
	    fail "more than one accept process: set accept 1"
}

# ok_answers WHEN: curl with SNI "ok" through port $P is answered by
# backend ok; WHEN ("before the noise") names it in a failure.
ok_answers() {
	body=$(fetch "ok.$DOMAIN" "$P") || fail "curl $1 failed"
	assert_eq "backend ok" "$body" "answer $1"
}

# ok_logged: the last fetch is logged by the rule for "ok", reaching ok.
ok_logged() {
	expect_log "$(conn_line "127\\.0\\.0\\.1:$P" \
	    "$(rule_re "\"ok.$DOMAIN\"")" "$(tls_sni "ok.$DOMAIN")" \
	    "127\\.0\\.0\\.1:$(port ok)" "$FETCH_END")"
}

# fds_back BASE WHAT: the accept process $acc is back within 5 s to the
# BASE descriptors it had before WHAT.
fds_back() {
	_n=50
	until [ "$(nfds "$acc")" -le "$1" ]; do
		[ "$_n" -gt 0 ] || fail "the accept process has $(nfds "$acc")" \
		    "descriptors, $1 before the $2"
		tick
		_n=$((_n - 1))
	done
}

# wait_ready FILE PID OUT WHO LATE: waits up to 30 s for the client PID
# to write FILE; fails with "WHO failed" and its output OUT if it ends
# first, with LATE if it has not written FILE in time.
wait_ready() {
	_n=300
	until [ -f "$1" ]; do
		alive "$2" || fail "$4 failed: $(cat "$3")"
		[ "$_n" -gt 0 ] || fail "$5"
		tick
		_n=$((_n - 1))
	done
}
