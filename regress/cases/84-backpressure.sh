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
# A backend that accepts and never reads, and a client that pushes as
# fast as it can: sniproxyd passes the pressure back to the client
# instead of holding the bytes itself.
#
# client:	a Python program sending up to 50 MB of plain bytes, and
#		giving up when a send has not moved for 3 s; it holds the
#		connection open until stopped
# sniproxyd:	match tls sni "ok", default forward to <sink>
# servers:	a Python "sink" that accepts and never reads; openssl
#		s_server "ok"
# expect:	the client is blocked well before 50 MB; the resident
#		memory of all sniproxyd processes together (from /proc) has
#		grown by less than 4 MB meanwhile; once client and sink are
#		gone the connection is logged "unknown to SINK"; curl with
#		SNI is answered before and after; the same sniproxyd
#		processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

# Resident memory of every sniproxyd process together, in kB.
rss() {
	for _p in "$DAEMON_PID" $(children "$DAEMON_PID"); do
		awk '$1 == "VmRSS:" { print $2 }' "/proc/$_p/status"
	done | awk '{ n += $1 } END { print n + 0 }'
}

MAX=$((50 * 1024 * 1024))
mkdir -p "$T/b/sink" || fail "cannot make $T/b/sink"

cat >"$T/sink.py" <<'EOF'
import os, socket, sys, time

d = sys.argv[1]
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
with open(d + "/port.tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(d + "/port.tmp", d + "/port")
c, _ = s.accept()
print("accepted, reading nothing", flush=True)
time.sleep(60)
EOF
python3 "$T/sink.py" "$T/b/sink" >"$T/b/sink/log" 2>&1 &
echo "$!" >"$T/b/sink/pid"
track "$!"
n=50
until [ -f "$T/b/sink/port" ]; do
	[ "$n" -gt 0 ] || fail "the sink does not listen: $(cat "$T/b/sink/log")"
	tick
	n=$((n - 1))
done

hostile_start 2s "table <sink> { 127.0.0.1 port $(port sink) }" <<EOF
match tls sni "ok.$DOMAIN" forward to <ok>
default forward to <sink>
EOF
ok_answers "before the push"
rss0=$(rss)
[ "$rss0" -gt 0 ] || fail "cannot read the memory of sniproxyd's processes"

cat >"$T/push.py" <<'EOF'
import os, socket, sys, time

port, most, state = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.settimeout(3)
chunk = b"push " * 13107
sent = 0
t0 = time.monotonic()
try:
    while sent < most:
        sent += s.send(chunk[:most - sent])
except socket.timeout:
    pass
with open(state + ".tmp", "w") as f:
    f.write("%d %.1f\n" % (sent, time.monotonic() - t0 - 3))
os.rename(state + ".tmp", state)
time.sleep(60)
EOF
python3 "$T/push.py" "$P" "$MAX" "$T/pushed" >"$T/push.log" 2>&1 &
push=$!
track "$push"
wait_ready "$T/pushed" "$push" "$T/push.log" "the client" \
    "the client neither sent 50 MB nor blocked in 30 s"
read -r sent secs <"$T/pushed"
rss1=$(rss)
echo "the client sent $sent bytes in $secs s before it blocked;" \
    "sniproxyd's memory: $rss0 kB before, $rss1 kB now"
[ "$sent" -lt "$MAX" ] ||
    fail "the client sent all $MAX bytes to a backend that reads nothing"
grep -q accepted "$T/b/sink/log" || fail "the connection never reached the sink"
[ $((rss1 - rss0)) -lt 4096 ] ||
    fail "sniproxyd's memory grew by $((rss1 - rss0)) kB while blocked"

kill "$push"
kill "$(pid_of sink)"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "default forward")" \
    unknown "127\\.0\\.0\\.1:$(port sink)" "[a-z-]+")" 10
ok_answers "after the push"
same_procs "$before"
