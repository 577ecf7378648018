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
# Clients that connect and reset, over and over, at every stage of a
# connection: nothing is left behind and nothing else changes.
#
# client:	a Python program resetting 500 connections (SO_LINGER 0)
#		one after the other: a third at once, a third after half a
#		ClientHello, a third after a whole one for the forwarded
#		name, 0 to 10 ms later
# sniproxyd:	prefork 2; match tls sni "ok"; timeout inspect 30s
# servers:	openssl s_server "ok"
# expect:	every connection that sent a whole hello logged with the
#		rule; the accept process and each worker back to the
#		descriptors they had within 5 s, and every connection
#		logged with the end reset, eof or connect-failed (or no-rule
#		in less than 1 s); curl with SNI answered before and after;
#		the same sniproxyd processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

# Descriptors of each process below sniproxyd, "pid count" a line.
fds() {
	for _p in $(children "$DAEMON_PID"); do
		echo "$_p $(find "/proc/$_p/fd" -mindepth 1 -maxdepth 1 \
		    2>/dev/null | wc -l)"
	done | sort -n
}

N=500
hostile_start 30s "prefork 2" <<EOF
match tls sni "ok.$DOMAIN" forward to <ok>
EOF
ok_answers "before the resets"
tick
base=$(fds)
log_mark

cat >"$T/reset.py" <<'EOF'
import random, socket, ssl, struct, sys, time

port, n, name = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

# A real ClientHello for the name, as Python's TLS would send it.
out = ssl.MemoryBIO()
tls = ssl.create_default_context().wrap_bio(ssl.MemoryBIO(), out,
                                            server_hostname=name)
try:
    tls.do_handshake()
except ssl.SSLWantReadError:
    pass
hello = out.read()
assert hello[0] == 22, "no ClientHello"

rnd = random.Random(n)
sent = [0, 0, 0]
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    k = i % 3
    try:
        if k == 1:
            s.sendall(hello[:len(hello) // 2])
        elif k == 2:
            s.sendall(hello)
        if k:
            time.sleep(rnd.random() / 100)
    except OSError:
        pass
    s.close()
    sent[k] += 1
print("reset: %d at once, %d after half a hello, %d after a hello" %
      tuple(sent))
EOF
timeout 100 python3 "$T/reset.py" "$P" "$N" "ok.$DOMAIN" >"$T/reset.out" 2>&1 ||
    fail "resetting clients: $(tail -n 3 "$T/reset.out")"
cat "$T/reset.out"
whole=$(sed -n 's/.*, \([0-9]*\) after a hello$/\1/p' "$T/reset.out")
[ -n "$whole" ] || fail "resetting clients: $(cat "$T/reset.out")"

# Everything that reached a worker ends, however late its reset came.
L=127\\.0\\.0\\.1:$P
R=$(rule_re "\"ok.$DOMAIN\"")
line=$(conn_line "$L" "$R" "$(tls_sni "ok.$DOMAIN")" "[^ ]+" \
    "(reset|eof|connect-failed)")
n=100
while [ "$(log_count "$line")" -lt "$whole" ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "$line") reset connections" \
	    "logged with the rule, not $whole"
	tick
	n=$((n - 1))
done

# A reset is noticed at once, long before the inspect timeout, however
# many bytes came before it.
n=50
until [ "$(fds)" = "$base" ]; do
	[ "$n" -gt 0 ] || fail "descriptors (pid count) 5 s after the last" \
	    "reset: before: $(echo "$base" | tr '\n' ' ') now: $(fds |
	    tr '\n' ' ')"
	tick
	n=$((n - 1))
done
total=$(log_count " on $L rule ")
log_since_mark | grep -E " on $L rule " | awk '
	$NF == "reset" || $NF == "eof" || $NF == "connect-failed" { next }
	{
		for (i = 1; i < NF; i++)
			if ($i == "time" && $(i + 1) < 1 && $NF == "no-rule")
				next
		print
	}' >"$T/odd"
echo "$total connections logged, $(wc -l <"$T/odd") with another end"
[ -s "$T/odd" ] && fail "$(wc -l <"$T/odd") connections ended otherwise," \
    "e.g. $(head -n 1 "$T/odd")"

ok_answers "after the resets"
same_procs "$before"
