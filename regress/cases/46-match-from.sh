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
# Rules by the client's address: "match from" alone, with a protocol
# condition, with a list, a network and a table, IPv4 and IPv6.
#
# client:	curl for web.example.com bound to 127.0.0.2 and from
#		127.0.0.1; curl over plain HTTP from 127.0.0.3 and
#		127.0.0.5; a Python client sending "PING" from 127.0.0.6
#		and from 127.0.0.1; curl to ::1
# sniproxyd:	match from 127.0.0.2 tls sni, match from a list with
#		http, match from a table with payload, match tls sni for
#		everyone, match from a /30 without condition, default;
#		on ::1: match from ::1/128 tls, default
# servers:	openssl s_server "inside", "outside", "v6", "v6no";
#		Python HTTP servers "httpin", "net"; Python line servers
#		"lan", "dflt"
# expect:	each client reaches the backend of its address; the log
#		lines name the real client address (127.0.0.2 and so on)

. "$TOP/regress/peers.sh"

backend inside
backend outside
backend v6
backend v6no
py_server httpin --http
py_server net --http
py_server dflt
py_server lan
P=$(free_port)
P6=$(free_port)

conf <<EOF2
table <inside> { 127.0.0.1 port $(port inside) }
table <outside> { 127.0.0.1 port $(port outside) }
table <httpin> { 127.0.0.1 port $(port httpin) }
table <net> { 127.0.0.1 port $(port net) }
table <dflt> { 127.0.0.1 port $(port dflt) }
table <lan> { 127.0.0.1 port $(port lan) }
table <lanhosts> { 127.0.0.6 port 9 }
table <v6> { 127.0.0.1 port $(port v6) }
table <v6no> { 127.0.0.1 port $(port v6no) }

listen on 127.0.0.1 port $P {
	match from 127.0.0.2 tls sni "web.$DOMAIN" forward to <inside>
	match from { "127.0.0.3", "10.0.0.0/8", "2001:db8::/32" } http \\
	    forward to <httpin>
	match from <lanhosts> payload "PING" forward to <lan>
	match tls sni "web.$DOMAIN" forward to <outside>
	match from 127.0.0.4/30 forward to <net>
	default forward to <dflt>
}
listen on ::1 port $P6 {
	match from "::1/128" tls forward to <v6>
	default forward to <v6no>
}
EOF2
start_daemon "$P" "$P6"

# shellcheck disable=SC2034
FETCH_OPTS="--interface 127.0.0.2"
body=$(fetch "web.$DOMAIN" "$P") || fail "curl from 127.0.0.2 failed"
assert_eq "backend inside" "$body" "answer to 127.0.0.2"
# shellcheck disable=SC2034
FETCH_OPTS=
body=$(fetch "web.$DOMAIN" "$P") || fail "curl from 127.0.0.1 failed"
assert_eq "backend outside" "$body" "answer to 127.0.0.1"
body=$(fetch "web.$DOMAIN" "$P6" ::1) || fail "curl to ::1 failed"
assert_eq "backend v6" "$body" "answer to ::1"

get() {
	curl -sS --noproxy '*' --max-time 10 --interface "$1" \
	    "http://127.0.0.1:$P/x" 2>"$T/curl.err" ||
	    fail "curl from $1: $(cat "$T/curl.err")"
}
assert_eq "backend httpin" "$(get 127.0.0.3)" "answer to HTTP from 127.0.0.3"
assert_eq "backend net" "$(get 127.0.0.5)" "answer to HTTP from 127.0.0.5"
out=$(py_client --port "$P" --src 127.0.0.6 --send 'PING lan\n' \
    2>"$T/lan.err") || fail "client from 127.0.0.6: $(cat "$T/lan.err")"
assert_eq "lan: PING lan" "$out" "answer to PING from 127.0.0.6"
# The same bytes from an address outside the table: no condition left
# but the /30, which 127.0.0.1 is not in.
out=$(py_client --port "$P" --send 'PING lan\n' 2>"$T/nolan.err") ||
    fail "client from 127.0.0.1: $(cat "$T/nolan.err")"
assert_eq "dflt: PING lan" "$out" "answer to PING from 127.0.0.1"

# line CLIENT-ADDRESS LISTENER RULE CLASS BACKEND REASON
line() {
	printf '^%s:[0-9]+ on %s rule %s %s to 127\\.0\\.0\\.1:%s %s %s$' \
	    "$1" "$2" "$3" "$4" "$(port "$5")" \
	    'up [0-9]+ down [0-9]+ time [0-9.]+ end' "$6"
}
L=127\\.0\\.0\\.1:$P
expect_log "$(line '127\.0\.0\.2' "$L" "$(rule_re "from 127.0.0.2")" \
    "$(tls_sni "web.$DOMAIN")" inside "$FETCH_END")"
expect_log "$(line '127\.0\.0\.1' "$L" "$(rule_re "match tls sni")" \
    "$(tls_sni "web.$DOMAIN")" outside "$FETCH_END")"
expect_log "$(line '\[::1\]' "\\[::1\\]:$P6" "$(rule_re '"::1/128"')" \
    "$(tls_sni "web.$DOMAIN")" v6 "$FETCH_END")"
expect_log "$(line '127\.0\.0\.3' "$L" "$(rule_re '"127.0.0.3"')" \
    "http host=127\\.0\\.0\\.1" httpin eof)"
expect_log "$(line '127\.0\.0\.5' "$L" "$(rule_re "127.0.0.4/30")" \
    "[a-z]+( host=[^ ]*)?" net eof)"
expect_log "$(line '127\.0\.0\.6' "$L" "$(rule_re "<lanhosts> payload")" \
    payload lan eof)"
expect_log "$(line '127\.0\.0\.1' "$L" "$(rule_re "default forward")" \
    unknown dflt eof)"
