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
# Failed and stalled TLS handshakes are logged with the client's
# address and leave the other connections of the same worker alone.
#
# client:	openssl s_client held open (the bystander); openssl
#		s_client offering only TLS 1.0; a Python client sending a
#		TLS record header and garbage; a Python client sending the
#		first bytes of a ClientHello and stalling; curl at the end
# sniproxyd:	prefork 1; keypair of the run's certificate; timeout
#		handshake 3s; one rule, match terminate tls forward to
#		<echo>, so that every client lands on the one TLS worker
# servers:	Python line server "echo"
# expect:	TLS 1.0 and the garbage are logged "TLS handshake
#		failed" with their client address and "end
#		handshake-failed"; the staller is cut after about 3 s,
#		"end handshake-timeout"; meanwhile and afterwards the
#		bystander's lines are echoed at once; the worker is the
#		same process throughout and serves a new client

. "$TOP/regress/peers.sh"

py_server echo
P=$(free_port)

conf <<EOF2
prefork 1
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <echo> { 127.0.0.1 port $(port echo) }

listen on 127.0.0.1 port $P {
	timeout handshake 3s
	match terminate tls forward to <echo>
}
EOF2
start_daemon "$P"
w=$(worker_of echo)
[ -n "$w" ] || fail "no worker for <echo>"

client_open by "by.$DOMAIN" "$P"
client_send by "before"
client_expect by "echo: before"

# Only TLS 1.0, which the default "secure" protocols do not allow.
timeout 10 openssl s_client -connect "127.0.0.1:$P" -servername "old.$DOMAIN" \
    -tls1 -cipher 'DEFAULT:@SECLEVEL=0' </dev/null >"$T/tls1.out" 2>&1 &&
    fail "a TLS 1.0 handshake succeeded: $(tail -n 5 "$T/tls1.out")"
expect_log "^127\\.0\\.0\\.1:[0-9]+: TLS handshake failed: .+"

# A handshake record header, then garbage.
py_client --port "$P" --hex "1603010020$(od -v -An -N32 -tx1 /dev/urandom |
    tr -d ' \n')" --drain >/dev/null 2>"$T/garbage.err" ||
    fail "the garbage client was not closed: $(cat "$T/garbage.err")"
gport=$(sed -n 's/^local 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/garbage.err")
expect_log "^127\\.0\\.0\\.1:$gport: TLS handshake failed: .+"
client_send by "after the failures"
client_expect by "echo: after the failures"

# The first 60 bytes of a ClientHello whose record says 512.
hello=1603010200010001fc0303$(od -v -An -N49 -tx1 /dev/urandom | tr -d ' \n')
py_client --port "$P" --hex "$hello" --drain >/dev/null \
    2>"$T/stall.err" &
stall=$!
track "$stall"
tick
t0=$(now_ms)
client_send by "during the stall"
client_expect by "echo: during the stall"
ms=$(($(now_ms) - t0))
[ "$ms" -lt 2000 ] || fail "the bystander waited $ms ms during the stall"
wait_exit "$stall" 10 ||
    fail "the staller was not cut: $(cat "$T/stall.err")"
sport=$(sed -n 's/^local 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$T/stall.err")
took=$(sed -n 's/^done after \([0-9]*\) ms$/\1/p' "$T/stall.err")
echo "the staller was cut after $took ms"
if [ "$took" -lt 2800 ] || [ "$took" -gt 6000 ]; then
	fail "the staller was cut after $took ms, not about 3 s"
fi

client_send by "at the end"
client_expect by "echo: at the end"
# shellcheck disable=SC2034
FETCH_OPTS="-o /dev/null -w %{http_code}"
# The echo server answers curl's request line with a line of its own,
# which is no HTTP answer: curl may fail, but only after the handshake.
fetch "new.$DOMAIN" "$P" >/dev/null 2>"$T/curl.err"
grep -q "SSL\|TLS\|certificate" "$T/curl.err" &&
    fail "curl's handshake failed: $(cat "$T/curl.err")"
wait_conns echo 2
assert_eq "$w" "$(worker_of echo)" "worker of <echo>"
alive "$w" || fail "the worker $w is gone"

L=127\\.0\\.0\\.1:$P
R=$(rule_re "match terminate")
expect_log_n "$(conn_line "$L" "$R" "[a-z]+( [a-z]+=[^ ]*)*" "[^ ]+" \
    handshake-failed)" 2
expect_log "^127\\.0\\.0\\.1:$gport on $L rule $R .* end handshake-failed\$"
expect_log "^127\\.0\\.0\\.1:$sport on $L rule $R .* end handshake-timeout\$"
assert_log_lacks "respawn|exited|terminated"
