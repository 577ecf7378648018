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
# timeout 60
#
# A table server given by host name is resolved by the parent at every
# reload, and the children, which cannot resolve anything, get the
# answer with the configuration.
#
# client:	curl, before and after the reloads
# sniproxyd:	table <web> { localhost port N }; match tls sni "web..."
#		forward to <web>; 10 sniproxyctl reloads
# servers:	openssl s_server "web"
# expect:	every reload status 0, generation 11 current, no "reload
#		failed"; curl answered by web after the last one

. "$TOP/regress/load.sh"

backend web
P=$(free_port)

conf <<EOF2
table <web> { localhost port $(port web) }
listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
}
EOF2
start_daemon "$P"
body=$(fetch "web.$DOMAIN" "$P") || fail "curl before the reloads failed"
assert_eq "backend web" "$body" "answer before the reloads"
i=1
while [ "$i" -le 10 ]; do
	ctl reload >"$T/ctl.out" 2>&1 ||
	    fail "sniproxyctl reload $i: $(cat "$T/ctl.out")"
	i=$((i + 1))
done
expect_log "configuration reloaded, generation 11"
assert_log_lacks "reload failed"
# Until then the client would wait in the listener's queue.
wait_log "generation 11 is up" 30 ||
    fail "generation 11 is not up: $(log_since_mark | tail -n 3)"
body=$(fetch "web.$DOMAIN" "$P") || fail "curl after the reloads failed"
assert_eq "backend web" "$body" "answer after the reloads"
