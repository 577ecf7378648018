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
# A leading "*." stands for one label or more, and names match whatever
# their case.
#
# client:	curl for a.w, a.b.w and w.example.com; openssl s_client
#		asking for A.W.EXAMPLE.COM
# sniproxyd:	match tls sni "*.w.example.com", default
# servers:	openssl s_server "wild" and "dflt"
# expect:	a.w and a.b.w answered by wild, w.example.com by dflt, the
#		upper-case name by wild; the log tells which rule took each

backend wild
backend dflt
P=$(free_port)

conf <<EOF
table <wild> { 127.0.0.1 port $(port wild) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	match tls sni "*.w.$DOMAIN" forward to <wild>
	default forward to <dflt>
}
EOF
start_daemon "$P"

for n in "a.w.$DOMAIN" "a.b.w.$DOMAIN"; do
	body=$(fetch "$n" "$P") || fail "curl for $n failed"
	assert_eq "backend wild" "$body" "answer for $n"
done
body=$(fetch "w.$DOMAIN" "$P") || fail "curl for w.$DOMAIN failed"
assert_eq "backend dflt" "$body" "answer for w.$DOMAIN"

printf 'GET /whoami HTTP/1.0\r\n\r\n' |
    timeout 10 openssl s_client -quiet -connect "127.0.0.1:$P" \
    -servername A.W.EXAMPLE.COM >"$T/upper.out" 2>"$T/upper.err"
grep -qx 'backend wild' "$T/upper.out" ||
    fail "A.W.EXAMPLE.COM was not answered by wild:" \
    "$(tail -n 1 "$T/upper.out") $(tail -n 1 "$T/upper.err")"

L=127\\.0\\.0\\.1:$P
W=$(rule_re '"*.w.')
D=$(rule_re "default forward")
to_wild=127\\.0\\.0\\.1:$(port wild)
for n in "a.w.$DOMAIN" "a.b.w.$DOMAIN"; do
	expect_log "$(conn_line "$L" "$W" "$(tls_sni "$n")" "$to_wild" \
	    "$FETCH_END")"
done
expect_log "$(conn_line "$L" "$W" \
    "tls sni=(A\\.W\\.EXAMPLE\\.COM|a\\.w\\.example\\.com)( [a-z]+=[^ ]*)*" \
    "$to_wild" "$FETCH_END")"
expect_log "$(conn_line "$L" "$D" "$(tls_sni "w.$DOMAIN")" \
    "127\\.0\\.0\\.1:$(port dflt)" "$FETCH_END")"
