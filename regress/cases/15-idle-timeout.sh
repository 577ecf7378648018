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
# A rule's idle timeout closes a connection on which nothing moves.
#
# client:	an openssl s_client connection that completes its handshake and
#		then sends nothing
# sniproxyd:	match tls sni "idle..." forward to <web> timeout idle 1s
# servers:	openssl s_server "web", which waits for a request
# expect:	the connection is closed 1 s to 4 s after it started, logged
#		"end idle" with a time of 1 s to 4 s (not the 10 minutes of
#		the default idle timeout)

backend web
P=$(free_port)

conf <<EOF
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "idle.$DOMAIN" forward to <web> timeout idle 1s
}
EOF
start_daemon "$P"

t0=$(now_ms)
client_open idle "idle.$DOMAIN" "$P"
wait_gone "$(client_pid idle)" 6 ||
    fail "the idle connection was still open after 6 s"
took=$(($(now_ms) - t0))
echo "the idle connection was closed after $took ms"
[ "$took" -ge 900 ] || fail "the idle connection was closed after $took ms"
[ "$took" -le 4000 ] ||
    fail "the idle connection was closed only after $took ms"
line=$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "\"idle.$DOMAIN\"")" \
    "$(tls_sni "idle.$DOMAIN")" "127\\.0\\.0\\.1:$(port web)" idle)
expect_log "$line"
log_since_mark | grep -E -- "$line" | awk '{
	for (i = 1; i < NF; i++)
		if ($i == "time")
			t = $(i + 1)
	exit !(t >= 1.0 && t <= 4.0)
}' || fail "time of the idle connection not within 1 s to 4 s:" \
    "$(log_since_mark | grep -E -- "$line")"
