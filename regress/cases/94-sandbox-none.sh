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
# Every child confines itself to its system calls, unless the
# configuration says in words that it may not: "sandbox none", the way
# to start at all where the system has no filter for the architecture.
# The words are the only ones it takes.
#
# client:	curl
# sniproxyd:	accept 2, one route with a tcp check; then the same with
#		"sandbox none"; -n on "sandbox strict"
# servers:	openssl s_server "web"
# expect:	Seccomp: 2 in /proc for both accept processes, the worker and
#		the check process; with "sandbox none" Seccomp: 0 for every
#		child, a line in the log saying so, and the answer still
#		served; "sandbox strict" rejected with file:line

skip_under_valgrind "the daemon is built without its filter"

backend web
P=$(free_port)

body() {
	cat <<EOF
# Two accept processes: each confines itself.
accept 2
prefork 1
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web> check tcp interval 1s
}
EOF
}

# The mode of the system call filter of every child: 2 when filtered.
modes() {
	for _k in $(children "$DAEMON_PID"); do
		awk '$1 == "Seccomp:" { print $2 }' "/proc/$_k/status"
	done | sort | uniq -c | awk '{ print $1 "x" $2 }'
}

body | conf
start_daemon "$P"
grep -q libasan "/proc/$DAEMON_PID/maps" &&
    skip "a sanitized build runs unconfined"
assert_eq "backend web" "$(fetch "web.$DOMAIN" "$P")" "answer, filtered"
assert_eq "4x2" "$(modes)" "children filtered"
assert_log_lacks "sandbox none"
stop_daemon || fail "sniproxyd did not stop"

{ echo "sandbox none"; body; } | conf
start_daemon "$P"
assert_eq "backend web" "$(fetch "web.$DOMAIN" "$P")" "answer, unfiltered"
assert_eq "4x0" "$(modes)" "children unfiltered"
assert_log_has "sandbox none: children run without a system call filter"
stop_daemon || fail "sniproxyd did not stop"

{ echo "sandbox strict"; body; } | conf
"$SNIPROXYD" -n -f "$CONF" >"$T/out" 2>&1 &&
    fail "sniproxyd -n accepts \"sandbox strict\""
grep -Eq "sniproxyd.conf:[0-9]+: sandbox takes none only" "$T/out" ||
    fail "no file:line error for \"sandbox strict\": $(cat "$T/out")"
