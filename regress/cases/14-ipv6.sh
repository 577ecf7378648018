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
# IPv6 on the listener and to the backend.
#
# client:	curl to [::1]
# sniproxyd:	listen on ::1, a table with ::1
# servers:	openssl s_server "v6" on [::1]
# expect:	the answer of v6; a log line with [::1] for the client, the
#		listener and the backend

grep -q '^00000000000000000000000000000001 ' /proc/net/if_inet6 2>/dev/null ||
    skip "::1 is not configured"

backend v6 ::1
P=$(free_port)

conf <<EOF
table <v6> { ::1 port $(port v6) }

listen on ::1 port $P {
	match tls sni "v6.$DOMAIN" forward to <v6>
}
EOF
start_daemon "$P"

body=$(fetch "v6.$DOMAIN" "$P" ::1) || fail "curl for v6.$DOMAIN failed"
assert_eq "backend v6" "$body" "answer for v6.$DOMAIN"
expect_log "$(conn_line "\\[::1\\]:$P" "$(rule_re "\"v6.$DOMAIN\"")" \
    "$(tls_sni "v6.$DOMAIN")" "\\[::1\\]:$(port v6)" "$FETCH_END")"
assert_log_has '^\[::1\]:[0-9]+ on '
