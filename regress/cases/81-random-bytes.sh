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
# A thousand connections of random bytes: each is closed by sniproxyd
# and logged, and nothing else changes.
#
# client:	a Python program making 1,000 connections one after the
#		other, each sending 1 to 2,048 random bytes (from a seed it
#		prints), then half of them shutting down their side; each
#		waits up to 5 s for sniproxyd to close it
# sniproxyd:	match tls sni, match ssh, match http host, match openvpn,
#		no default; timeout inspect 2s
# servers:	openssl s_server "ok"
# expect:	sniproxyd closes all 1,000 (none left to the client's
#		timeout); 1,000 lines "rule none ... to - ... end no-rule";
#		curl with SNI is answered before and after; the same
#		sniproxyd processes from start to end, and the accept
#		process back to the descriptors it had

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

N=1000
# One accept process, whose descriptors are counted.
hostile_start 2s "accept 1" <<EOF
match tls sni "ok.$DOMAIN" forward to <ok>
match ssh forward to <ok>
match http host "ok.$DOMAIN" forward to <ok>
match openvpn forward to <ok>
EOF
accept_proc
ok_answers "before the noise"
base=$(nfds "$acc")

cat >"$T/noise.py" <<'EOF'
import os, random, socket, sys, time

port, n = int(sys.argv[1]), int(sys.argv[2])
seed = int.from_bytes(os.urandom(4), "big")
print("seed %d" % seed)
rnd = random.Random(seed)
closed = waited = 0
t0 = time.monotonic()
for i in range(n):
    data = bytes(rnd.getrandbits(8) for _ in range(rnd.randint(1, 2048)))
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        s.sendall(data)
        if i % 2:
            s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        closed += 1
    except socket.timeout:
        waited += 1
        print("connection %d still open after 5 s: %s" %
              (i, data[:16].hex()))
    except OSError:
        # Reset, or not connected any more: closed all the same.
        closed += 1
    s.close()
print("%d closed by sniproxyd, %d not, in %.1f s" %
      (closed, waited, time.monotonic() - t0))
sys.exit(0 if closed == n else 1)
EOF
timeout 100 python3 "$T/noise.py" "$P" "$N" >"$T/noise.out" 2>&1 ||
    fail "random clients: $(tail -n 5 "$T/noise.out")"
cat "$T/noise.out"

L=127\\.0\\.0\\.1:$P
line=$(conn_line "$L" none "(unknown|eof|timeout)" - no-rule)
n=50
while [ "$(log_count "$line")" -lt "$N" ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "$line") random clients logged," \
	    "not $N"
	tick
	n=$((n - 1))
done
assert_eq "$N" "$(log_count " on $L rule none ")" "connections without a rule"

ok_answers "after the noise"
ok_logged
same_procs "$before"
fds_back "$base" noise
