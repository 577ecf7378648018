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
# TLS toward the backend, verified: "forward with tls" re-encrypts a
# terminated session or a plain client's bytes to a real TLS server,
# checks its certificate against "tls ca" and the client's name (or
# "tls servername"), and refuses a backend with a certificate for
# another name or from another CA.
#
# client:	curl over TLS for good, name, ca and alias.example.com;
#		curl over plain HTTP for good and ca.example.com
# sniproxyd:	keypair of the run's certificate; terminate tls and
#		forward with tls ... tls ca (the run's CA) to three
#		tables; one rule with tls servername; two match http
#		rules with forward with tls
# servers:	openssl s_server "good" (the run's certificate,
#		*.example.com), "wrongname" (a certificate of the run's
#		CA for other.test only), "wrongca" (self-signed, for
#		*.example.com)
# expect:	good and alias answered through TLS to their servers,
#		plain HTTP for good too (the name from its Host); name and
#		ca refused: curl gets no answer, the log says "end
#		backend-tls-failed" and why, with the client's address

. "$TOP/regress/peers.sh"

tls_server good "$PKI/leaf.pem" "$PKI/leaf.key"
cert_make othername other.test
tls_server wrongname "$T/pki/othername.pem" "$T/pki/othername.key"
cert_make selfsigned "www.$DOMAIN" "DNS:$DOMAIN, DNS:*.$DOMAIN" self
tls_server wrongca "$T/pki/selfsigned.pem" "$T/pki/selfsigned.key"
if ! mkdir -p "$T/etc" || ! cp "$PKI/ca.pem" "$T/etc/ca.pem"; then
	fail "cannot copy the CA"
fi
CA=$T/etc/ca.pem
P=$(free_port)

conf <<EOF2
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <good> { 127.0.0.1 port $(port good) }
table <wrongname> { 127.0.0.1 port $(port wrongname) }
table <wrongca> { 127.0.0.1 port $(port wrongca) }

listen on 127.0.0.1 port $P {
	match tls sni "good.$DOMAIN" terminate tls \\
	    forward with tls to <good> tls ca "$CA"
	match tls sni "name.$DOMAIN" terminate tls \\
	    forward with tls to <wrongname> tls ca "$CA"
	match tls sni "ca.$DOMAIN" terminate tls \\
	    forward with tls to <wrongca> tls ca "$CA"
	match tls sni "alias.$DOMAIN" terminate tls \\
	    forward with tls to <wrongname> tls ca "$CA" \\
	    tls servername "other.test"
	match http host "good.$DOMAIN" forward with tls to <good> tls ca "$CA"
	match http host "ca.$DOMAIN" forward with tls to <wrongca> tls ca "$CA"
}
EOF2
start_daemon "$P"

body=$(fetch "good.$DOMAIN" "$P") || fail "curl for good.$DOMAIN failed"
assert_eq "backend good" "$body" "answer for good.$DOMAIN"
body=$(fetch "alias.$DOMAIN" "$P") || fail "curl for alias.$DOMAIN failed"
assert_eq "backend wrongname" "$body" "answer for alias.$DOMAIN"
body=$(curl -sS --noproxy '*' --max-time 10 \
    --resolve "good.$DOMAIN:$P:127.0.0.1" "http://good.$DOMAIN:$P/whoami" \
    2>"$T/curl.err") || fail "plain curl for good.$DOMAIN failed:" \
    "$(cat "$T/curl.err")"
assert_eq "backend good" "$body" "answer over plain HTTP for good.$DOMAIN"

for n in name ca; do
	if body=$(fetch "$n.$DOMAIN" "$P" 2>"$T/curl.$n"); then
		fail "curl for $n.$DOMAIN got an answer: $body"
	fi
done
if body=$(curl -sS --noproxy '*' --max-time 10 \
    --resolve "ca.$DOMAIN:$P:127.0.0.1" "http://ca.$DOMAIN:$P/whoami" \
    2>"$T/curl.plainca"); then
	fail "plain curl for ca.$DOMAIN got an answer: $body"
fi

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "\"good.$DOMAIN\" terminate")" \
    "$(tls_sni "good.$DOMAIN")" "127\\.0\\.0\\.1:$(port good)" "(eof|reset)")"
expect_log "$(conn_line "$L" "$(rule_re "\"alias.$DOMAIN\" terminate")" \
    "$(tls_sni "alias.$DOMAIN")" "127\\.0\\.0\\.1:$(port wrongname)" \
    "(eof|reset)")"
expect_log "$(conn_line "$L" "$(rule_re "http host \"good.$DOMAIN\"")" \
    "http host=good\\.example\\.com" "127\\.0\\.0\\.1:$(port good)" \
    "(eof|reset)")"
expect_log "$(conn_line "$L" "$(rule_re "\"name.$DOMAIN\" terminate")" \
    "$(tls_sni "name.$DOMAIN")" "127\\.0\\.0\\.1:$(port wrongname)" \
    backend-tls-failed)"
expect_log "$(conn_line "$L" "$(rule_re "\"ca.$DOMAIN\" terminate")" \
    "$(tls_sni "ca.$DOMAIN")" "127\\.0\\.0\\.1:$(port wrongca)" \
    backend-tls-failed)"
expect_log "$(conn_line "$L" "$(rule_re "http host \"ca.$DOMAIN\"")" \
    "http host=ca\\.example\\.com" "127\\.0\\.0\\.1:$(port wrongca)" \
    backend-tls-failed)"
# Why, with the client's address.
W=": TLS handshake with server 127\\.0\\.0\\.1"
expect_log "^127\\.0\\.0\\.1:[0-9]+$W:$(port wrongname) failed: .*name"
F=" failed: .*(verif|self)"
expect_log_n "^127\\.0\\.0\\.1:[0-9]+$W:$(port wrongca)$F" 2
assert_log_lacks "backend-tls-failed.*(good|alias)\\.example"
