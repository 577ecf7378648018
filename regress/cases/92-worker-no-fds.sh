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
# timeout 90
#
# A worker out of descriptors says what happened, ends the connection it
# has no room for, and goes on once descriptors are free again: neither
# a connection whose descriptor the kernel dropped on the way nor one it
# cannot make a server socket for breaks its channel or looks like a
# server that did not answer.
#
# client:	python3 holding TLS clients at their ClientHello (each costs
#		the worker one descriptor while its handshake waits) until
#		one more than the worker has room for; then, with one
#		descriptor freed, curl; then curl again once they are gone
# sniproxyd:	started with a descriptor limit of 64, prefork 1,
#		match tls sni "ok" terminate tls forward with tls to <ok>,
#		timeout handshake 60s
# servers:	openssl s_server "ok"
# expect:	"a connection's descriptor was lost: Too many open files"
#		and "end resources" for the one past the last descriptor;
#		for the curl with one left, "table <ok>: socket: Too many
#		open files" and "end resources"; never "no server answered"
#		nor "end connect-failed"; the last curl is answered by the
#		same processes

. "$TOP/regress/peers.sh"
# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

skip_under_valgrind "valgrind holds descriptors of its own"
LIMIT=64

# The daemon alone runs under the limit, soft and hard, so that it cannot
# raise it again; its children inherit it.
mkdir -p "$T/lim" || fail "cannot make $T/lim"
printf '#!/bin/sh\nulimit -n %s || exit 1\nexec "%s" "$@"\n' "$LIMIT" \
    "$SNIPROXYD" >"$T/lim/$PROGNAME" || fail "cannot write the wrapper"
chmod 755 "$T/lim/$PROGNAME" || fail "cannot make the wrapper executable"
SNIPROXYD=$T/lim/$PROGNAME

backend ok
cp "$PKI/ca.pem" "$T/etc/ca.pem" 2>/dev/null ||
    { mkdir -p "$T/etc" && cp "$PKI/ca.pem" "$T/etc/ca.pem"; } ||
    fail "cannot copy the CA"
P=$(free_port) || exit 1
conf <<EOF2
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <ok> { 127.0.0.1 port $(port ok) }
prefork 1
listen on 127.0.0.1 port $P {
	timeout handshake 60s
	match tls sni "ok.$DOMAIN" terminate tls \\
	    forward with tls to <ok> tls ca "$T/etc/ca.pem"
}
EOF2
start_daemon "$P"
before=$(procs)
ok_answers "before the limit"

w=$(procs_titled "$DAEMON_PID" "route ok")
assert_eq 1 "$(echo "$w" | wc -w)" "workers of route ok"
assert_eq "$LIMIT" "$(awk '/^Max open files/ { print $4 }' \
    "/proc/$w/limits")" "the worker's descriptor limit"
free=$((LIMIT - $(nfds "$w")))
[ "$free" -gt 2 ] || fail "the worker starts with $free free descriptors"

# Opens $2 connections to port $1, each sending a ClientHello for $3 and
# nothing more; closes the oldest on SIGUSR1, all of them on SIGTERM.
cat >"$T/hold.py" <<'EOF2'
import signal, socket, ssl, sys, time

port, count, sni, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], \
    sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE

def hello():
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname=sni)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()

held = []
def close_oldest(sig, frame):
    held.pop(0).close()
    open(ready + ".closed", "w").close()
signal.signal(signal.SIGUSR1, close_oldest)
for i in range(count):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(hello())
    held.append(s)
    time.sleep(0.05)
open(ready, "w").close()
while True:
    signal.pause()
EOF2

# Waits at most 10 s for the worker to hold fewer than $1 descriptors.
fds_below() {
	n=100
	until [ "$(nfds "$w")" -lt "$1" ]; do
		[ "$n" -gt 0 ] || fail "the worker keeps $(nfds "$w") descriptors"
		tick
		n=$((n - 1))
	done
}

# One more than the worker has room for: that one's descriptor is lost.
log_mark
python3 "$T/hold.py" "$P" "$((free + 1))" "ok.$DOMAIN" "$T/held" \
    </dev/null >"$T/hold.log" 2>&1 &
HOLD=$!
track "$HOLD"
wait_ready "$T/held" "$HOLD" "$T/hold.log" "the holding client" \
    "the holding client did not open its connections"
expect_log "table <ok>: a connection's descriptor was lost: Too many open files"
expect_log " end resources$"

# One descriptor free: the client's socket takes it, the server's fails.
kill -USR1 "$HOLD"
fds_below "$LIMIT"
log_mark
if body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl was answered by a worker without descriptors: $body"
fi
expect_log "table <ok>: socket: Too many open files"
expect_log " end resources$"

kill -TERM "$HOLD"
wait_gone "$HOLD" 5 || fail "the holding client did not exit"
fds_below "$((LIMIT - free + 2))"
ok_answers "once descriptors are free"
same_procs "$before"
assert_log_lacks "no server answered"
assert_log_lacks " end connect-failed$"
