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
# "source ADDRESS" on a forward: the server sees the connection come
# from that address, on a port of the kernel's choice; a source of the
# other family than a server of the table is a configuration error.
#
# client:	Python clients from 127.0.0.1 sending a line, to a
#		listener with source 127.0.0.2 and to one without
# sniproxyd:	listen on P { default forward to <web> source
#		127.0.0.2 }, listen on P2 { default forward to <plain> };
#		then, for -n only, a rule with source ::1 to an IPv4 table
# servers:	Python line servers "web" and "plain" recording peers
# expect:	web answers and saw peer 127.0.0.2 with a port of its
#		own, plain saw 127.0.0.1; sniproxyd -n rejects the ::1
#		source with "source ::1 is IPv6 and server
#		127.0.0.1:PORT of table <web> is not"

. "$TOP/regress/peers.sh"

py_server web
py_server plain
P=$(free_port)
P2=$(free_port)

conf <<EOF2
table <web> { 127.0.0.1 port $(port web) }
table <plain> { 127.0.0.1 port $(port plain) }

listen on 127.0.0.1 port $P {
	default forward to <web> source 127.0.0.2
}
listen on 127.0.0.1 port $P2 {
	default forward to <plain>
}
EOF2
start_daemon "$P" "$P2"

out=$(py_client --port "$P" --send 'hello\n' 2>"$T/c.err") ||
    fail "client through source 127.0.0.2: $(tail -n 1 "$T/c.err")"
assert_eq "web: hello" "$out" "answer through source 127.0.0.2"
out=$(py_client --port "$P2" --send 'hello\n' 2>"$T/c.err") ||
    fail "client without source: $(tail -n 1 "$T/c.err")"
assert_eq "plain: hello" "$out" "answer without source"

wait_conns web 1
wait_conns plain 1
conns web | grep -Eq '^peer=127\.0\.0\.2:[1-9][0-9]*( |$)' ||
    fail "web did not see 127.0.0.2: $(conns web)"
conns plain | grep -Eq '^peer=127\.0\.0\.1:[1-9][0-9]*( |$)' ||
    fail "plain did not see 127.0.0.1: $(conns plain)"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "source 127")" \
    "[a-z]+" "127\\.0\\.0\\.1:$(port web)" eof)"
stop_daemon || fail "sniproxyd did not stop"

conf <<EOF2
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	default forward to <web> source ::1
}
EOF2
if "$SNIPROXYD" -n -f "$CONF" >"$T/check.out" 2>&1; then
	fail "sniproxyd -n accepts source ::1 for an IPv4 server"
fi
grep -Fq "$(rule_at "source ::1"): source ::1 is IPv6 and server \
127.0.0.1:$(port web) of table <web> is not" "$T/check.out" ||
    fail "sniproxyd -n says: $(cat "$T/check.out")"
