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
# Garbage never crashes or stalls the accept process: unknown first
# bytes go to the default, or without one are closed and logged; a
# malformed TLS hello or HTTP request is closed and logged as invalid
# on both listeners; every other client is served meanwhile.
#
# client:	Python clients sending random bytes, a TLS record header
#		with a broken ClientHello, a record that claims more than
#		16 KB, 17 KB of one HTTP header line, NUL bytes, a partial
#		SSH identification then EOF, a connection reset at once;
#		one that sends "SSH-" and stalls while curl is served
# sniproxyd:	listener 1: match tls sni, match ssh, match http,
#		default; listener 2: the same without default;
#		timeout inspect 3s
# servers:	openssl s_server "web"; Python line servers "dflt",
#		"ssh" (never reached)
# expect:	every unknown garbage client on listener 1 reaches dflt,
#		on listener 2 is closed and logged "rule none ... end
#		no-rule"; the malformed hellos and the endless header are
#		closed on both and logged "rule none invalid ... end
#		invalid"; curl is answered in under 2.5 s while the
#		staller is pending; the accept process is the same process
#		from start to end and still serves curl afterwards

. "$TOP/regress/peers.sh"

backend web
py_server dflt
py_server ssh
P1=$(free_port)
P2=$(free_port)

conf <<EOF2
timeout inspect 3s
table <web> { 127.0.0.1 port $(port web) }
table <dflt> { 127.0.0.1 port $(port dflt) }
table <ssh> { 127.0.0.1 port $(port ssh) }

listen on 127.0.0.1 port $P1 {
	match tls sni "web.$DOMAIN" forward to <web>
	match ssh forward to <ssh>
	match http host "web.$DOMAIN" forward to <web>
	default forward to <dflt>
}
listen on 127.0.0.1 port $P2 {
	match tls sni "web.$DOMAIN" forward to <web>
	match ssh forward to <ssh>
	match http host "web.$DOMAIN" forward to <web>
}
EOF2
start_daemon "$P1" "$P2"
acc=$(accept_pid)
[ -n "$acc" ] || fail "no accept process"

hex() {
	od -v -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}
big=$(printf 'GET / HTTP/1.1\r\nX-Long: ' | od -v -An -tx1 | tr -d ' \n')
big=$big$(printf '%17000s' '' | tr ' ' 'a' | od -v -An -tx1 | tr -d ' \n')
# The malformed ones first.
set -- \
    "160301000501ffffff00" \
    "16030100ff0100fffb0303$(hex 200)" \
    "1603013fff$(hex 16383)" \
    "$big" \
    "ff$(hex 4095)" \
    "$(printf '%0512d' 0)" \
    "5353482d322e" \
    "0d0a0d0a0d0a"
ngarbage=$#
ninvalid=4

for g in "$@"; do
	# Listener 1: sent whole, then the client closes its end.
	py_client --port "$P1" --hex "$g" --lines 0 >/dev/null \
	    2>>"$T/garbage1.err" || fail "garbage client to listener 1" \
	    "failed: $(tail -n 3 "$T/garbage1.err")"
	# Listener 2: the client waits until sniproxyd closes it.
	py_client --port "$P2" --hex "$g" --lines 0 --expect-eof >/dev/null \
	    2>>"$T/garbage2.err" || fail "garbage client to listener 2 was" \
	    "not closed: $(tail -n 3 "$T/garbage2.err")"
done
# Connected and reset at once.
timeout 10 python3 -c '
import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()' "$P1" || fail "the resetting client failed"

# A staller holds the classifier of listener 1 for 3 s.
py_client --port "$P1" --send 'SSH-' --lines 0 --then '' --pause 4 \
    >/dev/null 2>"$T/staller.err" &
track "$!"
stall=$!
tick
# shellcheck disable=SC2034
FETCH_OPTS="-o $T/body -w %{time_total}"
total=$(fetch "web.$DOMAIN" "$P1") || fail "curl beside the staller failed"
assert_eq "backend web" "$(cat "$T/body")" "answer beside the staller"
awk -v t="$total" 'BEGIN { exit !(t < 2.5) }' ||
    fail "curl took $total s beside a stalled client"
wait_exit "$stall" 10 || fail "the staller: $(cat "$T/staller.err")"

# shellcheck disable=SC2034
FETCH_OPTS=
body=$(fetch "web.$DOMAIN" "$P2") || fail "curl after the garbage failed"
assert_eq "backend web" "$body" "answer after the garbage"
alive "$acc" || fail "the accept process $acc is gone"
assert_eq "$acc" "$(accept_pid)" "accept process"

L1=127\\.0\\.0\\.1:$P1
L2=127\\.0\\.0\\.1:$P2
D=$(rule_re "default forward")
expect_log_n "$(conn_line "$L2" none "(unknown|eof)" - no-rule)" \
    $((ngarbage - ninvalid))
expect_log_n "$(conn_line "$L2" none invalid - invalid)" "$ninvalid"
expect_log_n "$(conn_line "$L1" none invalid - invalid)" "$ninvalid"
# Every other garbage client, the staller and the reset one are
# logged; all but the reset one reached the default, which the reset
# one may have reached too, depending on when its reset came.
expect_log_n " on $L1 .* (unknown|eof) to " \
    $((ngarbage - ninvalid + 2)) 8
n=$(log_count "$(conn_line "$L1" "$D" "(unknown|eof)" \
    "127\\.0\\.0\\.1:$(port dflt)" "(eof|reset)")")
[ "$n" -ge $((ngarbage - ninvalid + 1)) ] ||
    fail "$n connections reached the default, not" \
    "$((ngarbage - ninvalid + 1))"
assert_log_lacks " rule [^ ]* ssh "
assert_eq 0 "$(conns ssh | wc -l)" "connections that reached ssh"
assert_log_lacks "fatal|terminated|exited|killed by signal|respawn"
