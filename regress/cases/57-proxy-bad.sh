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
# A listener with "accept proxy" closes and logs every connection
# without a good PROXY header from a trusted address, and takes the
# good ones, LOCAL (health checks) included.
#
# client:	curl straight to the listener (no header); Python clients
#		sending a garbage header, a v1 line too long, a v2
#		signature with a bad version, a v1 header cut short then
#		silence, nothing at all; a good v1 header from 127.0.0.1
#		to a listener that trusts only 127.0.0.9, and from
#		127.0.0.9; a good v1 and a v2 LOCAL header with a line
#		behind them
# sniproxyd:	listener 1: accept proxy from 127.0.0.1, timeout
#		proxy 2s, match tls sni, default to a line server;
#		listener 2: accept proxy from "127.0.0.9", default to the
#		line server; listener 3: no accept proxy, default to the
#		line server
# servers:	openssl s_server "web"; Python line server "dflt"
# expect:	the bad ones closed without an answer, logged "end
#		bad-proxy" with the reason ("no", "bad", "incomplete"),
#		the silent ones after about 2 s; the untrusted one "end
#		untrusted-proxy"; the good v1 one logged with the header's
#		client 192.0.2.7:4242 and echoed; the LOCAL one echoed and
#		logged with its real address; afterwards a client of
#		listener 3 is still served, by the same accept process,
#		which never crashed

. "$TOP/regress/peers.sh"

backend web
py_server dflt
P=$(free_port)
P2=$(free_port)
P3=$(free_port)

conf <<EOF2
table <web> { 127.0.0.1 port $(port web) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P accept proxy from 127.0.0.1 {
	timeout proxy 2s
	match tls sni "web.$DOMAIN" forward to <web>
	default forward to <dflt>
}
listen on 127.0.0.1 port $P2 accept proxy from "127.0.0.9" {
	default forward to <dflt>
}
listen on 127.0.0.1 port $P3 {
	default forward to <dflt>
}
EOF2
start_daemon "$P" "$P2" "$P3"
acc=$(accept_pid)

hexof() {
	printf '%b' "$1" | od -v -An -tx1 | tr -d ' \n'
}
V2SIG=0d0a0d0a000d0a515549540a
good=$(hexof 'PROXY TCP4 192.0.2.7 127.0.0.1 4242 443\r\n')

# The accept process must survive every client here.
no_crash() {
	if log_since_mark | grep -q "killed by signal"; then
		fail "the accept process crashed after $1:" \
		    "$(log_since_mark | grep "killed by signal" | head -n 1)"
	fi
}

# plain WHEN: a client of listener 3, which reads no PROXY header.
plain() {
	out=$(py_client --port "$P3" --send 'plain listener\n' \
	    2>"$T/plain.err") || fail "a client of the listener without" \
	    "accept proxy was not served $1: $(tail -n 1 "$T/plain.err")" \
	    "$(log_since_mark | grep "maxconn" | head -n 1)"
	assert_eq "dflt: plain listener" "$out" "answer on listener 3 $1"
}

plain "at first"
# No header: curl's ClientHello is not one.
if body=$(fetch "web.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl without a header got an answer: $body"
fi
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" none "[a-z]+" - bad-proxy)"
tick
no_crash "curl without a header"
plain "after curl without a header on listener 1"
n=0
bad() {
	no_crash "the client before \"$2\""
	n=$((n + 1))
	py_client --port "$P" --hex "$1" --lines 0 --expect-eof \
	    --timeout 5 >/dev/null 2>"$T/bad$n.err" ||
	    fail "client with $2 was not closed without an answer:" \
	    "$(cat "$T/bad$n.err")"
	_ms=$(sed -n 's/^done after \([0-9]*\) ms$/\1/p' "$T/bad$n.err")
	echo "$2: closed after $_ms ms"
	_p=$(sed -n 's/^local 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/bad$n.err")
	expect_log "^127\\.0\\.0\\.1:$_p: $3 PROXY header\$"
	expect_log "$(conn_line "127\\.0\\.0\\.1:$P" none "[a-z]+" - \
	    bad-proxy | sed "s/^[^:]*:\\[0-9\\]+/127\\\\.0\\\\.0\\\\.1:$_p/")"
	tick
	no_crash "$2"
	[ "$_ms" -le "$4" ] || fail "$2: closed only after $_ms ms"
	[ "$_ms" -ge "$5" ] || fail "$2: closed after $_ms ms, before the" \
	    "2 s proxy timeout"
}
bad "$(hexof 'PROXY GARBAGE\r\nhello\n')" "a garbage v1 line" bad 1500 0
bad "$(hexof 'PROXY TCP4 ')$(printf '%0240d' 0)" "a v1 line too long" bad \
    1500 0
bad "${V2SIG}31110000" "a v2 header of version 3" bad 1500 0
bad "$(hexof 'PROXY TCP4 192.0.2.7 ')" "a v1 header cut short" incomplete \
    5000 1800
bad "" "nothing at all" no 5000 1800
expect_log_n "$(conn_line "127\\.0\\.0\\.1:$P" none "[a-z]+" - bad-proxy)" \
    $((n + 1))

no_crash "the bad headers"
# Untrusted: a good header from an address not in the list.
py_client --port "$P2" --hex "$good" --lines 0 --expect-eof \
    --timeout 5 >/dev/null 2>"$T/untrusted.err" ||
    fail "the untrusted client was not closed: $(cat "$T/untrusted.err")"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P2" none "[a-z]+" - \
    untrusted-proxy)"
expect_log "^127\\.0\\.0\\.1:[0-9]+: PROXY header from an untrusted address"
out=$(py_client --port "$P2" --src 127.0.0.9 --hex "$good" \
    --send 'trusted\n' 2>"$T/trusted.err") ||
    fail "the trusted client failed: $(cat "$T/trusted.err")"
assert_eq "dflt: trusted" "$out" "answer to the trusted client"

# Good v1 on listener 1: the header's client everywhere.
out=$(py_client --port "$P" --hex "$good" --send 'good v1\n' \
    2>"$T/good.err") || fail "the good client failed: $(cat "$T/good.err")"
assert_eq "dflt: good v1" "$out" "answer to the good v1 client"
expect_log "^192\\.0\\.2\\.7:4242 on 127\\.0\\.0\\.1:$P rule $(rule_re \
    "default forward") unknown to 127\\.0\\.0\\.1:$(port dflt) .* end eof\$"
expect_log "^192\\.0\\.2\\.7:4242 on 127\\.0\\.0\\.1:$P2 rule .* end eof\$"

no_crash "the good headers"
# v2 LOCAL, as a balancer's health check sends: no addresses.
out=$(py_client --port "$P" --hex "${V2SIG}20000000" --send 'local\n' \
    2>"$T/local.err") || fail "the LOCAL client failed: $(cat "$T/local.err")"
assert_eq "dflt: local" "$out" "answer to the LOCAL client"
lport=$(sed -n 's/^local 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/local.err")
expect_log "^127\\.0\\.0\\.1:$lport on 127\\.0\\.0\\.1:$P rule .* end eof\$"

tick
no_crash "the LOCAL header"
plain "at the end"
assert_log_lacks "killed by signal|maxconn reached|respawning"
assert_eq "$acc" "$(accept_pid)" "accept process"
