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
# HTTP/3 by name on a port that takes TCP and UDP: each QUIC flow goes
# to the server its ClientHello names, a name without a rule to the
# default, and the TLS clients of the same port are not disturbed.
#
# client:	gtlsclient (ngtcp2), GET /whoami from a., b. and c.example.com,
#		each name resolving to 127.0.0.1 in a private mount
#		namespace; curl for a.example.com over TCP
# sniproxyd:	listen on 127.0.0.1 port P tcp udp; first a payload rule
#		for TLS records to <tcpa>, which QUIC flows pass over;
#		match tls sni "a.example.com" to <a>, "b.example.com" to
#		<b>; default to <d>; timeout idle 1s
# servers:	gtlsserver a, b and d, each with a certificate of its own
#		for its name; openssl s_server tcpa
# expect:	every HTTP/3 answer from the server of its name, c from d;
#		one log line per flow "quic v1 sni=NAME alpn=h3" with the
#		rule's file:line and the server, ended by idle (or reset
#		once the client is gone); TLS over
#		TCP taken by the payload rule, to tcpa

. "$TOP/regress/peers.sh"
need gtlsserver gtlsclient unshare
is_root || skip "a private hosts file needs a mount namespace (root)"

quic_server a
quic_server b
quic_server d
backend tcpa
P=$(free_port)

conf <<EOF2
table <a> { 127.0.0.1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }
table <d> { 127.0.0.1 port $(port d) }
table <tcpa> { 127.0.0.1 port $(port tcpa) }

listen on 127.0.0.1 port $P tcp udp {
	timeout idle 1s
	match payload hex "16 03" forward to <tcpa>
	match tls sni "a.$DOMAIN" forward to <a>
	match tls sni "b.$DOMAIN" forward to <b>
	default forward to <d>
}
EOF2
start_daemon "$P"

for n in a b; do
	body=$(quic_fetch "$n.$DOMAIN" "$P") ||
	    fail "gtlsclient for $n.$DOMAIN failed: $(tail -n 3 \
	    "$T/dl.$n.$DOMAIN.$$.log")"
	assert_eq "backend $n" "$body" "HTTP/3 answer for $n.$DOMAIN"
done
body=$(quic_fetch "c.$DOMAIN" "$P") || fail "gtlsclient for c.$DOMAIN failed"
assert_eq "backend d" "$body" "HTTP/3 answer for c.$DOMAIN"

L=127\.0\.0\.1:$P
# A flow ends idle, or as a reset when the client has gone first and
# the server's next datagram meets its closed port.
QUIC_END='(idle|reset)'
for n in a b; do
	wait_log "quic v1 sni=$(re "$n.$DOMAIN") .* end $QUIC_END" 5 ||
	    fail "no end of the flow for $n.$DOMAIN in the log"
	expect_log "$(conn_line "$L" \
	    "$(rule_re "\"$n.$DOMAIN\" forward to <$n>")" \
	    "quic v1 sni=$(re "$n.$DOMAIN") alpn=h3" \
	    "127\.0\.0\.1:$(port "$n")" "$QUIC_END")"
done
wait_log "quic v1 sni=$(re "c.$DOMAIN") .* end $QUIC_END" 5 ||
    fail "no end of the flow for c.$DOMAIN in the log"
expect_log "$(conn_line "$L" "$(rule_re "default forward")" \
    "quic v1 sni=$(re "c.$DOMAIN") alpn=h3" "127\.0\.0\.1:$(port d)" \
    "$QUIC_END")"
assert_log_lacks "quic .* up 0 down|quic .* down 0 time"

# The rule QUIC passes over is TCP's.
body=$(fetch "a.$DOMAIN" "$P") || fail "curl for a.$DOMAIN failed"
assert_eq "backend tcpa" "$body" "TCP answer for a.$DOMAIN"
expect_log "$(conn_line "$L" "$(rule_re "payload hex")" payload \
    "127\.0\.0\.1:$(port tcpa)" "$FETCH_END")"
