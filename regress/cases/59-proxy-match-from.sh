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
# Behind a PROXY sender, the header's client stands for the client
# everywhere: "match from" sees it (IPv4 and IPv6), the log names it,
# and the header sent onwards (v1 or v2) carries it; the sender's own
# address matches nothing.
#
# client:	Python clients from 127.0.0.1 sending a PROXY header and
#		a line: v1 TCP4 from 198.51.100.7:5555, v1 TCP6 from
#		[2001:db8::7]:6666 (the line 0.3 s after the header), v2
#		TCP4 from 203.0.113.9:7777
# sniproxyd:	listen ... accept proxy from 127.0.0.1 { match from 127.0.0.1 to
#		<wrong>; match from 198.51.100.0/24 to <office> send proxy
#		v2; match from "2001:db8::/32" to <v6> send proxy v1;
#		default to <other> send proxy v2 }
# servers:	Python line servers recording the PROXY header:
#		"office", "v6", "other", "wrong"
# expect:	each line echoed by the backend of the header's address;
#		the backends recorded src=198.51.100.7:5555 (v2, TCP over
#		IPv4), src=[2001:db8::7]:6666 (v1, TCP6) and
#		src=203.0.113.9:7777 (v2); the log lines begin with those
#		clients, with the class "unknown" of the line they sent
#		(not "eof": none of them closed before sending); nothing
#		reached "wrong"

. "$TOP/regress/peers.sh"

for b in office v6 other wrong; do
	py_server "$b" --proxy
done
P=$(free_port)

conf <<EOF2
table <office> { 127.0.0.1 port $(port office) }
table <v6> { 127.0.0.1 port $(port v6) }
table <other> { 127.0.0.1 port $(port other) }
table <wrong> { 127.0.0.1 port $(port wrong) }

listen on 127.0.0.1 port $P accept proxy from 127.0.0.1 {
	match from 127.0.0.1 forward to <wrong>
	match from 198.51.100.0/24 forward to <office> send proxy v2
	match from "2001:db8::/32" forward to <v6> send proxy v1
	default forward to <other> send proxy v2
}
EOF2
start_daemon "$P"

hexof() {
	printf '%b' "$1" | od -v -An -tx1 | tr -d ' \n'
}
# talk BACKEND HEADER-HEX LINE [py_client options]: the header, and
# the line in the same write or as told.
talk() {
	_b=$1
	_h=$2
	_l=$3
	shift 3
	[ $# -gt 0 ] || set -- --send "$_l\\n"
	if ! out=$(py_client --port "$P" --hex "$_h" "$@" 2>"$T/c.err"); then
		log_since_mark | grep "killed by signal" | head -n 1 |
		    sed 's/^/the accept process crashed: /' >>"$T/reason"
		fail "the client for $_b failed: $(tail -n 1 "$T/c.err")"
	fi
	assert_eq "$_b: $_l" "$out" "answer to the client for $_b"
}
talk office "$(hexof 'PROXY TCP4 198.51.100.7 127.0.0.1 5555 443\r\n')" \
    "from the office"
# The line a little after the header.
talk v6 "$(hexof 'PROXY TCP6 2001:db8::7 ::1 6666 443\r\n')" "from v6" \
    --send '' --then 'from v6\n' --pause 0.3 --lines 1
# v2, PROXY command, TCP over IPv4, 12 bytes of addresses and ports.
talk other "0d0a0d0a000d0a515549540a2111000ccb0071097f0000011e6101bb" \
    "from elsewhere"

wait_conns office 1
wait_conns v6 1
wait_conns other 1
grep -q "proxy=v2 cmd=1 family=11 src=198\\.51\\.100\\.7:5555 " \
    "$T/b/office/conns" || fail "office got no v2 header for" \
    "198.51.100.7:5555: $(conns office)"
grep -q "proxy=v1 family=TCP6 src=2001:db8::7:6666 " "$T/b/v6/conns" ||
    fail "v6 got no v1 TCP6 header for [2001:db8::7]:6666: $(conns v6)"
grep -q "proxy=v2 cmd=1 family=11 src=203\\.0\\.113\\.9:7777 " \
    "$T/b/other/conns" || fail "other got no v2 header for" \
    "203.0.113.9:7777: $(conns other)"
assert_eq 0 "$(conns wrong | wc -l)" "connections that reached wrong"

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_from "198\\.51\\.100\\.7:5555" "$L" \
    "$(rule_re "198.51.100.0/24")" "[a-z]+" \
    "127\\.0\\.0\\.1:$(port office)" eof)"
expect_log "$(conn_from "\\[2001:db8::7\\]:6666" "$L" \
    "$(rule_re '"2001:db8::/32"')" "[a-z]+" "127\\.0\\.0\\.1:$(port v6)" eof)"
expect_log "$(conn_from "203\\.0\\.113\\.9:7777" "$L" \
    "$(rule_re "default forward")" "[a-z]+" \
    "127\\.0\\.0\\.1:$(port other)" eof)"
assert_log_lacks "killed by signal"
# A rule without a condition is decided at the client's first bytes
# after the header (or at the last look), and the class names what had
# arrived: "eof" would say the client closed before sending anything.
if log_since_mark | grep -Eq "^[^ ]+ on $L rule [^ ]+ eof to "; then
	fail "decided before the client's first bytes after the header," \
	    "logged as if it had closed: $(log_since_mark |
	    grep -E "^[^ ]+ on $L rule [^ ]+ eof to " | head -n 1)"
fi
