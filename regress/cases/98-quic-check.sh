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
# check quic: a QUIC server that stops answering without a word (no ICMP
# error, which a stopped process does not cause) is down, its flows go
# to the next server, and it is up again once it answers.
#
# client:	gtlsclient (ngtcp2), GET /whoami from a.example.com, which
#		resolves to 127.0.0.1 in a private mount namespace: with
#		both servers up, with a stopped, with a going again
# sniproxyd:	listen on 127.0.0.1 port P udp; default forward to <pool>
#		mode failover check quic interval 300ms fall 2 rise 2;
#		timeout idle 1s
# servers:	gtlsserver a and b in <pool>; a stopped with SIGSTOP, then
#		continued
# expect:	no "is down" while both answer; "table <pool>: server
#		127.0.0.1:A is down" within 5 s of the stop and the answer
#		from b; "is up" within 5 s of SIGCONT and the answer from a

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
	default forward to <pool> mode failover \\
	    check quic interval 300ms fall 2 rise 2
}
EOF2
start_daemon
udp_wait "$P" "sniproxyd"

body=$(quic_fetch "a.$DOMAIN" "$P") || fail "gtlsclient failed with a up"
assert_eq "backend a" "$body" "HTTP/3 answer with both up"
assert_log_lacks 'is down'

log_mark
kill -STOP "$(pid_of a)" || fail "cannot stop a"
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port a) is down" 5
body=$(quic_fetch "a.$DOMAIN" "$P") || fail "gtlsclient failed with a stopped"
assert_eq "backend b" "$body" "HTTP/3 answer with a stopped"

log_mark
kill -CONT "$(pid_of a)" || fail "cannot continue a"
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port a) is up" 5
body=$(quic_fetch "a.$DOMAIN" "$P") || fail "gtlsclient failed with a back"
assert_eq "backend a" "$body" "HTTP/3 answer with a back"
