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
# A QUIC server that is gone: its port answers the flow's first
# datagrams with ICMP port unreachable, which counts as a failed
# connect, and the flow goes on to the next server of the table.
#
# client:	gtlsclient (ngtcp2), GET /whoami from a.example.com, which
#		resolves to 127.0.0.1 in a private mount namespace; once
#		with both servers up, once after a is killed
# sniproxyd:	listen on 127.0.0.1 port P udp; default forward to <pool>
#		mode failover, no health check; timeout idle 1s
# servers:	gtlsserver a and b in <pool>; a killed between the fetches
# expect:	the first answer from a, the second from b; the second
#		flow's log line names b

. "$TOP/regress/peers.sh"
need gtlsserver gtlsclient unshare
is_root || skip "a private hosts file needs a mount namespace (root)"

quic_server a
quic_server b
P=$(free_port)

conf <<EOF2
table <pool> { 127.0.0.1 port $(port a), 127.0.0.1 port $(port b) }

listen on 127.0.0.1 port $P udp {
	timeout idle 1s
	default forward to <pool> mode failover
}
EOF2
start_daemon

udp_wait "$P" "sniproxyd"

body=$(quic_fetch "a.$DOMAIN" "$P") || fail "gtlsclient failed with a up"
assert_eq "backend a" "$body" "HTTP/3 answer with a up"

pa=$(port a)
kill -KILL "$(pid_of a)" 2>/dev/null
wait_exit "$(pid_of a)" 5
n=50
until [ "$(udp_bound "$pa")" -eq 0 ]; do
	[ "$n" -gt 0 ] || fail "a still has udp $pa"
	tick
	n=$((n - 1))
done

log_mark
body=$(quic_fetch "a.$DOMAIN" "$P") ||
    fail "gtlsclient failed with a down: $(tail -n 3 \
    "$T/dl.a.$DOMAIN.$$.log")"
assert_eq "backend b" "$body" "HTTP/3 answer with a down"
expect_log "$(conn_line "127\.0\.0\.1:$P" "$(rule_re "default forward")" \
    "quic v1 sni=$(re "a.$DOMAIN") alpn=h3" "127\.0\.0\.1:$(port b)" \
    '(idle|reset)')"
