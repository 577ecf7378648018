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
# timeout 180
#
# A hundred reloads back to back under load: no child dies, no
# connection is cut, and the processes of the old generations go.
#
# client:	two loadpeer.py tlsloop at 20 handshakes a second each on
#		the terminated route web; a loadpeer.py stream through the
#		terminated route echo, open throughout
# sniproxyd:	accept 2, prefork 2; keypair "site"; match tls sni
#		"web..." terminate tls keypair "site" forward to <web>, the
#		same for "echo" to <echo>; 100 sniproxyctl reloads, each
#		started when the one before has answered
# servers:	loadpeer.py servers "web" and "echo"
# expect:	every reload status 0; generation 101 current; no log line
#		of a child killed, exited or ended; no handshake failed; the
#		stream got every byte back; within 20 s of its end, the
#		processes below the parent are those of one generation

. "$TOP/regress/load.sh"
skip_under_valgrind "a hundred reloads within the time limit of a case"

site_keypair 500
plain_backend web
plain_backend echo
P=$(free_port)

conf <<EOF2
# Two accept processes a generation, all of which must go.
accept 2
prefork 2
keypair "site" {
	certificate "$K/site.crt"
	key "$K/site.key"
}
table <web> { 127.0.0.1 port $(port web) }
table <echo> { 127.0.0.1 port $(port echo) }
listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" terminate tls keypair "site" \\
	    forward to <web>
	match tls sni "echo.$DOMAIN" terminate tls keypair "site" \\
	    forward to <echo>
}
EOF2
start_daemon "$P"

stream_open s1 "$P" "echo.$DOMAIN"
tls_loops "$P" "web.$DOMAIN" 20
i=1
while [ "$i" -le 100 ]; do
	ctl reload >"$T/ctl.out" 2>&1 ||
	    fail "sniproxyctl reload $i: $(cat "$T/ctl.out")"
	i=$((i + 1))
done
expect_log "configuration reloaded, generation 101" 10
sleep 0.5
tls_loops_stop
stream_stop s1
echo "stream s1: $STREAMED bytes back as sent"
ok=$(grep -c ' ok ' "$T/loop.out")
bad=$(grep -c ' FAIL ' "$T/loop.out")
echo "100 reloads: $ok handshakes good, $bad failed"
[ "$ok" -ge 50 ] || fail "only $ok handshakes"
[ "$bad" -eq 0 ] || fail "$bad handshakes failed: $(grep ' FAIL ' \
    "$T/loop.out" | head -n 2)"
assert_log_lacks '(killed by signal|exited with status|ending it|fatal)'
assert_log_lacks ' end (no-worker|reset|handshake-failed)$'

# One generation left: two accept, keys and four workers.
n=0
while [ "$(children "$DAEMON_PID" | wc -w)" -ne 7 ] && [ "$n" -lt 200 ]; do
	tick
	n=$((n + 1))
done
assert_eq 7 "$(children "$DAEMON_PID" | wc -w)" \
    "processes below the parent 20 s after the last reload"
