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
# The seed recipe: plain TCP and TLS on one port, in one listener
# block, the TLS terminated here, and both passed to one plaintext
# server with a PROXY v2 header that names the client, with no
# loopback frontends in between.
#
# client:	from 127.0.0.2: a Python plain client; Python ssl for
#		app.example.com offering ALPN "echo/1", verifying the
#		run's CA; openssl s_client
# sniproxyd:	keypair of the run's certificate; listen { match tls
#		terminate tls forward to <echo> send proxy v2 tls alpn
#		"echo/1"; default forward to <echo> send proxy v2 }
# servers:	Python line server "echo" that reads and records the
#		PROXY header
# expect:	every client echoed, the plain one within 2 s (the
#		inspect timeout is 5 s); each connection to echo began
#		with a v2 PROXY header, command PROXY, TCP over IPv4,
#		src=127.0.0.2:PORT of that client and
#		dst=127.0.0.1:LISTENER; the TLS ones with the AUTHORITY
#		TLV app.example.com, the negotiated ALPN "echo/1" (the
#		Python one) and the SSL TLV (client bit, version and
#		cipher); the plain one with neither

. "$TOP/regress/peers.sh"

py_server echo --proxy
P=$(free_port)

conf <<EOF2
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <echo> { 127.0.0.1 port $(port echo) }

listen on 127.0.0.1 port $P {
	timeout inspect 5s
	match tls terminate tls forward to <echo> send proxy v2 \\
	    tls alpn "echo/1"
	default forward to <echo> send proxy v2
}
EOF2
start_daemon "$P"

localport() {
	sed -n 's/^local 127\.0\.0\.2:\([0-9]*\)$/\1/p' "$1"
}

out=$(py_client --port "$P" --src 127.0.0.2 --send 'plain\n' \
    2>"$T/plain.err") || fail "the plain client failed: $(cat "$T/plain.err")"
assert_eq "echo: plain" "$out" "answer to the plain client"
ms=$(sed -n 's/^done after \([0-9]*\) ms/\1/p' "$T/plain.err")
[ "$ms" -lt 2000 ] || fail "the plain client waited $ms ms"
pport=$(localport "$T/plain.err")

out=$(py_client --port "$P" --src 127.0.0.2 --tls --sni "app.$DOMAIN" \
    --ca "$PKI/ca.pem" --alpn echo/1 --send 'python tls\n' \
    2>"$T/py.err") || fail "the Python TLS client failed: $(cat "$T/py.err")"
assert_eq "echo: python tls" "$out" "answer to the Python TLS client"
grep -qx "alpn echo/1" "$T/py.err" ||
    fail "echo/1 was not negotiated: $(cat "$T/py.err")"
tport=$(localport "$T/py.err")

out=$(tls_line "$P" "app.$DOMAIN" "openssl tls" -bind 127.0.0.2:0) ||
    fail "s_client failed: $(cat "$T/s_client.err")"
assert_eq "echo: openssl tls" "$out" "answer to s_client"

wait_conns echo 3
conns echo
H="^peer=127\\.0\\.0\\.1:[0-9]+ proxy=v2 cmd=1 family=11"
D="dst=127\\.0\\.0\\.1:$P"
grep -Eq "$H src=127\\.0\\.0\\.2:$pport $D\$" "$T/b/echo/conns" ||
    fail "no v2 header without TLVs for the plain client"
grep -Eq "$H src=127\\.0\\.0\\.2:$tport $D( |\$)" "$T/b/echo/conns" ||
    fail "no v2 header for the Python TLS client"
tls=$(grep " src=127\\.0\\.0\\.2:$tport " "$T/b/echo/conns")
for want in "authority=app\\.$DOMAIN" "alpn=echo/1" \
    "ssl=client:[0-9]*[13579],verify:[0-9]+" "ssl_version=TLSv1\\.[23]" \
    "ssl_cipher=[A-Z0-9_-]+"; do
	echo "$tls" | grep -Eq " $want( |\$)" ||
	    fail "the TLS client's header lacks $want: $tls"
done
assert_eq 2 "$(grep -c "authority=app\\.$DOMAIN" "$T/b/echo/conns")" \
    "headers with the AUTHORITY TLV"

L=127\\.0\\.0\\.1:$P
line() {
	conn_from "127\\.0\\.0\\.2:$1" "$L" "$2" "$3" \
	    "127\\.0\\.0\\.1:$(port echo)" "$4"
}
expect_log "$(line "$pport" "$(rule_re "default forward")" unknown eof)"
expect_log "$(line "$tport" "$(rule_re "match tls terminate")" \
    "tls sni=app\\.example\\.com alpn=echo/1( [a-z]+=[^ ]*)*" \
    "(eof|reset)")"
