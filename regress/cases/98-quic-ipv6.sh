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
# QUIC over IPv6: a listener on ::1 decrypts the flow's Initial and
# passes it on to a server of either family; the flow's own socket is
# an IPv6 one, bound to ::1 and the listener's port.
#
# client:	gtlsclient (ngtcp2), GET /whoami from a.example.com and
#		b.example.com, both resolving to ::1 in a private mount
#		namespace
# sniproxyd:	listen on ::1 port P udp; match tls sni "a.example.com"
#		to <a>, default to <b>; timeout idle 1s
# servers:	gtlsserver a on ::1, b on 127.0.0.1
# expect:	each answer from the server of its name; log lines
#		"[::1]:PORT on [::1]:P ... quic v1 sni=NAME" naming
#		[::1]:port-of-a and 127.0.0.1:port-of-b

. "$TOP/regress/peers.sh"
need gtlsserver gtlsclient unshare
is_root || skip "a private hosts file needs a mount namespace (root)"
grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null ||
    skip "::1 is not configured"

quic_server a ::1
quic_server b
P=$(free_port)
conf <<EOF2
table <a> { ::1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }

listen on ::1 port $P udp {
	timeout idle 1s
	match tls sni "a.$DOMAIN" forward to <a>
	default forward to <b>
}
EOF2
start_daemon
udp_wait "$P" "sniproxyd"

for t in "a \\[::1\\]" "b 127\\.0\\.0\\.1"; do
	set -- $t
	body=$(quic_fetch "$1.$DOMAIN" "$P" ::1) ||
	    fail "gtlsclient for $1.$DOMAIN failed: $(tail -n 3 \
	    "$T/dl.$1.$DOMAIN.$$.log")"
	assert_eq "backend $1" "$body" "HTTP/3 answer for $1.$DOMAIN"
	wait_log "quic v1 sni=$(re "$1.$DOMAIN") .* end (idle|reset)" 5 ||
	    fail "no end of the flow for $1.$DOMAIN in the log"
	expect_log "^.*\\[::1\\]:[0-9]+ on \\[::1\\]:$P .*quic v1 sni=$(re \
	    "$1.$DOMAIN") alpn=h3 to $2:$(port "$1") "
done
