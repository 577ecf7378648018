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
# timeout 60
#
# A worker killed with SIGKILL takes its connections with it, and they
# stop counting against maxconn and maxconn per source: nobody is left
# to say that they ended, so the accept process lets them go when the
# worker's channel closes.
#
# client:	three openssl s_client connections with SNI "ok", held open
#		and idle; curl with SNI "ok" while they are held, and after
#		the kill; sniproxyctl show summary
# sniproxyd:	prefork 1, maxconn 3, maxconn per source 3 on the
#		listener, match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	with the three held, curl is refused and show summary says
#		held 3; the worker is killed; within 10 s curl is answered
#		again (by the new worker); show summary says held 0 once it
#		has finished

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

SNIPROXYCTL=${SNIPROXYCTL:-$(dirname "$SNIPROXYD")/sniproxyctl}
ctl() {
	"$SNIPROXYCTL" -s "$T/control.sock" "$@"
}

# held N: show summary says N connections held against the limits,
# within 5 s.
held() {
	_n=50
	until ctl show summary >"$T/ctl.out" 2>&1 &&
	    grep -q "^connections active .* held $1\$" "$T/ctl.out"; do
		[ "$_n" -gt 0 ] || fail "show summary does not say held $1:" \
		    "$(grep '^connections' "$T/ctl.out")"
		tick
		_n=$((_n - 1))
	done
}

# One accept process: it enforces the whole of maxconn.
hostile_start 30s "accept 1" "prefork 1" "maxconn 3" <<EOF2
maxconn per source 3
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2
ok_answers "before the connections are held"

for c in a b c; do
	client_open "$c" "ok.$DOMAIN" "$P"
done
held 3
if body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl got an answer with the limit reached: $body"
fi

victim=$(procs_titled "$DAEMON_PID" "route ok")
assert_eq 1 "$(echo "$victim" | wc -w)" "workers of route ok"
kill -KILL "$victim"
expect_log "route ok \\(pid $victim\\) killed by signal 9"

n=100
until body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); do
	[ "$n" -gt 0 ] || fail "no answer 10 s after the kill:" \
	    "$(cat "$T/curl.err")"
	tick
	n=$((n - 1))
done
assert_eq "backend ok" "$body" "answer after the kill"
held 0
