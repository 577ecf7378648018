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
# Thousands of clients that connect and say nothing do not hold up a
# TLS client, and leave sniproxyd as it was.
#
# client:	a Python program holding N silent connections (10,000, or
#		fewer where the descriptor limit is lower); curl with SNI
#		before them, and while all of them are held
# sniproxyd:	maxconn and maxconn per source 2 N, timeout inspect 10s,
#		match tls sni, no default
# servers:	openssl s_server "ok"
# expect:	the accept process holds all N; curl is answered in well
#		under 1 s (not after the 10 s inspect timeout) and they are
#		all still held after it; once the timeout has passed sniproxyd
#		has closed every one, each logged "rule none timeout ...
#		end no-rule"; curl is answered again; the same sniproxyd
#		processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

N=10000
# ulimit -H and -S are not POSIX, but every sh that runs these has them.
# shellcheck disable=SC3045
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((N + 100)) ]; then
	N=$((hard - 100))
	[ "$N" -ge 500 ] || skip "the descriptor limit ($hard) is too low"
fi
# shellcheck disable=SC3045
ulimit -Sn $((N + 100)) 2>/dev/null || ulimit -Sn "$hard" ||
    skip "cannot raise the descriptor limit to $((N + 100))"

# One accept process, whose descriptors count the connections held.
hostile_start 10s "accept 1" "maxconn $((2 * N))" "maxconn per source $((2 * N))" <<EOF
match tls sni "ok.$DOMAIN" forward to <ok>
EOF
accept_proc
base=$(nfds "$acc")

cat >"$T/hold.py" <<'EOF'
import os, selectors, socket, sys, time

port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.setblocking(False)
    socks.append(s)
with open(ready + ".tmp", "w") as f:
    f.write("%d\n" % len(socks))
os.rename(ready + ".tmp", ready)

# Silent until sniproxyd closes each one.
sel = selectors.DefaultSelector()
for s in socks:
    sel.register(s, selectors.EVENT_READ)
left, extra = n, 0
deadline = time.monotonic() + 60
while left and time.monotonic() < deadline:
    for key, _ in sel.select(1):
        try:
            if key.fileobj.recv(1):
                extra += 1
        except ConnectionError:
            pass
        sel.unregister(key.fileobj)
        key.fileobj.close()
        left -= 1
print("closed by sniproxyd: %d of %d, %d with bytes" % (n - left, n, extra))
sys.exit(0 if left == 0 and extra == 0 else 1)
EOF

# shellcheck disable=SC2034
FETCH_OPTS="-o $T/body -w %{time_total}"
alone=$(fetch "ok.$DOMAIN" "$P") || fail "curl alone failed"
echo "curl alone took $alone s"

t0=$(now_ms)
python3 "$T/hold.py" "$P" "$N" "$T/ready" >"$T/hold.out" 2>&1 &
hold=$!
track "$hold"
wait_ready "$T/ready" "$hold" "$T/hold.out" "the silent clients" \
    "$N silent connections not open in 30 s"
n=50
until [ "$(nfds "$acc")" -ge $((base + N)) ]; do
	[ "$n" -gt 0 ] || fail "the accept process holds $(($(nfds "$acc") -
	    base)) connections, not $N"
	tick
	n=$((n - 1))
done
echo "$N silent connections held after $(($(now_ms) - t0)) ms"

total=$(fetch "ok.$DOMAIN" "$P") || fail "curl beside the silent clients failed"
assert_eq "backend ok" "$(cat "$T/body")" "answer beside the silent clients"
echo "curl beside $N silent connections took $total s"
awk -v t="$total" 'BEGIN { exit !(t < 1) }' ||
    fail "curl took $total s beside $N silent connections"
held=$(($(nfds "$acc") - base))
[ "$held" -ge "$N" ] ||
    fail "only $held silent connections left after curl, not $N"
same_procs "$before"

# The inspect timeout closes them all.
wait_exit "$hold" 40 || fail "the silent clients: $(cat "$T/hold.out")"
cat "$T/hold.out"
L=127\\.0\\.0\\.1:$P
n=100
while [ "$(log_count "$(conn_line "$L" none timeout - no-rule)")" -lt "$N" ]
do
	[ "$n" -gt 0 ] || fail "$(log_count "$(conn_line "$L" none timeout - \
	    no-rule)") silent connections logged, not $N"
	tick
	n=$((n - 1))
done

# shellcheck disable=SC2034
FETCH_OPTS=
ok_answers "after the silent clients"
ok_logged
same_procs "$before"
fds_back "$base" "silent clients"
