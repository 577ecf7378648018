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
# A payload regex costs the accept process a bounded time, whatever
# the pattern and the input: clients feeding the worst input to
# catastrophically backtracking patterns do not keep a client of
# another listener waiting; a match that reaches the limits is
# undecided for good, and closed as invalid.
#
# client:	a Python program: 30 clients to listener 1, each sending
#		16 KB of "a" then "xbc" in one write, then waiting;
#		while they do, a client to listener 2 sends "PING"
# sniproxyd:	listener 1: match payload regex "(a|aa)*b" block, match
#		payload regex "(a+)+c" forward to <dflt>; listener 2: match payload "PING" forward to
#		<pong>
# servers:	Python line servers "pong" and "dflt"
# expect:	the PING client is answered within 2 s; no attacker
#		reaches dflt; every one is closed and logged "end
#		invalid", or "end no-rule" if its bytes came in two
#		parts, and at least one "end invalid"

skip_under_valgrind "30 clients against a regex"

. "$TOP/regress/peers.sh"

py_server pong
py_server dflt
P1=$(free_port)
P2=$(free_port)

conf <<EOF
table <pong> { 127.0.0.1 port $(port pong) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P1 {
	match payload regex "(a|aa)*b" block
	match payload regex "(a+)+c" forward to <dflt>
}
listen on 127.0.0.1 port $P2 {
	match payload "PING" forward to <pong>
}
EOF
start_daemon "$P1" "$P2"

cat >"$T/flood.py" <<'EOF'
import socket, sys, threading, time

p1, p2 = int(sys.argv[1]), int(sys.argv[2])
evil = b"a" * 16000 + b"xbc"

def attacker():
    try:
        s = socket.create_connection(("127.0.0.1", p1), timeout=10)
        s.sendall(evil)
        s.settimeout(10)
        while s.recv(4096):
            pass
    except OSError:
        pass

threads = [threading.Thread(target=attacker) for _ in range(30)]
for t in threads:
    t.start()
time.sleep(0.2)
t0 = time.monotonic()
s = socket.create_connection(("127.0.0.1", p2), timeout=10)
s.sendall(b"PING\n")
line = s.makefile("rb").readline().decode().strip()
ms = (time.monotonic() - t0) * 1000
s.close()
for t in threads:
    t.join(20)
print("answer %r after %d ms" % (line, ms))
sys.exit(0 if line == "pong: PING" and ms < 2000 else 1)
EOF
timeout 60 python3 "$T/flood.py" "$P1" "$P2" >"$T/flood.out" 2>&1 ||
    fail "the client of listener 2: $(tail -n 1 "$T/flood.out")"
cat "$T/flood.out"

assert_eq 0 "$(conns dflt | wc -l)" "attackers that reached dflt"
L1=127\\.0\\.0\\.1:$P1
expect_log_n "^127\\.0\\.0\\.1:[0-9]+ on $L1 rule .* end (invalid|no-rule)\$" \
    30 10
assert_log_has "^127\\.0\\.0\\.1:[0-9]+ on $L1 rule none invalid .* end invalid\$"
