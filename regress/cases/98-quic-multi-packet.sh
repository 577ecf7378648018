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
# A ClientHello too big for one Initial packet: a finite-field key share
# of 1 KB makes the client's hello span two Initial packets in two
# datagrams, as post-quantum hellos of browsers do; the flow still goes
# by its name, and the server, which asks for another group, answers.
#
# client:	gtlsclient (ngtcp2) offering FFDHE8192 first, GET /whoami
#		from a.example.com, and from b.example.com with the usual
#		groups; each name resolves to 127.0.0.1 in a private mount
#		namespace
# sniproxyd:	listen on 127.0.0.1 port P udp; match tls sni
#		"a.example.com" to <a> mode failover, whose first server's
#		port is closed, so both datagrams are replayed twice;
#		default to <b>; log verbose
# servers:	gtlsserver a and b
# expect:	the answer from a; "QUIC ClientHello whole after 2
#		datagrams" for it and "after 1" for b; the flow's log line
#		names a.example.com and a

. "$TOP/regress/peers.sh"
. "$TOP/regress/load.sh"
need gtlsserver gtlsclient unshare
is_root || skip "a private hosts file needs a mount namespace (root)"

quic_server a
quic_server b
P=$(free_port)
conf <<EOF2
table <a> { 127.0.0.1 port $(free_port), 127.0.0.1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }

listen on 127.0.0.1 port $P udp {
	timeout idle 1s
	match tls sni "a.$DOMAIN" forward to <a> mode failover
	default forward to <b>
}
EOF2
start_daemon
udp_wait "$P" "sniproxyd"
ctl log verbose >"$T/ctl.out" 2>&1 ||
    fail "sniproxyctl log verbose: $(cat "$T/ctl.out")"

log_mark
body=$(QUIC_OPTS=--groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-X25519 \
    quic_fetch "a.$DOMAIN" "$P") ||
    fail "gtlsclient for a.$DOMAIN failed: $(tail -n 3 \
    "$T/dl.a.$DOMAIN.$$.log")"
assert_eq "backend a" "$body" "HTTP/3 answer for a.$DOMAIN"
expect_log "127\\.0\\.0\\.1:[0-9]+: QUIC ClientHello whole after 2 datagrams"
wait_log "quic v1 sni=$(re "a.$DOMAIN") .* end (idle|reset)" 5 ||
    fail "no end of the flow for a.$DOMAIN in the log"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" \
    "$(rule_re "\"a.$DOMAIN\" forward to <a> mode failover")" \
    "quic v1 sni=$(re "a.$DOMAIN") alpn=h3" "127\\.0\\.0\\.1:$(port a)" \
    "(idle|reset)")"

log_mark
body=$(quic_fetch "b.$DOMAIN" "$P") || fail "gtlsclient for b.$DOMAIN failed"
assert_eq "backend b" "$body" "HTTP/3 answer for b.$DOMAIN"
expect_log "127\\.0\\.0\\.1:[0-9]+: QUIC ClientHello whole after 1 datagrams"
