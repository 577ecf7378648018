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
# timeout 150
#
# Reloads in quick succession under handshake load: every connection
# is served by one generation or the next, none falls between them.
#
# client:	two loadpeer.py tlsloop at 50 TLS handshakes a second each,
#		verified and used, on the terminated route web
# sniproxyd:	prefork 2; eight passed-through routes d1 to d8 and last
#		web, terminated with keypair "site": the workers of a new
#		generation are handed to its accept process route by route,
#		so a connection for the last route is the first to notice
#		if the accept process takes connections too early; 60
#		sniproxyctl reloads 0.1 s apart
# servers:	a loadpeer.py server "web", also named by d1 to d8
# expect:	every reload status 0; no handshake fails; no connection
#		ends no-worker or otherwise than eof

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"
skip_under_valgrind "fifty reloads within the time limit of a case"

site_keypair 400
plain_backend web
P=$(free_port)

{
	echo "prefork 2"
	echo "keypair \"site\" {"
	echo "	certificate \"$K/site.crt\""
	echo "	key \"$K/site.key\""
	echo "}"
	echo "table <web> { 127.0.0.1 port $(port web) }"
	for r in 1 2 3 4 5 6 7 8; do
		echo "table <d$r> { 127.0.0.1 port $(port web) }"
	done
	echo "listen on 127.0.0.1 port $P {"
	for r in 1 2 3 4 5 6 7 8; do
		echo "	match tls sni \"d$r.$DOMAIN\" forward to <d$r>"
	done
	echo "	match tls sni \"web.$DOMAIN\" terminate tls keypair \"site\" \\"
	echo "	    forward to <web>"
	echo "}"
} | conf
start_daemon "$P"

tls_loops "$P" "web.$DOMAIN" 50
sleep 0.5
i=1
while [ "$i" -le 60 ]; do
	ctl reload >"$T/ctl.out" 2>&1 ||
	    fail "sniproxyctl reload $i: $(cat "$T/ctl.out")"
	sleep 0.1
	i=$((i + 1))
done
sleep 0.5
tls_loops_stop
expect_log "configuration reloaded, generation 61"

ok=$(grep -c ' ok ' "$T/loop.out")
bad=$(grep -c ' FAIL ' "$T/loop.out")
echo "60 reloads: $ok handshakes good, $bad failed;" \
    "$(log_count ' end no-worker$') connections ended no-worker"
[ "$ok" -ge 200 ] || fail "only $ok handshakes"
if [ "$bad" -gt 0 ]; then
	a=$(awk '$2 == "FAIL" { print $4; exit }' "$T/loop.out")
	fail "$bad of $((ok + bad)) handshakes failed; the first, from $a:" \
	    "$(grep -F " from $a " "$T/loop.out" | cut -d' ' -f5-);" \
	    "the log: $(log_since_mark | grep -F "$a on " || echo nothing);" \
	    "$(log_count ' end no-worker$') connections ended no-worker"
fi
assert_log_lacks ' end (no-worker|no-rule|reset|handshake-failed)$'
