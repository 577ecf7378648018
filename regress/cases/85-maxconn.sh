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
# maxconn: with the limit reached, a new connection is closed at once,
# and said once in the log for a whole burst of them; once connections
# end, new ones are served again.
#
# client:	a Python program holding 5 silent connections, then making
#		20 more one after the other, each waiting up to 2 s for
#		sniproxyd to close it; curl with SNI while the 5 are held,
#		and after they are closed
# sniproxyd:	maxconn 5, timeout inspect 30s, match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	every one of the 20 closed by sniproxyd within 1 s, without
#		a byte; one log line "maxconn reached" for the burst; curl
#		refused while the 5 are held; the 5 still open after the
#		burst; once they are closed, curl answered; the same
#		sniproxyd processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

# One accept process: it enforces the whole of maxconn.
hostile_start 30s "accept 1" "maxconn 5" <<EOF2
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2
ok_answers "before the limit"

cat >"$T/limit.py" <<'EOF2'
import os, socket, sys, time

port, state = int(sys.argv[1]), sys.argv[2]

def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True

held = [socket.create_connection(("127.0.0.1", port), timeout=5)
        for i in range(5)]
time.sleep(0.5)
refused, slow = 0, []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    t0 = time.monotonic()
    if closed(s, 2):
        refused += 1
        slow.append(time.monotonic() - t0)
    s.close()
still = sum(not closed(s, 0.01) for s in held)
print("refused %d of 20, slowest after %d ms; %d of 5 held still open" %
      (refused, max(slow, default=0) * 1000, still))
with open(state + ".tmp", "w") as f:
    f.write("%d %d %d\n" % (refused, max(slow, default=0) * 1000, still))
os.rename(state + ".tmp", state)
# Held until told to let go.
while not os.path.exists(state + ".done"):
    time.sleep(0.1)
for s in held:
    s.close()
EOF2
python3 "$T/limit.py" "$P" "$T/limit" >"$T/limit.out" 2>&1 &
lim=$!
track "$lim"
wait_ready "$T/limit" "$lim" "$T/limit.out" "the clients" \
    "the clients did not finish in 30 s"
read -r refused slowest still <"$T/limit"
cat "$T/limit.out"
assert_eq 20 "$refused" "connections over the limit closed by sniproxyd"
[ "$slowest" -lt 1000 ] ||
    fail "a connection over the limit was closed only after $slowest ms"
assert_eq 5 "$still" "held connections still open"
expect_log "maxconn reached"
assert_eq 1 "$(log_count "maxconn reached")" "log lines for the burst"
if body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl got an answer with the limit reached: $body"
fi

: >"$T/limit.done"
wait_exit "$lim" 10 || fail "the clients: $(cat "$T/limit.out")"
L=127\\.0\\.0\\.1:$P
n=50
while [ "$(log_count "$(conn_line "$L" none eof - no-rule)")" -lt 5 ]; do
	[ "$n" -gt 0 ] || fail "the 5 held connections were not logged"
	tick
	n=$((n - 1))
done
ok_answers "after the limit"
ok_logged
same_procs "$before"
