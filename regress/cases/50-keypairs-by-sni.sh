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
# Several keypairs on one terminating rule, chosen by the server name
# the client asks for; the first one for any other name and for none.
#
# client:	curl --resolve for alpha.example.com and beta.example.com,
#		verifying the run's CA; openssl s_client for another name,
#		without a name, and for the rule with a fixed keypair
# sniproxyd:	keypairs "alpha" (CN alpha.example.com) and "beta" (CN
#		beta.example.com); match tls sni "fixed.example.com"
#		terminate tls keypair "beta"; match tls terminate tls
# servers:	Python HTTP server "web" (plain)
# expect:	curl sees the subject CN=alpha.example.com for alpha and
#		CN=beta.example.com for beta, both answered by web over
#		plain HTTP; the other name and no name get alpha's
#		certificate; fixed.example.com gets beta's

. "$TOP/regress/peers.sh"

cert_make alpha "alpha.$DOMAIN"
cert_make beta "beta.$DOMAIN"
py_server web --http
P=$(free_port)

conf <<EOF2
$(keypair_conf alpha "$T/pki/alpha.pem" "$T/pki/alpha.key")
$(keypair_conf beta "$T/pki/beta.pem" "$T/pki/beta.key")
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "fixed.$DOMAIN" terminate tls keypair "beta" \\
	    forward to <web>
	match tls terminate tls forward to <web>
}
EOF2
start_daemon "$P"

for n in alpha beta; do
	body=$(curl -sS -v --noproxy '*' --max-time 10 --cacert "$PKI/ca.pem" \
	    --resolve "$n.$DOMAIN:$P:127.0.0.1" "https://$n.$DOMAIN:$P/x" \
	    2>"$T/curl.$n") || fail "curl for $n.$DOMAIN failed:" \
	    "$(grep -v '^[*<>{}] ' "$T/curl.$n" | tail -n 3)"
	assert_eq "backend web" "$body" "answer for $n.$DOMAIN"
	subj=$(sed -n 's/^\*  subject: //p' "$T/curl.$n")
	assert_eq "CN=$n.$DOMAIN" "$subj" "subject curl saw for $n.$DOMAIN"
done
for n in alpha beta; do
	grep -q "host=$n.$DOMAIN:$P\$" "$T/b/web/conns" ||
	    fail "web did not get the request for $n in the clear: $(conns web)"
done

alpha=$(openssl x509 -in "$T/pki/alpha.pem" -noout -subject |
    sed 's/^subject=//')
beta=$(openssl x509 -in "$T/pki/beta.pem" -noout -subject | sed 's/^subject=//')
assert_eq "$alpha" "$(subject_of "gamma.$DOMAIN" "$P")" \
    "certificate for gamma.$DOMAIN"
assert_eq "$alpha" "$(subject_of "" "$P")" \
    "certificate without a server name"
assert_eq "$beta" "$(subject_of "fixed.$DOMAIN" "$P")" \
    "certificate for fixed.$DOMAIN"
assert_eq "$beta" "$(subject_of "beta.$DOMAIN" "$P")" \
    "certificate for beta.$DOMAIN from s_client"

L=127\\.0\\.0\\.1:$P
R=$(rule_re "match tls terminate")
W=127\\.0\\.0\\.1:$(port web)
for n in alpha beta; do
	expect_log "$(conn_line "$L" "$R" "$(tls_sni "$n.$DOMAIN")" "$W" \
	    "(eof|reset)")"
done
expect_log "$(conn_line "$L" "$(rule_re "\"fixed.$DOMAIN\"")" \
    "$(tls_sni "fixed.$DOMAIN")" "$W" "(eof|reset)")"
