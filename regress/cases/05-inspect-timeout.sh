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
# A client that sends nothing goes to the default once the inspect
# timeout has passed, and not before; a TLS client does not wait for it.
#
# client:	a TCP connection that stays silent, to the first listener;
#		curl with SNI to the second
# sniproxyd:	listener 1: timeout inspect 1s, a match tls rule that
#		has to wait for bytes, and the default;
#		listener 2: timeout inspect 5s, match tls sni
# servers:	openssl s_server "quiet" (default) and "tls"
# expect:	the connection to quiet is made 1 s to 4 s after the client
#		connected (the listener's timeout, not the default 5 s),
#		logged with class "timeout"; curl is answered in well under
#		the 5 s inspect timeout of its listener

backend quiet
backend tls
P1=$(free_port)
P2=$(free_port)

conf <<EOF
table <quiet> { 127.0.0.1 port $(port quiet) }
table <tls> { 127.0.0.1 port $(port tls) }

listen on 127.0.0.1 port $P1 {
	timeout inspect 1s
	match tls sni "tls.$DOMAIN" forward to <tls>
	default forward to <quiet>
}
listen on 127.0.0.1 port $P2 {
	timeout inspect 5s
	match tls sni "tls.$DOMAIN" forward to <tls>
}
EOF
start_daemon "$P1" "$P2"

t0=$(now_ms)
silent_client "$P1" 30
# Polled every tenth of a second for up to 6 s.
n=60
while [ "$(established_to "$(port quiet)")" -eq 0 ]; do
	[ "$n" -gt 0 ] || fail "no connection to the default backend in 6 s"
	tick
	n=$((n - 1))
done
waited=$(($(now_ms) - t0))
echo "the silent client reached the default after $waited ms"
[ "$waited" -ge 900 ] ||
    fail "the silent client reached the default after $waited ms," \
    "before the 1 s inspect timeout"
[ "$waited" -le 4000 ] ||
    fail "the silent client reached the default only after $waited ms"
kill "$SILENT_PID"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P1" \
    "$(rule_re "default forward")" timeout \
    "127\\.0\\.0\\.1:$(port quiet)" eof)"

# shellcheck disable=SC2034
FETCH_OPTS="-o $T/body -w %{time_total}"
total=$(fetch "tls.$DOMAIN" "$P2") || fail "curl for tls.$DOMAIN failed"
assert_eq "backend tls" "$(cat "$T/body")" "answer for tls.$DOMAIN"
awk -v t="$total" 'BEGIN { exit !(t < 2.5) }' ||
    fail "curl took $total s, as if it waited for the 5 s inspect timeout"
