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
# Plain TCP and TLS on one port, to one plaintext line server: a plain
# client that speaks first is passed through at once, a TLS client's
# session is ended here and its plaintext passed on.
#
# client:	Python plain client; openssl s_client and Python ssl, both
#		verifying the run's CA, for echo.example.com
# sniproxyd:	keypair of the run's certificate; timeout inspect 5s;
#		match tls terminate tls forward to <echo>; default forward
#		to <echo>
# servers:	Python line server "echo" (plain TCP only)
# expect:	all three get their line echoed by the same server; the
#		plain client within 2 s (not after the 5 s inspect
#		timeout); both TLS clients verify the certificate; log:
#		"unknown" by the default, "tls sni=echo.example.com" by
#		the terminating rule, all to the echo server

. "$TOP/regress/peers.sh"

py_server echo
P=$(free_port)

conf <<EOF2
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <echo> { 127.0.0.1 port $(port echo) }

listen on 127.0.0.1 port $P {
	timeout inspect 5s
	match tls terminate tls forward to <echo>
	default forward to <echo>
}
EOF2
start_daemon "$P"

out=$(py_client --port "$P" --send 'plain hello\n' 2>"$T/plain.err") ||
    fail "the plain client failed: $(cat "$T/plain.err")"
assert_eq "echo: plain hello" "$out" "answer to the plain client"
ms=$(sed -n 's/^done after \([0-9]*\) ms/\1/p' "$T/plain.err")
echo "plain client answered after $ms ms"
[ "$ms" -lt 2000 ] || fail "the plain client waited $ms ms"

out=$(tls_line "$P" "echo.$DOMAIN" "openssl hello") ||
    fail "s_client failed: $(cat "$T/s_client.err")"
assert_eq "echo: openssl hello" "$out" "answer to s_client"

out=$(py_client --port "$P" --tls --sni "echo.$DOMAIN" --ca "$PKI/ca.pem" \
    --send 'python hello\n' 2>"$T/py.err") ||
    fail "the Python TLS client failed: $(cat "$T/py.err")"
assert_eq "echo: python hello" "$out" "answer to the Python TLS client"
grep -q "^tls TLSv1\\.[23] subject $DOMAIN\$" "$T/py.err" ||
    fail "the Python client did not verify the certificate: $(cat "$T/py.err")"

wait_conns echo 3
L=127\\.0\\.0\\.1:$P
E=127\\.0\\.0\\.1:$(port echo)
expect_log "$(conn_line "$L" "$(rule_re "default forward")" unknown "$E" \
    eof)"
expect_log_n "$(conn_line "$L" "$(rule_re "terminate tls")" \
    "$(tls_sni "echo.$DOMAIN")" "$E" "(eof|reset)")" 2
