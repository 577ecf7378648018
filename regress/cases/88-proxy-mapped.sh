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
# An IPv4-mapped address in a PROXY header (::ffff:a.b.c.d) is the IPv4
# client it carries: "match from" an IPv4 network sees it, the log
# names it as IPv4, and the header sent onwards carries it as IPv4.
#
# client:	Python clients from 127.0.0.1 sending a PROXY header and
#		a line: v1 TCP6 from [::ffff:10.1.2.3]:5555, v2 TCP over
#		IPv6 from [::ffff:10.1.2.3]:6666, v1 TCP6 from
#		[::ffff:192.0.2.9]:7777
# sniproxyd:	listen ... accept proxy from 127.0.0.1 { match from
#		10.0.0.0/8 block; default forward to <other> send proxy
#		v1 }
# servers:	a Python line server "other" recording the PROXY header
# expect:	both 10.1.2.3 clients closed unanswered and logged as
#		10.1.2.3 "end blocked"; the 192.0.2.9 client answered by
#		other, which got "PROXY TCP4 192.0.2.9 ..."; the log line
#		begins with 192.0.2.9:7777

. "$TOP/regress/peers.sh"

py_server other --proxy
P=$(free_port)

conf <<EOF2
table <other> { 127.0.0.1 port $(port other) }

listen on 127.0.0.1 port $P accept proxy from 127.0.0.1 {
	match from 10.0.0.0/8 block
	default forward to <other> send proxy v1
}
EOF2
start_daemon "$P"

hexof() {
	printf '%b' "$1" | od -v -An -tx1 | tr -d ' \n'
}
v1=$(hexof 'PROXY TCP6 ::ffff:10.1.2.3 ::ffff:127.0.0.1 5555 443\r\n')
# v2, PROXY command, TCP over IPv6, 36 bytes of addresses and ports.
v2=0d0a0d0a000d0a515549540a21210024
v2=${v2}00000000000000000000ffff0a010203
v2=${v2}00000000000000000000ffff7f000001
v2=${v2}1a0a01bb
for h in "$v1" "$v2"; do
	out=$(py_client --port "$P" --hex "$h" --send 'let me in\n' --lines 0 \
	    --expect-eof 2>"$T/c.err") ||
	    fail "blocked client: $(tail -n 1 "$T/c.err")"
	assert_eq "" "$out" "answer to a mapped 10.1.2.3"
done
out=$(py_client --port "$P" --hex "$(hexof \
    'PROXY TCP6 ::ffff:192.0.2.9 ::ffff:127.0.0.1 7777 443\r\n')" \
    --send 'hello\n' 2>"$T/c.err") ||
    fail "client from 192.0.2.9: $(tail -n 1 "$T/c.err")"
assert_eq "other: hello" "$out" "answer to a mapped 192.0.2.9"

wait_conns other 1
grep -q "proxy=v1 family=TCP4 src=192\\.0\\.2\\.9:7777 " \
    "$T/b/other/conns" || fail "other got no v1 TCP4 header for" \
    "192.0.2.9:7777: $(conns other)"

L=127\\.0\\.0\\.1:$P
blocked=$(conn_from "10\\.1\\.2\\.3:(5555|6666)" "$L" \
    "$(rule_re "10.0.0.0/8")" "[a-z]+" - blocked)
expect_log_n "$blocked" 2
expect_log "$(conn_from "192\\.0\\.2\\.9:7777" "$L" \
    "$(rule_re "default forward")" "[a-z]+" \
    "127\\.0\\.0\\.1:$(port other)" eof)"
assert_log_lacks "::ffff:"
