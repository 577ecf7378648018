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
# A backend that refuses: the client is closed at once when it was the
# only server, and the next server is tried when there is one.
#
# client:	curl for dead.example.com, then pair.example.com 4 times
# sniproxyd:	<dead> has one server, a closed port; <pair> has a closed
#		port first and a live server second; timeout connect 5s
# servers:	openssl s_server "alive"
# expect:	curl for dead fails in well under 5 s, logged "end
#		connect-failed" with no backend; every pair request is
#		answered by alive

backend alive
P=$(free_port)
DEAD=$(free_port)
DEAD2=$(free_port)

conf <<EOF
timeout connect 5s
table <dead> { 127.0.0.1 port $DEAD }
table <pair> { 127.0.0.1 port $DEAD2, 127.0.0.1 port $(port alive) }

listen on 127.0.0.1 port $P {
	match tls sni "dead.$DOMAIN" forward to <dead>
	match tls sni "pair.$DOMAIN" forward to <pair>
}
EOF
start_daemon "$P"

t0=$(now_ms)
if body=$(fetch "dead.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl for dead.$DOMAIN got an answer: $body"
fi
took=$(($(now_ms) - t0))
echo "the client of the refusing backend was closed after $took ms"
[ "$took" -lt 2000 ] ||
    fail "the client of a refusing backend was closed after $took ms"

for i in 1 2 3 4; do
	body=$(fetch "pair.$DOMAIN" "$P") ||
	    fail "curl $i for pair.$DOMAIN failed"
	assert_eq "backend alive" "$body" "answer $i for pair.$DOMAIN"
done

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "\"pair.$DOMAIN\"")" \
    "$(tls_sni "pair.$DOMAIN")" "127\\.0\\.0\\.1:$(port alive)" "$FETCH_END")"
dead=$(conn_line "$L" "$(rule_re "\"dead.$DOMAIN\"")" \
    "$(tls_sni "dead.$DOMAIN")" "([^ ]+)" connect-failed)
expect_log "$dead"
# No backend was reached, which the log says with "to -".
to=$(log_since_mark | grep -E -- "$dead" | sed -e 's/.* to \([^ ]*\) up .*/\1/')
assert_eq - "$to" "backend of the connect-failed line"
