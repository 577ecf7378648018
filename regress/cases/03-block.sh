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
# A block rule closes the connection at once.
#
# client:	curl for blocked.example.com, then ok.example.com
# sniproxyd:	match tls sni "blocked..." block, a forward for ok
# servers:	openssl s_server "ok", which the blocked client never reaches
# expect:	curl fails for the blocked name and works for the other;
#		the log says "end blocked", with no backend

backend ok
P=$(free_port)

conf <<EOF
table <ok> { 127.0.0.1 port $(port ok) }

listen on 127.0.0.1 port $P {
	match tls sni "blocked.$DOMAIN" block
	match tls sni "ok.$DOMAIN" forward to <ok>
}
EOF
start_daemon "$P"

if body=$(fetch "blocked.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl for blocked.$DOMAIN got an answer: $body"
fi
body=$(fetch "ok.$DOMAIN" "$P") || fail "curl for ok.$DOMAIN failed"
assert_eq "backend ok" "$body" "answer for ok.$DOMAIN"

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "\"blocked.$DOMAIN\" block")" \
    "$(tls_sni "blocked.$DOMAIN")" - blocked)"
expect_log "$(conn_line "$L" "$(rule_re "\"ok.$DOMAIN\"")" \
    "$(tls_sni "ok.$DOMAIN")" "127\\.0\\.0\\.1:$(port ok)" "$FETCH_END")"
