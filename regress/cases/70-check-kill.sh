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
# A backend killed during traffic: once the check has failed "fall"
# times no new connection goes to it, the others carry on untouched,
# and it is used again once it is back and "rise" checks have passed.
#
# client:	a loadpeer.py stream (plain, paced, byte for byte) held open on
#		one server; loadpeer.py conns: 300 short connections while the
#		victim is killed, 60 after it is found down, 60 after it is
#		back up
# sniproxyd:	prefork 2; default forward to <pool> check tcp interval
#		300ms fall 2 rise 2; log verbose (sniproxyctl), so that the
#		workers log every connection a server refuses
# servers:	three loadpeer.py servers a, b, c; the victim, one the stream
#		is not on, killed with SIGKILL and started again
# expect:	of the 300, at most one fails (the one that may be open on
#		the victim as it dies); "server ... is down" within 5 s;
#		after it, no connection is tried on the victim (no refused
#		connect logged) and all 60 are answered by the others;
#		"server ... is up" within 5 s of the restart and then the
#		victim answers at least 10 of 60; the stream gets every
#		byte back and is never cut

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "check tcp interval 300ms fall 2 rise 2"
ctl log verbose >"$T/ctl.out" 2>&1 ||
    fail "sniproxyctl log verbose: $(cat "$T/ctl.out")"

stream_open long "$P"
on=$STREAMED
for v in a b c; do
	[ "$v" != "$on" ] && break
done
VP=$(port "$v")
V="127\\.0\\.0\\.1:$VP"
echo "the stream is on $on; killing $v"

python3 "$PEER" conns 127.0.0.1 "$P" 300 </dev/null >"$T/during.out" 2>&1 &
traffic=$!
track "$traffic"
sleep 0.3
plain_backend_kill "$v"
expect_log "table <pool>: server $V is down" 5
wait_exit "$traffic" 30 || fail "the traffic during the kill did not end"
bad=$(grep -c ' FAIL ' "$T/during.out")
echo "during the kill: $bad of 300 failed, $(log_count "^$V: connect: ")" \
    "refused by the victim"
[ "$bad" -le 1 ] || fail "$bad connections failed as $v was killed:" \
    "$(grep ' FAIL ' "$T/during.out" | head -n 2)"

# The workers hear of the state from the parent: give them a moment.
sleep 0.2
log_mark
conns "$P" 60
conns_all_ok
assert_eq 0 "$(conns_to "$v")" "connections answered by $v while down"
assert_log_lacks "^$V: connect: "
assert_log_lacks "to $V up "

plain_backend_start "$v"
expect_log "table <pool>: server $V is up" 5
sleep 0.2
conns "$P" 60
conns_all_ok
n=$(conns_to "$v")
echo "$v answered $n of 60 once back"
[ "$n" -ge 10 ] || fail "$v answered only $n of 60 once it was back up"

alive "$(cat "$T/st/long/pid")" ||
    fail "the stream to $on ended: $(tail -n 1 "$T/st/long/out")"
stream_stop long
echo "stream to $on: $STREAMED bytes back as sent"
