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
# A block rule fails closed: a name written another way (case, one
# trailing dot) is the same name, and a hello that cannot be read
# (over the 16 KiB looked at, malformed, cut short) never falls through
# to the default, unless a "match invalid" rule takes it.
#
# client:	a Python program sending ClientHellos of its own making:
#		for "admin.example.com." and "ADMIN.Example.COM", one of
#		17 KB (whole, and its first 5000 bytes) and one of 15 KB
#		for admin.example.com, one with an empty label, one cut
#		short and held until the inspect timeout; one for
#		other.example.com; an HTTP request with
#		"Host: admin.example.com."; the 17 KB hello again to a
#		listener with "match invalid"
# sniproxyd:	listener 1: match tls sni "admin.example.com" block,
#		match http host "admin.example.com" block, default
#		forward to <dflt>; listener 2: the same block rule, match
#		invalid forward to <inv>, default forward to <dflt>;
#		timeout inspect 2s
# servers:	Python line servers "dflt" and "inv"
# expect:	every hello for admin is closed by sniproxyd and logged
#		"end blocked" or "rule none invalid ... end invalid"; only
#		other.example.com reaches dflt; the 17 KB hello on
#		listener 2 reaches inv

. "$TOP/regress/peers.sh"

py_server dflt
py_server inv
P1=$(free_port)
P2=$(free_port)

conf <<EOF
timeout inspect 2s
table <dflt> { 127.0.0.1 port $(port dflt) }
table <inv> { 127.0.0.1 port $(port inv) }

listen on 127.0.0.1 port $P1 {
	match tls sni "admin.$DOMAIN" block
	match http host "admin.$DOMAIN" block
	default forward to <dflt>
}
listen on 127.0.0.1 port $P2 {
	match tls sni "admin.$DOMAIN" block
	match invalid forward to <inv>
	default forward to <dflt>
}
EOF
start_daemon "$P1" "$P2"

cat >"$T/hellos.py" <<'EOF'
import os, socket, struct, sys, time

p1, p2 = int(sys.argv[1]), int(sys.argv[2])

def u16(b):
    return struct.pack(">H", len(b)) + b

def hello(name, size=0):
    n = name.encode()
    ext = struct.pack(">H", 0) + u16(u16(b"\x00" + u16(n)))
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + u16(b"\x13\x01") +
            b"\x01\x00")
    pad = size - len(body) - len(ext) - 2 - 4 - 4 if size else -1
    if pad >= 0:
        ext += struct.pack(">H", 21) + u16(bytes(pad))
    hs = b"\x01" + len(body + u16(ext)).to_bytes(3, "big") + body + u16(ext)
    return b"".join(b"\x16\x03\x01" + u16(hs[i:i + 16384])
                    for i in range(0, len(hs), 16384))

admin = "admin.example.com"
http = b"GET / HTTP/1.1\r\nHost: admin.example.com.\r\n\r\n"
# (name, port, bytes): each must be closed by sniproxyd, unanswered.
tests = [
    ("trailing dot", p1, hello(admin + ".")),
    ("upper case", p1, hello(admin.upper())),
    ("17 KB", p1, hello(admin, 17000)),
    ("15 KB", p1, hello(admin, 15000)),
    ("empty label", p1, hello("admin..example.com")),
    ("cut short", p1, hello(admin)[:60]),
    ("http trailing dot", p1, http),
    ("first 5000 bytes of 17 KB", p1, hello(admin + ".", 17000)[:5000]),
]
bad = 0
for name, port, data in tests:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    try:
        s.sendall(data)
    except OSError:
        pass
    s.settimeout(4)
    got = b""
    try:
        while True:
            d = s.recv(4096)
            if not d:
                break
            got += d
        closed = True
    except socket.timeout:
        closed = False
    except OSError:
        closed = True
    s.close()
    ok = closed and not got
    bad += not ok
    print("%s: %s after %d ms, %d bytes back%s" % (name,
          "closed" if closed else "open",
          (time.monotonic() - t0) * 1000, len(got), "" if ok else ", WRONG"))

# What the others are measured against: a hello for another name.
for port, data in ((p1, hello("other.example.com")),
                   (p2, hello(admin, 17000))):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    s.close()
sys.exit(1 if bad else 0)
EOF
timeout 60 python3 "$T/hellos.py" "$P1" "$P2" >"$T/hellos.out" 2>&1 ||
    fail "hellos: $(grep -E 'WRONG|Error' "$T/hellos.out" | head -n 3)"
cat "$T/hellos.out"

wait_conns dflt 1
wait_conns inv 1
# The last hellos came after every other was decided.
assert_eq 1 "$(conns dflt | wc -l)" "connections that reached dflt"
assert_eq 1 "$(conns inv | wc -l)" "connections that reached inv"

L1=127\\.0\\.0\\.1:$P1
L2=127\\.0\\.0\\.1:$P2
blocked=$(conn_line "$L1" "$(rule_re "tls sni \"admin.$DOMAIN\"")" \
    "$(tls_sni "admin.$DOMAIN")" - blocked)
expect_log_n "$blocked" 3
expect_log "$(conn_line "$L1" "$(rule_re "http host")" \
    "http host=admin\\.$DOMAIN" - blocked)"
expect_log_n "$(conn_line "$L1" none invalid - invalid)" 4
expect_log "$(conn_line "$L2" "$(rule_re "match invalid")" invalid \
    "127\\.0\\.0\\.1:$(port inv)" "[a-z]+")"
expect_log "$(conn_line "$L1" "$(rule_re "default forward")" \
    "$(tls_sni "other.$DOMAIN")" "127\\.0\\.0\\.1:$(port dflt)" "[a-z]+")"
