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
# timeout 60
#
# A client's Initial sent twice at once makes one flow: the copy that
# waited on the listener's socket while the flow was passed on is
# dropped, not routed as a second flow of the same address and port.
#
# client:	python3, the client Initial of RFC 9001 appendix A.2 (SNI
#		example.com) twice from one address and port while the
#		accept process is stopped, then a third time a second
#		later, which must reach the flow
# sniproxyd:	listen on 127.0.0.1 port P udp; match tls sni
#		"example.com" forward to <q>; timeout idle 2s
# servers:	python3 on UDP, writing down the source port and length of
#		every datagram it receives
# expect:	the server hears from one port only: the Initial replayed,
#		then the third copy; one log line for the flow

INITIAL=$TOP/regress/fuzz/corpus/quic/rfc9001-client-initial
. "$TOP/regress/peers.sh"
[ -r "$INITIAL" ] || fail "no $INITIAL"

cat >"$T/sink.py" <<'EOF2'
import socket, sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
while True:
    data, peer = s.recvfrom(2048)
    with open(sys.argv[2], "a") as f:
        f.write("%d %d\n" % (peer[1], len(data)))
EOF2
Q=$(free_port) || exit 1
python3 "$T/sink.py" "$Q" "$T/heard" </dev/null >"$T/sink.log" 2>&1 &
track "$!"
udp_wait "$Q" "the server"

P=$(free_port) || exit 1
conf <<EOF2
# One accept process, stopped while the copies wait.
accept 1
table <q> { 127.0.0.1 port $Q }

listen on 127.0.0.1 port $P udp {
	timeout idle 2s
	match tls sni "example.com" forward to <q>
}
EOF2
start_daemon
udp_wait "$P" "sniproxyd"

# Both copies wait on the listener's socket, stopped accept process or
# not, before the first is read.
acc=$(procs_titled "$DAEMON_PID" accept)
[ -n "$acc" ] || fail "no accept process"
C=$(free_port) || exit 1
cat >"$T/send.py" <<'EOF2'
import socket, sys

d = open(sys.argv[3], "rb").read()
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[2])))
s.connect(("127.0.0.1", int(sys.argv[1])))
for i in range(int(sys.argv[4])):
    s.send(d)
EOF2
kill -STOP "$acc" || fail "cannot stop the accept process"
python3 "$T/send.py" "$P" "$C" "$INITIAL" 2 || fail "the client failed"
kill -CONT "$acc"
sleep 1
python3 "$T/send.py" "$P" "$C" "$INITIAL" 1 || fail "the client failed"

n=50
until [ "$(wc -l <"$T/heard" 2>/dev/null || echo 0)" -ge 2 ]; do
	[ "$n" -gt 0 ] || fail "the server heard $(cat "$T/heard" 2>/dev/null)"
	tick
	n=$((n - 1))
done
wait_log 'quic v1 sni=example\.com .* end idle' 10 ||
    fail "no end of the flow in the log"
ports=$(cut -d' ' -f1 "$T/heard" | sort -u | wc -l)
assert_eq 1 "$ports" "source ports the server heard from: $(cat "$T/heard")"
assert_eq 2 "$(wc -l <"$T/heard")" "datagrams the server heard"
assert_eq 1 "$(grep -c 'quic v1 sni=example\.com' "$DAEMON_LOG")" \
    "log lines of flows"
