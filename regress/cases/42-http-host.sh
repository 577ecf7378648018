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
# Plain HTTP routed by Host: the Host header without its port, case
# and wildcard as for SNI, and the host of an absolute-form target
# before the header.
#
# client:	curl over plain HTTP for several names (its Host header
#		carries the port); curl with an absolute-form target whose
#		host differs from its Host header; a Python client that
#		sends the request line and, half a second later, the
#		headers
# sniproxyd:	match http host "a.example.com", match http host for
#		b.example.com and its subdomains, match http for any other
#		host, default
# servers:	Python HTTP servers "a", "b", "other" recording each
#		request line and Host; a Python line server "dflt"
# expect:	each request answered by the backend of its host, which
#		got the request exactly as curl sent it; log classes
#		"http host=NAME" without the port; a request that arrives
#		in two pieces waits for its Host; non-HTTP bytes go to the
#		default at once

. "$TOP/regress/peers.sh"

py_server a --http
py_server b --http
py_server other --http
py_server dflt
P=$(free_port)

conf <<EOF2
table <a> { 127.0.0.1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }
table <other> { 127.0.0.1 port $(port other) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	timeout inspect 5s
	match http host "a.$DOMAIN" forward to <a>
	match http host { "b.$DOMAIN", "*.b.$DOMAIN" } forward to <b>
	match http forward to <other>
	default forward to <dflt>
}
EOF2
start_daemon "$P"

get() {
	curl -sS --noproxy '*' --max-time 10 \
	    --resolve "$1:$P:127.0.0.1" "$@" 2>"$T/curl.err" ||
	    fail "curl $*: $(cat "$T/curl.err")"
}

body=$(get "a.$DOMAIN" "http://a.$DOMAIN:$P/whoami")
assert_eq "backend a" "$body" "answer for a.$DOMAIN"
body=$(get "B.Example.COM" "http://B.Example.COM:$P/whoami")
assert_eq "backend b" "$body" "answer for B.Example.COM"
body=$(get "x.y.b.$DOMAIN" "http://x.y.b.$DOMAIN:$P/whoami")
assert_eq "backend b" "$body" "answer for x.y.b.$DOMAIN"
body=$(get "c.$DOMAIN" "http://c.$DOMAIN:$P/whoami")
assert_eq "backend other" "$body" "answer for c.$DOMAIN"
# The absolute-form target names b, the Host header a: the target wins.
body=$(get "a.$DOMAIN" --request-target "http://b.$DOMAIN:8080/abs" \
    "http://a.$DOMAIN:$P/")
assert_eq "backend b" "$body" "answer for an absolute-form target"

grep -q "request=GET_/whoami_HTTP/1.1 host=a.$DOMAIN:$P\$" "$T/b/a/conns" ||
    fail "backend a did not get curl's request: $(conns a)"
grep -q "request=GET_http://b.$DOMAIN:8080/abs_HTTP/1.1 host=a.$DOMAIN:$P\$" \
    "$T/b/b/conns" || fail "backend b did not get the absolute-form" \
    "request as sent: $(conns b)"

# The request line first, the Host header half a second later.
out=$(py_client --port "$P" --send 'GET /split HTTP/1.1\r\n' \
    --then "Host: a.$DOMAIN\\r\\nConnection: close\\r\\n\\r\\n" \
    --pause 0.5 --lines 6 2>"$T/split.err") ||
    fail "the split request failed: $(cat "$T/split.err")"
echo "$out" | grep -qx "backend a" ||
    fail "the split request was not answered by a: $out"

# Neither HTTP nor anything else a rule knows: the default, at once.
out=$(py_client --port "$P" --send 'HELLO there\n' 2>"$T/dflt.err") ||
    fail "the plain client failed: $(cat "$T/dflt.err")"
assert_eq "dflt: HELLO there" "$out" "answer to the plain client"
ms=$(sed -n 's/^done after \([0-9]*\) ms/\1/p' "$T/dflt.err")
[ "$ms" -lt 2500 ] || fail "the plain client waited $ms ms for the default"

L=127\\.0\\.0\\.1:$P
R=$(rule_re "\"a.$DOMAIN\" forward")
expect_log_n "$(conn_line "$L" "$R" "http host=a\\.example\\.com" \
    "127\\.0\\.0\\.1:$(port a)" eof)" 2
R=$(rule_re "\"b.$DOMAIN\", ")
for h in "[Bb]\\.[Ee]xample\\.(com|COM)" "x\\.y\\.b\\.example\\.com" \
    "b\\.example\\.com"; do
	expect_log "$(conn_line "$L" "$R" "http host=$h" \
	    "127\\.0\\.0\\.1:$(port b)" eof)"
done
expect_log "$(conn_line "$L" "$(rule_re "match http forward")" \
    "http host=c\\.example\\.com" "127\\.0\\.0\\.1:$(port other)" eof)"
expect_log "$(conn_line "$L" "$(rule_re "default forward")" unknown \
    "127\\.0\\.0\\.1:$(port dflt)" eof)"
assert_log_lacks "host=[^ ]*:[0-9]"
