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
# Byte patterns: a FIX client in the clear by "match payload", at an
# offset, in hexadecimal, and by a regular expression; near misses go
# on to the next rules, and every client that speaks first is decided
# without waiting for the inspect timeout.
#
# client:	Python plain clients sending a FIX Logon (whole, and split
#		in two writes half a second apart), a near miss, a word at
#		offset 4, raw bytes, lines for the regular expression
# sniproxyd:	timeout inspect 5s; match payload "8=FIX", payload
#		offset 4 "PING", payload hex "de ad be ef", payload regex,
#		default
# servers:	Python line servers "fix", "ping", "hex", "regex", "dflt"
# expect:	each client answered by its backend, in well under 5 s
#		(the split FIX Logon after its second write); log class
#		"payload" for the pattern rules, "unknown" for the default

. "$TOP/regress/peers.sh"

for b in fix ping hex regex dflt; do
	py_server "$b"
done
P=$(free_port)

conf <<EOF2
table <fix> { 127.0.0.1 port $(port fix) }
table <ping> { 127.0.0.1 port $(port ping) }
table <hex> { 127.0.0.1 port $(port hex) }
table <regex> { 127.0.0.1 port $(port regex) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	timeout inspect 5s
	match payload "8=FIX" forward to <fix>
	match payload offset 4 "PING" forward to <ping>
	match payload hex "de ad be ef" forward to <hex>
	match payload regex "^[A-Z]{3}[0-9]+ (BUY|SELL) [0-9]+" \\
	    forward to <regex>
	default forward to <dflt>
}
EOF2
start_daemon "$P"

logon='8=FIX.4.4\x019=65\x0135=A\x0149=CLIENT\x0156=SERVER\x0134=1'
logon=$logon'\x0198=0\x01108=30\x0110=062\x01\n'
n=0
# talk NAME EXPECTED-BACKEND LIMIT-MS py_client options...
talk() {
	n=$((n + 1))
	_want=$2
	_limit=$3
	shift 3
	out=$(py_client --port "$P" "$@" 2>"$T/c$n.err") ||
	    fail "client $n failed: $(cat "$T/c$n.err")"
	case $out in
	"$_want: "*)	;;
	*)	fail "client $n ($*) answered by '$out', not by $_want" ;;
	esac
	ms=$(sed -n 's/^done after \([0-9]*\) ms/\1/p' "$T/c$n.err")
	[ "$ms" -le "$_limit" ] ||
	    fail "client $n ($*) took $ms ms, more than $_limit"
	echo "client $n to $_want in $ms ms"
}

talk logon fix 2500 --send "$logon"
# Echoed byte for byte, SOH included.
soh=$(printf '\001')
assert_eq "fix: $(printf '%s\n' "${logon%??}" | sed "s/\\\\x01/$soh/g")" \
    "$out" "the Logon echoed by fix"
talk split fix 3000 --send '8=F' --then "${logon#8=F}" --pause 0.5
talk nearmiss dflt 2500 --send '8=FIT.4.4\x019=5\x01\n'
talk offset ping 2500 --send 'abcdPING 1\n'
talk offset-miss dflt 2500 --send 'abcPING 1\n'
talk hex hex 2500 --hex deadbeef --send ' raw\n'
talk hex-miss dflt 2500 --hex deadbeee --send ' raw\n'
talk regex regex 2500 --send 'ABC123 BUY 100\n'
talk regex-miss dflt 2500 --send 'ABC123 HOLD 100\n'
ms=$(sed -n 's/^done after \([0-9]*\) ms/\1/p' "$T/c2.err")
[ "$ms" -ge 450 ] || fail "the split FIX Logon was decided after $ms ms," \
    "before its second write"

L=127\\.0\\.0\\.1:$P
expect_log_n "$(conn_line "$L" "$(rule_re '"8=FIX"')" payload \
    "127\\.0\\.0\\.1:$(port fix)" eof)" 2
expect_log "$(conn_line "$L" "$(rule_re '"PING"')" payload \
    "127\\.0\\.0\\.1:$(port ping)" eof)"
expect_log "$(conn_line "$L" "$(rule_re 'hex "de')" payload \
    "127\\.0\\.0\\.1:$(port hex)" eof)"
expect_log "$(conn_line "$L" "$(rule_re 'regex "')" payload \
    "127\\.0\\.0\\.1:$(port regex)" eof)"
expect_log_n "$(conn_line "$L" "$(rule_re "default forward")" unknown \
    "127\\.0\\.0\\.1:$(port dflt)" eof)" 4
