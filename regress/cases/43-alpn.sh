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
# TLS passed through by the protocols the client offers (ALPN): HTTP/2
# and HTTP/1.1 clients of one name to different servers, and a
# TLS-ALPN-01 challenge (acme-tls/1) for that name to the ACME client.
#
# client:	curl --http2 and curl --http1.1 for www.example.com;
#		openssl s_client -alpn acme-tls/1 for www.example.com
# sniproxyd:	match tls alpn "acme-tls/1", match tls sni with alpn
#		"h2", match tls alpn "http/1.1", default
# servers:	nginx with http2 ("h2"); openssl s_server "h1"; openssl
#		s_server -alpn acme-tls/1 ("acme"); s_server "dflt"
# expect:	curl --http2 speaks HTTP/2 to nginx, curl --http1.1 gets
#		h1; s_client negotiates acme-tls/1 with the acme server
#		and verifies its certificate; log classes name the first
#		protocol offered ("alpn=h2", "alpn=http/1.1",
#		"alpn=acme-tls/1"); a client offering no ALPN goes to the
#		default

. "$TOP/regress/peers.sh"

need nginx
H2=$(free_port)
nginx_start h2 "$H2" <<EOF2
http {
	access_log off;
	$(nginx_temp h2)
	server {
		listen 127.0.0.1:$H2 ssl http2;
		ssl_certificate $PKI/leaf.pem;
		ssl_certificate_key $PKI/leaf.key;
		location / {
			default_type text/plain;
			return 200 "backend h2 \$server_protocol\n";
		}
	}
}
EOF2
backend h1
tls_server acme "$PKI/leaf.pem" "$PKI/leaf.key" -alpn acme-tls/1
backend dflt
P=$(free_port)

conf <<EOF2
table <h2> { 127.0.0.1 port $H2 }
table <h1> { 127.0.0.1 port $(port h1) }
table <acme> { 127.0.0.1 port $(port acme) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	match tls alpn "acme-tls/1" forward to <acme>
	match tls sni "www.$DOMAIN" alpn "h2" forward to <h2>
	match tls alpn { "http/1.1", "spdy/3" } forward to <h1>
	default forward to <dflt>
}
EOF2
start_daemon "$P"

# shellcheck disable=SC2034
FETCH_OPTS="--http2 -o $T/body.h2 -w %{http_version}"
v=$(fetch "www.$DOMAIN" "$P") || fail "curl --http2 failed"
assert_eq 2 "$v" "HTTP version of curl --http2"
assert_eq "backend h2 HTTP/2.0" "$(cat "$T/body.h2")" "answer to curl --http2"

# shellcheck disable=SC2034
FETCH_OPTS="--http1.1 -o $T/body.h1 -w %{http_version}"
v=$(fetch "www.$DOMAIN" "$P") || fail "curl --http1.1 failed"
# s_server answers in HTTP/1.0.
assert_eq 1 "$v" "HTTP version of curl --http1.1"
assert_eq "backend h1" "$(cat "$T/body.h1")" "answer to curl --http1.1"

# shellcheck disable=SC2034
FETCH_OPTS="--http1.1 --no-alpn"
body=$(fetch "www.$DOMAIN" "$P") || fail "curl --no-alpn failed"
assert_eq "backend dflt" "$body" "answer to curl without ALPN"

timeout 10 openssl s_client -connect "127.0.0.1:$P" \
    -servername "www.$DOMAIN" -alpn acme-tls/1 -CAfile "$PKI/ca.pem" \
    -verify_return_error </dev/null >"$T/acme.out" 2>&1 ||
    fail "s_client -alpn acme-tls/1 failed: $(tail -n 5 "$T/acme.out")"
grep -q '^ALPN protocol: acme-tls/1$' "$T/acme.out" ||
    fail "acme-tls/1 was not negotiated: $(grep -i alpn "$T/acme.out")"
grep -q 'Verify return code: 0 (ok)' "$T/acme.out" ||
    fail "s_client did not verify the acme server's certificate"

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re 'alpn "h2"')" \
    "tls sni=www\\.example\\.com alpn=h2" "127\\.0\\.0\\.1:$H2" \
    "$FETCH_END")"
expect_log "$(conn_line "$L" "$(rule_re '"http/1.1"')" \
    "tls sni=www\\.example\\.com alpn=http/1\\.1" \
    "127\\.0\\.0\\.1:$(port h1)" "$FETCH_END")"
expect_log "$(conn_line "$L" "$(rule_re '"acme-tls/1"')" \
    "tls sni=www\\.example\\.com alpn=acme-tls/1" \
    "127\\.0\\.0\\.1:$(port acme)" "$FETCH_END")"
expect_log "$(conn_line "$L" "$(rule_re "default forward")" \
    "tls sni=www\\.example\\.com" "127\\.0\\.0\\.1:$(port dflt)" \
    "$FETCH_END")"
