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
# timeout 90
#
# An idle terminated TLS connection costs its worker little: the relay
# buffers are taken while bytes flow and given back when a direction
# has nothing in hand, so that clients holding many connections open
# cost only what libtls keeps for each.  Measured, not timed: the
# growth of the worker's resident memory over many idle connections.
#
# client:	Python, N terminated TLS connections, each exchanging one
#		line and then held open, idle
# sniproxyd:	prefork 1; match tls sni "idle.example.com" terminate tls
#		forward to <lines>
# servers:	Python line server "lines"
# expect:	every connection answered; the TLS worker's VmRSS grows by
#		less than 40 KB a connection from one connection to N

. "$TOP/regress/peers.sh"
need python3
skip_under_valgrind "valgrind's memory is not the worker's"
skip_if_sanitized "its allocator keeps what is freed"

N=200
# Measured: 58 KB a connection with the buffers held for good, 25 KB
# with them given back (what libtls keeps, and the sockets): the limit
# lies between, with room for another libtls.
LIMIT=40

py_server lines
P=$(free_port)

conf <<EOF
prefork 1
maxconn per source 1000
$(keypair_conf idle "$PKI/leaf.pem" "$PKI/leaf.key")
table <lines> { 127.0.0.1 port $(port lines) }

listen on 127.0.0.1 port $P {
	match tls sni "idle.$DOMAIN" terminate tls keypair "idle" \\
	    forward to <lines>
}
EOF
start_daemon "$P"
W=$(procs_titled "$DAEMON_PID" "route lines")
[ -n "$W" ] || fail "no TLS worker"

rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$W/status"
}

# Opens $1 connections, each answered once, says "open M" with M the
# count and waits for its standard input to close, at most 60 s.
cat >"$T/hold.py" <<'EOF'
import select, socket, ssl, sys
n, port, ca, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    t = ctx.wrap_socket(s, server_hostname=name)
    t.sendall(b"hello %d\n" % i)
    line = b""
    while not line.endswith(b"\n"):
        b = t.recv(100)
        if not b:
            break
        line += b
    if not line.endswith(b"hello %d\n" % i):
        print("bad answer %r" % line, flush=True)
        sys.exit(1)
    held.append(t)
print("open %d" % len(held), flush=True)
select.select([sys.stdin], [], [], 60)
EOF

# hold COUNT: starts the client on a fifo; its first line in $T/hold.out.
hold() {
	rm -f "$T/in" "$T/hold.out"
	mkfifo "$T/in" || fail "cannot make a fifo"
	python3 "$T/hold.py" "$1" "$P" "$PKI/ca.pem" "idle.$DOMAIN" \
	    <"$T/in" >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	track "$HOLD_PID"
	exec 3>"$T/in"
	_n=400
	until grep -q '^open\|bad\|Error' "$T/hold.out" 2>/dev/null; do
		[ "$_n" -gt 0 ] || fail "the client did not open $1 connections"
		tick
		_n=$((_n - 1))
	done
	grep -q "^open $1\$" "$T/hold.out" || fail "client: $(cat "$T/hold.out")"
}

release() {
	exec 3>&-
	wait_exit "$HOLD_PID" 10 || fail "the client did not end"
}

# One connection first: libtls and the server context are set up.
hold 1
base=$(rss)
release
hold "$N"
sleep 1
full=$(rss)
release
per=$(((full - base) / (N - 1)))
echo "worker VmRSS: $base KB, $full KB with $N idle: $per KB each"
[ "$per" -lt "$LIMIT" ] ||
    fail "an idle terminated connection costs $per KB, not under $LIMIT KB"
