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
# A server that never answers the connect: the client's first bytes,
# sent the moment the connect was made, wait in sniproxyd until the
# connect times out, and go whole to the next server.
#
# client:	curl for pair.example.com
# sniproxyd:	<pair> mode failover: first a port whose listen queue is
#		full, so that its SYNs go unanswered, then a live server;
#		timeout connect 1s
# servers:	a Python listener (backlog 0, one connection queued and
#		never accepted); openssl s_server "alive"
# expect:	curl is answered by alive, whose handshake needs the whole
#		ClientHello, after the 1 s connect timeout; the line ends
#		with alive as the backend; the silent port still has only
#		the one connection it had

backend alive
P=$(free_port)
SILENT=$(free_port)

cat >"$T/silent.py" <<'EOF'
import socket, sys, time

port, ready = int(sys.argv[1]), sys.argv[2]
l = socket.socket()
l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind(("127.0.0.1", port))
l.listen(0)
# One connection fills a queue of length 0: SYNs are dropped from now on.
c = socket.create_connection(("127.0.0.1", port), timeout=5)
with open(ready, "w") as f:
    f.write("ready\n")
time.sleep(60)
EOF
python3 "$T/silent.py" "$SILENT" "$T/silent.ready" </dev/null \
    >"$T/silent.log" 2>&1 &
track "$!"
n=50
until [ -s "$T/silent.ready" ]; do
	[ "$n" -gt 0 ] || fail "the silent listener did not start"
	tick
	n=$((n - 1))
done
established=$(established_to "$SILENT")

conf <<EOF
timeout connect 1s
table <pair> { 127.0.0.1 port $SILENT, 127.0.0.1 port $(port alive) }

listen on 127.0.0.1 port $P {
	match tls sni "pair.$DOMAIN" forward to <pair> mode failover
}
EOF
start_daemon "$P"

t0=$(now_ms)
body=$(fetch "pair.$DOMAIN" "$P") || fail "curl for pair.$DOMAIN failed"
took=$(($(now_ms) - t0))
assert_eq "backend alive" "$body" "answer for pair.$DOMAIN"
echo "answered after $took ms"
[ "$took" -ge 900 ] ||
    fail "answered after $took ms, before the silent server's connect" \
    "timed out"

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "\"pair.$DOMAIN\"")" \
    "$(tls_sni "pair.$DOMAIN")" "127\\.0\\.0\\.1:$(port alive)" "$FETCH_END")"
assert_eq "$established" "$(established_to "$SILENT")" \
    "connections established to the silent port"
