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
# The load of the reload case without any reload: concurrent TLS
# handshakes on a terminated route all succeed.  It tells a connection
# lost to a reload from one lost to the load alone.
#
# client:	two loadpeer.py tlsloop at 40 handshakes a second each, each
#		verified and used, and openssl s_client one after the other,
#		all at once for 8 s
# sniproxyd:	prefork 2; keypair "site"; match tls sni "web..." terminate
#		tls keypair "site" forward to <web>
# servers:	a loadpeer.py server "web"
# expect:	no handshake fails; every connection of the log ends "eof";
#		none is classified "eof" (closed before its first byte) or
#		ends no-rule

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

site_keypair 300
plain_backend web
P=$(free_port)

conf <<EOF2
prefork 2
keypair "site" {
	certificate "$K/site.crt"
	key "$K/site.key"
}
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" terminate tls keypair "site" \
	    forward to <web>
}
EOF2
start_daemon "$P"

tls_loops "$P" "web.$DOMAIN" 40
t0=$(now_ms)
polls=0
while [ $(($(now_ms) - t0)) -lt 8000 ]; do
	served_serial "web.$DOMAIN" "$P" >/dev/null
	polls=$((polls + 1))
done
tls_loops_stop

ok=$(grep -c ' ok ' "$T/loop.out")
bad=$(grep -c ' FAIL ' "$T/loop.out")
echo "$ok handshakes good, $bad failed, $polls openssl s_client besides"
[ "$ok" -ge 200 ] || fail "only $ok handshakes in 8 s"
if [ "$bad" -gt 0 ]; then
	a=$(awk '$2 == "FAIL" { print $4; exit }' "$T/loop.out")
	fail "$bad of $((ok + bad)) handshakes failed; the first, from $a:" \
	    "$(grep -F " from $a " "$T/loop.out" | cut -d' ' -f5-);" \
	    "the log: $(log_since_mark | grep -F "$a on " || echo nothing);" \
	    "$(log_count ' end no-rule$') connections end no-rule"
fi
assert_log_lacks ' rule none eof '
assert_log_lacks ' end (no-rule|no-worker|reset|handshake-failed)$'
