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
# Three backends chosen by exact SNI, and a fourth name that goes to the
# default.
#
# client:	curl, once per name
# sniproxyd:	three "match tls sni", one "default"
# servers:	four openssl s_server, each answering with its own name
# expect:	every name answered by its backend; one log line each with
#		the SNI, the rule's file:line and the backend's address

backend one
backend two
backend three
backend dflt
P=$(free_port)

conf <<EOF
table <one> { 127.0.0.1 port $(port one) }
table <two> { 127.0.0.1 port $(port two) }
table <three> { 127.0.0.1 port $(port three) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	match tls sni "one.$DOMAIN" forward to <one>
	match tls sni "two.$DOMAIN" forward to <two>
	match tls sni "three.$DOMAIN" forward to <three>
	default forward to <dflt>
}
EOF
start_daemon "$P"

for b in one two three; do
	body=$(fetch "$b.$DOMAIN" "$P") || fail "curl for $b.$DOMAIN failed"
	assert_eq "backend $b" "$body" "answer for $b.$DOMAIN"
done
body=$(fetch "four.$DOMAIN" "$P") || fail "curl for four.$DOMAIN failed"
assert_eq "backend dflt" "$body" "answer for four.$DOMAIN"

L=127\.0\.0\.1:$P
for b in one two three; do
	expect_log "$(conn_line "$L" "$(rule_re "\"$b.$DOMAIN\"")" \
	    "$(tls_sni "$b.$DOMAIN")" "127\.0\.0\.1:$(port "$b")" "$FETCH_END")"
done
expect_log "$(conn_line "$L" "$(rule_re "default forward")" \
    "$(tls_sni "four.$DOMAIN")" "127\.0\.0\.1:$(port dflt)" "$FETCH_END")"
# Both directions carried the TLS handshake at least.
assert_log_lacks " up 0 down| down 0 time"
