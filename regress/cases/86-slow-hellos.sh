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
# Half-sent ClientHellos cost the accept process nothing while they
# wait (the bytes it only peeks at must not wake it again and again),
# and a hello sent a few bytes at a time is routed once it is whole.
#
# client:	a Python program holding 200 connections that each sent
#		the first 100 bytes of a ClientHello; another sending a
#		whole hello for "ok" in 20 pieces 0.1 s apart; curl with SNI
#		meanwhile
# sniproxyd:	match tls sni "ok"; timeout inspect 10s
# servers:	openssl s_server "ok"
# expect:	over 2 s with the 200 waiting, the accept process uses
#		less than 0.3 s of CPU; curl is answered in under 1 s; the
#		slow hello is logged with its name and the rule, reaching
#		ok, before the inspect timeout; once the 200 close, cut
#		short, they are logged "rule none invalid ... end invalid";
#		the same sniproxyd
#		processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

# CPU time of a process so far, in clock ticks (user and system).
cpu() {
	sed -e 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

N=200
# One accept process, whose descriptors are counted.
hostile_start 10s "accept 1" <<EOF2
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2
accept_proc

cat >"$T/slow.py" <<'EOF2'
import os, socket, ssl, sys, time

port, n, name, state = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]

out = ssl.MemoryBIO()
tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out,
                                            server_hostname=name)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
assert hello[0] == 22, "no ClientHello"

if sys.argv[5] == "trickle":
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    print("local %d" % s.getsockname()[1], flush=True)
    step = (len(hello) + 19) // 20
    for i in range(0, len(hello), step):
        s.sendall(hello[i:i + step])
        time.sleep(0.1)
    s.settimeout(5)
    try:
        s.recv(1)
    except OSError:
        pass
    sys.exit(0)

held = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(hello[:100])
    held.append(s)
with open(state + ".tmp", "w") as f:
    f.write("%d\n" % len(held))
os.rename(state + ".tmp", state)
while not os.path.exists(state + ".done"):
    time.sleep(0.1)
for s in held:
    s.close()
EOF2
python3 "$T/slow.py" "$P" "$N" "ok.$DOMAIN" "$T/held" hold \
    >"$T/hold.out" 2>&1 &
hold=$!
track "$hold"
wait_ready "$T/held" "$hold" "$T/hold.out" "the waiting clients" \
    "$N half hellos not sent in 30 s"

python3 "$T/slow.py" "$P" 1 "ok.$DOMAIN" - trickle >"$T/trickle.out" 2>&1 &
trickle=$!
track "$trickle"
c0=$(cpu "$acc")
t0=$(now_ms)
# shellcheck disable=SC2034
FETCH_OPTS="-o $T/body -w %{time_total}"
total=$(fetch "ok.$DOMAIN" "$P") || fail "curl beside the half hellos failed"
assert_eq "backend ok" "$(cat "$T/body")" "answer beside the half hellos"
echo "curl beside $N half hellos took $total s"
awk -v t="$total" 'BEGIN { exit !(t < 1) }' ||
    fail "curl took $total s beside $N half hellos"
while [ $(($(now_ms) - t0)) -lt 2000 ]; do
	tick
done
used=$(($(cpu "$acc") - c0))
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)
echo "the accept process used $used ticks of CPU in 2 s (at $hz a second)"
[ $((used * 10)) -lt $((hz * 3)) ] ||
    fail "the accept process used $used ticks of CPU in 2 s with $N" \
    "half hellos waiting"

wait_exit "$trickle" 10 || fail "the slow hello: $(cat "$T/trickle.out")"
lport=$(sed -n 's/^local \([0-9]*\)$/\1/p' "$T/trickle.out")
[ -n "$lport" ] || fail "the slow hello: $(cat "$T/trickle.out")"
L=127\\.0\\.0\\.1:$P
line="^127\\.0\\.0\\.1:$lport on $L rule $(rule_re "\"ok.$DOMAIN\"") $(tls_sni \
    "ok.$DOMAIN") to 127\\.0\\.0\\.1:$(port ok) up [0-9]+ down [0-9]+ time"
line="$line [0-9.]+ end [a-z-]+\$"
expect_log "$line"
slow=$(log_since_mark | grep -E -- "$line" |
    sed -n 's/.* time \([0-9.]*\) end .*/\1/p')
echo "the slow hello was routed; its connection lasted $slow s"
awk -v t="$slow" 'BEGIN { exit !(t < 9) }' ||
    fail "the slow hello was routed only after $slow s"

: >"$T/held.done"
wait_exit "$hold" 10 || fail "the waiting clients: $(cat "$T/hold.out")"
n=50
while [ "$(log_count "$(conn_line "$L" none invalid - invalid)")" \
    -lt "$N" ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "$(conn_line "$L" none \
	    invalid - invalid)") half hellos logged, not $N"
	tick
	n=$((n - 1))
done
# shellcheck disable=SC2034
FETCH_OPTS=
ok_answers "after the half hellos"
same_procs "$before"
