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
# Certificates rotated the way certbot does it and the configuration
# reloaded, again and again, under load: nothing fails, nothing is
# refused or cut, and the new certificate is served at once.
#
# client:	loadpeer.py tlsloop: 20 TLS handshakes a second on the
#		terminated route web, each verified and used; a tlspeer
#		client on the passthrough route bulk, slowed down by
#		stopping and continuing it so that its stream spans every
#		reload, then let run to its end; two loadpeer.py streams on the
#		terminated route echo, one opened before the first reload
#		and one halfway; openssl s_client for the served serial
# sniproxyd:	prefork 2; keypair "site" from live/site/fullchain.pem and
#		privkey.pem with reload check 300ms; web and echo terminated
#		with "site", bulk passed through
# servers:	loadpeer.py servers web and echo; tlspeer server bulk
# rotation:	20 renewals, as the issue asks: new files
#		archive/site/{cert,chain,fullchain,privkey}K.pem, then each
#		live/site link replaced by renaming a new link over it;
#		after odd renewals the file watch is left to notice, then
#		sniproxyctl reload; after even ones SIGHUP to the parent at
#		once: 20 configuration reloads besides those of the watch
# expect:	the new serial served within 1300 ms (interval + 1 s) of the
#		last link switched when the watch notices, within 1000 ms of
#		SIGHUP; no failed or refused handshake in the loop, and at
#		least 10 a second of them; the tlspeer stream byte for byte
#		in both directions, still running when the last reload is
#		done; both echo streams byte for byte and never cut; no
#		handshake-failed, no-worker, no-rule or connect-failed in
#		the log; sniproxyctl reload status 0 every time; once every
#		long connection has ended, a single generation again

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"
skip_under_valgrind "the stream and the reloads are timed for native speed"

need_tlspeer
N=20
BULK=402653184
pair_make 200
i=1
while [ "$i" -le "$N" ]; do
	pair_make $((200 + i))
	i=$((i + 1))
done
certbot_install site 200
plain_backend web
plain_backend echo
tlspeer_server bulk -n "$BULK" -t 120
P=$(free_port)
L=$T/etc/live/site

conf <<EOF2
prefork 2
keypair "site" {
	certificate "$L/fullchain.pem"
	key "$L/privkey.pem"
	reload check 300ms
}
table <web> { 127.0.0.1 port $(port web) }
table <echo> { 127.0.0.1 port $(port echo) }
table <bulk> { 127.0.0.1 port $(port bulk) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" terminate tls keypair "site" \
	    forward to <web>
	match tls sni "echo.$DOMAIN" terminate tls keypair "site" \
	    forward to <echo>
	match tls sni "bulk.$DOMAIN" forward to <bulk>
}
EOF2
start_daemon "$P"
assert_eq "$(serial_of 200)" "$(served_serial "web.$DOMAIN" "$P")" \
    "serial served at the start"

"$TLSPEER" client -p "$P" -s "bulk.$DOMAIN" -C "$PKI/ca.pem" -n "$BULK" \
    -t 120 </dev/null >"$T/bulk.log" 2>&1 &
bulk=$!
track "$bulk"
: >"$T/throttle"
(
	while [ -f "$T/throttle" ] && kill -STOP "$bulk" 2>/dev/null; do
		sleep 0.25
		kill -CONT "$bulk" 2>/dev/null
		sleep 0.02
	done
	kill -CONT "$bulk" 2>/dev/null
) &
throttle=$!
track "$throttle"

stream_open s1 "$P" "echo.$DOMAIN"
python3 "$PEER" tlsloop 127.0.0.1 "$P" "web.$DOMAIN" "$PKI/ca.pem" 20 \
    "$T/loop.stop" </dev/null >"$T/loop.out" 2>&1 &
loop=$!
track "$loop"
t_start=$(now_ms)
sleep 1

i=1
while [ "$i" -le "$N" ]; do
	k=$((200 + i))
	certbot_renew site "$k"
	if [ $((i % 2)) -eq 1 ]; then
		took=$(wait_serial "web.$DOMAIN" "$P" "$(serial_of "$k")" \
		    1300) || exit 1
		echo "renewal $i: certificate $k served $took ms after" \
		    "the links were switched"
		ctl reload >"$T/ctl.out" 2>&1 ||
		    fail "sniproxyctl reload $i: $(cat "$T/ctl.out")"
	else
		kill -HUP "$DAEMON_PID"
		took=$(wait_serial "web.$DOMAIN" "$P" "$(serial_of "$k")" \
		    1000) || exit 1
		echo "renewal $i: certificate $k served $took ms after SIGHUP"
	fi
	[ "$i" -eq $((N / 2)) ] && stream_open s2 "$P" "echo.$DOMAIN"
	sleep 0.3
	i=$((i + 1))
done
sleep 1
: >"$T/loop.stop"
wait_exit "$loop" 10
t_end=$(now_ms)

alive "$bulk" ||
    fail "the tlspeer stream ended before the last reload: $(cat "$T/bulk.log")"
rm -f "$T/throttle"
wait_exit "$throttle" 5
kill -CONT "$bulk" 2>/dev/null

ok=$(grep -c ' ok ' "$T/loop.out")
bad=$(grep -c ' FAIL ' "$T/loop.out")
rate=$((ok * 1000 / (t_end - t_start)))
echo "handshake loop: $ok good, $bad failed, $rate a second"
# What the daemon logged for each handshake that failed.
awk '$2 == "FAIL" { print $4 }' "$T/loop.out" >"$T/failed"
while read -r a; do
	later "handshake from $a failed: $(grep -F " from $a " "$T/loop.out" |
	    cut -d' ' -f5-); the log: $(log_since_mark |
	    grep -F "$a on " || echo nothing)"
done <"$T/failed"
[ "$rate" -ge 10 ] || later "only $rate handshakes a second"
# Handshakes that saw an older certificate than the one before them.
back=$(awk '$2 == "ok" { if ($4 < last) n++; last = $4 }
    END { print n + 0 }' "$T/loop.out")
echo "$back handshakes saw an older certificate than the one before"

wait_exit "$bulk" 60 || later "tlspeer client: $(cat "$T/bulk.log")"
wait_exit "$(pid_of bulk)" 30 ||
    later "tlspeer server: $(cat "$T/b/bulk/log")"
cat "$T/bulk.log"
stream_stop s1
echo "stream s1: $STREAMED bytes back as sent"
stream_stop s2
echo "stream s2: $STREAMED bytes back as sent"

n=$(log_count '^configuration reloaded, generation ')
echo "$n reloads done; the watch saw $(log_count 'files changed')" \
    "changes, of which $(log_count 'keeping (the running|the one in use)')" \
    "not loaded (a pair caught half switched)"
[ "$n" -ge "$N" ] || later "only $n reloads done"
bad_end=' end (handshake-failed|handshake-timeout|no-worker|no-rule'
bad_end="$bad_end|connect-failed)\$"
if log_since_mark | grep -Eq -- "$bad_end"; then
	later "the log has $(log_count "$bad_end") connections that" \
	    "failed: $(log_since_mark | grep -E -- "$bad_end" | head -n 3)"
fi
one_generation() {
	ctl show summary >"$T/ctl.out" 2>&1 &&
	    [ "$(grep -c '^generation ' "$T/ctl.out")" -eq 1 ]
}
poll 10 one_generation ||
    later "generations left after every connection ended:" \
    "$(grep '^generation' "$T/ctl.out")"
check_later
