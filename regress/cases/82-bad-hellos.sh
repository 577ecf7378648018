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
# timeout 120
#
# ClientHellos cut short or too big, and PROXY headers cut short or too
# big: a prefix of something good is waited for, anything that can never
# become good is closed at once, and all of it is logged.
#
# client:	a Python program; to listener 1: openssl's hello cut after
#		1 to 342 bytes, then closed; cut after 100 bytes and held;
#		a handshake claiming 16 MiB; a record of 65,535 bytes; a
#		hello of 20,000 bytes; one of 16,370 bytes in records of 100
#		bytes (more than the 16 KiB sniproxyd looks at); an SSLv2
#		hello; the whole hello in records of 1 byte.  To listener 2
#		(accept proxy): a v1 header cut short, then closed; a v1
#		line of 200 bytes; a v2 header cut short, then closed; a v2
#		header claiming 65,535 bytes; a good v1 header and a cut
#		hello, then closed; a good v2 header and a 16 MiB claim
# sniproxyd:	listener 1: match tls sni "ok", match tls sni "openssl"
#		block; listener 2: accept proxy from 127.0.0.1, the same "ok" rule;
#		timeout inspect and proxy 10s
# servers:	openssl s_server "ok"
# expect:	the cut hello held 1 s is still open; everything that
#		cannot become good closed by sniproxyd within 2 s; every
#		connection logged: "rule none invalid ... end invalid" for
#		the hellos, "rule none ... end no-rule" for SSLv2, the 1-byte
#		records "tls sni=openssl.example.com ... end blocked",
#		"end bad-proxy" for the bad headers, the good headers' client
#		addresses for what followed them; curl with SNI answered on
#		listener 1, and with a PROXY header on listener 2; the same
#		sniproxyd processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

HELLO=$TOP/regress/hellos/openssl.bin
[ -r "$HELLO" ] || fail "no $HELLO"

backend ok
P1=$(free_port)
P2=$(free_port)

conf <<EOF
table <ok> { 127.0.0.1 port $(port ok) }

listen on 127.0.0.1 port $P1 {
	timeout inspect 10s
	match tls sni "ok.$DOMAIN" forward to <ok>
	match tls sni "openssl.$DOMAIN" block
}
listen on 127.0.0.1 port $P2 accept proxy from 127.0.0.1 {
	timeout proxy 10s
	timeout inspect 10s
	match tls sni "ok.$DOMAIN" forward to <ok>
}
EOF
start_daemon "$P1" "$P2"
before=$(procs)

cat >"$T/bad.py" <<'EOF'
import socket, struct, sys, time

p1, p2 = int(sys.argv[1]), int(sys.argv[2])
hello = open(sys.argv[3], "rb").read()
assert hello[0] == 22 and len(hello) == 5 + int.from_bytes(hello[3:5], "big")
msg = hello[5:]

def rec(body):
    return b"\x16\x03\x01" + struct.pack(">H", len(body)) + body

def records(m, size):
    return b"".join(rec(m[i:i + size]) for i in range(0, len(m), size))

def handshake(n, body=b""):
    m = b"\x01" + n.to_bytes(3, "big") + body
    return m + bytes(n - len(body))

V2 = b"\r\n\r\n\x00\r\nQUIT\n"
v1good = b"PROXY TCP4 192.0.2.7 127.0.0.1 4242 443\r\n"
v2good = (V2 + b"\x21\x11" + struct.pack(">H", 12) +
          socket.inet_aton("192.0.2.8") + socket.inet_aton("127.0.0.1") +
          struct.pack(">HH", 4343, 443))
huge = rec(b"\x01\xff\xff\xff")

# (name, port, bytes, what): "close" sends then closes; "held" must
# still be open after 1 s; "shut" must be closed by sniproxyd in 2 s.
tests = [("hello cut after %d bytes" % n, p1, hello[:n], "close")
         for n in (1, 2, 3, 5, 6, 9, 10, 44, 100, 200, len(hello) - 1)]
tests += [
    ("hello cut after 100 bytes, held", p1, hello[:100], "held"),
    ("handshake of 16 MiB", p1, huge, "shut"),
    ("record of 65535 bytes", p1,
     b"\x16\x03\x01\xff\xff" + handshake(65531), "shut"),
    ("hello of 20000 bytes", p1, records(handshake(20000, msg[4:]), 16384),
     "shut"),
    ("hello past the 16 KiB looked at", p1,
     records(handshake(16370, msg[4:]), 100), "shut"),
    ("SSLv2 hello", p1, bytes.fromhex("802e0103010015000000100000040100"
                                      "80000005000002") + bytes(32), "shut"),
    ("hello in records of 1 byte", p1, records(msg, 1), "shut"),
    ("v1 header cut short", p2, v1good[:20], "close"),
    ("v1 line of 200 bytes", p2, b"PROXY TCP4 " + b"1" * 189, "shut"),
    ("v2 header cut short", p2, v2good[:14], "close"),
    ("v2 header of 65535 bytes", p2,
     V2 + b"\x21\x11\xff\xff" + bytes(1000), "shut"),
    ("good v1 header, hello cut", p2, v1good + hello[:100], "close"),
    ("good v2 header, 16 MiB handshake", p2, v2good + huge, "shut"),
]

bad = 0
for name, port, data, what in tests:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    local = s.getsockname()[1]
    t0 = time.monotonic()
    s.sendall(data)
    if what == "close":
        s.close()
        print("%d %s: %d, closed" % (1 if port == p1 else 2, name, local))
        continue
    s.settimeout(1 if what == "held" else 2)
    try:
        while s.recv(4096):
            pass
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    ms = (time.monotonic() - t0) * 1000
    s.close()
    ok = closed == (what == "shut")
    bad += not ok
    print("%d %s: %d, %s after %d ms%s" % (1 if port == p1 else 2, name, local,
          "closed by sniproxyd" if closed else "still open", ms,
          "" if ok else ", WRONG"))
sys.exit(1 if bad else 0)
EOF
timeout 60 python3 "$T/bad.py" "$P1" "$P2" "$HELLO" >"$T/bad.out" 2>&1 ||
    fail "bad clients: $(grep -E 'WRONG|Error' "$T/bad.out" | head -n 3)"
cat "$T/bad.out"

# Every bad client of listener 1 but the blocked one, and the bad
# headers of listener 2.
L1=127\\.0\\.0\\.1:$P1
L2=127\\.0\\.0\\.1:$P2
n1=$(grep -c '^1 ' "$T/bad.out")
line1=$(conn_line "$L1" none "(unknown|invalid)" - "(no-rule|invalid)")
n=50
while [ "$(log_count "$line1")" -lt $((n1 - 1)) ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "$line1") bad hellos logged" \
	    "\"rule none\", not $((n1 - 1))"
	tick
	n=$((n - 1))
done
expect_log "$(conn_line "$L1" "$(rule_re "\"openssl.$DOMAIN\"")" \
    "$(tls_sni "openssl.$DOMAIN")" - blocked)"
badproxy=$(conn_line "$L2" none "[a-z]+" - bad-proxy)
n=50
while [ "$(log_count "$badproxy")" -lt 4 ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "$badproxy") bad PROXY" \
	    "headers logged, not 4"
	tick
	n=$((n - 1))
done
# What followed a good header is logged with the header's client.
rest=" to - up 0 down 0 time [0-9.]+ end invalid\$"
expect_log "^192\\.0\\.2\\.7:4242 on $L2 rule none invalid$rest"
expect_log "^192\\.0\\.2\\.8:4343 on $L2 rule none invalid$rest"

body=$(fetch "ok.$DOMAIN" "$P1") || fail "curl after the bad hellos failed"
assert_eq "backend ok" "$body" "answer on listener 1"
# shellcheck disable=SC2034
FETCH_OPTS=--haproxy-protocol
body=$(fetch "ok.$DOMAIN" "$P2") || fail "curl with a PROXY header failed"
assert_eq "backend ok" "$body" "answer on listener 2"
expect_log "$(conn_line "$L1" "$(rule_re "\"ok.$DOMAIN\"")" \
    "$(tls_sni "ok.$DOMAIN")" "127\\.0\\.0\\.1:$(port ok)" "$FETCH_END")"
expect_log "$(conn_line "$L2" "$(re "$CONF"):$(grep -n "\"ok.$DOMAIN\"" \
    "$CONF" | tail -n 1 | cut -d: -f1)" "$(tls_sni "ok.$DOMAIN")" \
    "127\\.0\\.0\\.1:$(port ok)" "$FETCH_END")"
same_procs "$before"
