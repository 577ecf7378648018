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
# SIGTERM: connections get the shutdown grace, then every process is
# gone; with none open, they are gone at once.
#
# client:	an openssl s_client connection that stays idle
# sniproxyd:	timeout shutdown 2s, accept 2, prefork 2
# servers:	openssl s_server "web"
# expect:	with the connection open, every sniproxyd process gone in
#		1.5 s to 3.8 s after SIGTERM (before the parent's own
#		deadline of grace + 2 s), the connection closed and logged
#		"end shutdown"; started again and stopped with nothing open,
#		gone within 1.5 s

backend web
P=$(free_port)

conf <<EOF
# Two accept processes: both go with the rest.
accept 2
prefork 2
timeout shutdown 2s
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
}
EOF

# term_and_time MAX_MS: SIGTERM to the parent; sets took to the
# milliseconds until it and every process below it were gone, polled
# every tenth of a second for at most MAX_MS.
term_and_time() {
	_all="$DAEMON_PID $(descendants "$DAEMON_PID")"
	[ "$(echo "$_all" | wc -w)" -eq 5 ] ||
	    fail "expected 5 sniproxyd processes, found: $_all"
	_t0=$(now_ms)
	kill -TERM "$DAEMON_PID"
	while :; do
		_left=
		for _p in $_all; do
			alive "$_p" && _left="$_left $_p"
		done
		[ -z "$_left" ] && break
		[ $(($(now_ms) - _t0)) -le "$1" ] ||
		    fail "still running $1 ms after SIGTERM:$_left"
		tick
	done
	took=$(($(now_ms) - _t0))
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

start_daemon "$P"
client_open idle "web.$DOMAIN" "$P"
n=50
until [ "$(established_to "$(port web)")" -eq 1 ]; do
	[ "$n" -gt 0 ] || fail "the client did not reach the backend"
	tick
	n=$((n - 1))
done
term_and_time 6000
echo "with a connection open, gone $took ms after SIGTERM"
[ "$took" -ge 1500 ] ||
    fail "gone $took ms after SIGTERM: the 2 s grace was not given"
[ "$took" -le 3800 ] ||
    fail "gone only $took ms after SIGTERM, with a 2 s grace"
wait_gone "$(client_pid idle)" 2 ||
    fail "the connection is still open after the shutdown"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" \
    "$(rule_re "\"web.$DOMAIN\"")" "$(tls_sni "web.$DOMAIN")" \
    "127\\.0\\.0\\.1:$(port web)" shutdown)"

start_daemon "$P"
term_and_time 3000
echo "with no connection open, gone $took ms after SIGTERM"
[ "$took" -le 1500 ] ||
    fail "gone only $took ms after SIGTERM with no connection open"
