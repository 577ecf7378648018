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
# Two accept processes share the listener, steered by the client's
# address: every connection from one address reaches the same one, so
# that maxconn per source is exact, and a killed one is started again.
# 127.0.0.1 and 127.0.0.2 hash to different accept processes of two.
#
# client:	python3 holding idle TCP connections from 127.0.0.1 and
#		127.0.0.2 and trying one more from 127.0.0.1; curl with SNI
#		"ok" from either address; sniproxyctl show summary
# sniproxyd:	accept 2, prefork 1, maxconn per source 3, timeout
#		inspect 30s, match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	two accept processes; curl from both addresses answered;
#		with three held from 127.0.0.1 and two from 127.0.0.2, each
#		address's connections all in one accept process and the two
#		in different ones, a fourth from 127.0.0.1 closed at once,
#		curl from 127.0.0.1 refused and from 127.0.0.2 answered;
#		show summary says held 5 and counts every connection and
#		refusal of both; once they close, held 0; an accept process
#		killed with SIGKILL is replaced, and curl from both
#		addresses is answered again; reloaded with accept 3, three
#		accept processes serve both addresses and maxconn per
#		source is as exact; reloaded with accept 1, one does

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

SNIPROXYCTL=${SNIPROXYCTL:-$(dirname "$SNIPROXYD")/sniproxyctl}
ctl() {
	"$SNIPROXYCTL" -s "$T/control.sock" "$@"
}

# summary: "total refused held" as show summary says them.
summary() {
	ctl show summary >"$T/ctl.out" 2>&1 ||
	    fail "show summary failed: $(cat "$T/ctl.out")"
	awk '$1 == "connections" { print $5, $7, $9 }' "$T/ctl.out"
}

# held N: show summary says N connections held, within 5 s.
held() {
	_n=50
	until [ "$(summary | cut -d ' ' -f 3)" = "$1" ]; do
		[ "$_n" -gt 0 ] || fail "show summary does not say held $1:" \
		    "$(grep '^connections' "$T/ctl.out")"
		tick
		_n=$((_n - 1))
	done
}

# from ADDR WHEN: curl with SNI "ok" from ADDR is answered.
from() {
	body=$(FETCH_OPTS="--interface $1" fetch "ok.$DOMAIN" "$P") ||
	    fail "curl from $1 $2 failed"
	assert_eq "backend ok" "$body" "answer from $1 $2"
}

hostile_start 30s "accept 2" "prefork 1" <<EOF2
maxconn per source 3
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2
accepts=$(procs_titled "$DAEMON_PID" accept)
assert_eq 2 "$(echo "$accepts" | wc -w)" "accept processes"
from 127.0.0.1 "at first"
from 127.0.0.2 "at first"
held 0
read -r total0 refused0 _ <<EOF2
$(summary)
EOF2
a1=$(echo "$accepts" | head -n 1)
a2=$(echo "$accepts" | tail -n 1)
f1=$(nfds "$a1")
f2=$(nfds "$a2")

cat >"$T/hold.py" <<'EOF2'
import os, socket, sys, time
port, state = int(sys.argv[1]), sys.argv[2]
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
held = [conn("127.0.0.1") for i in range(3)]
held += [conn("127.0.0.2") for i in range(2)]
time.sleep(0.5)
# The fourth from 127.0.0.1 is closed before a byte is read from it.
s = conn("127.0.0.1")
s.settimeout(5)
try:
    closed = s.recv(1) == b""
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
s.close()
with open(state + ".tmp", "w") as f:
    f.write("%d\n" % closed)
os.rename(state + ".tmp", state)
deadline = time.time() + 30
while not os.path.exists(state + ".done") and time.time() < deadline:
    time.sleep(0.1)
for s in held:
    s.close()
EOF2

# hold NAME: three idle connections from 127.0.0.1 and two from
# 127.0.0.2 are held until NAME.done is made, and a fourth from
# 127.0.0.1 is closed at once.
hold() {
	rm -f "$T/$1"
	python3 "$T/hold.py" "$P" "$T/$1" >"$T/$1.out" 2>&1 &
	holder=$!
	track "$holder"
	wait_ready "$T/$1" "$holder" "$T/$1.out" "the clients" \
	    "the clients did not connect in 30 s"
	assert_eq 1 "$(cat "$T/$1")" "the fourth from 127.0.0.1 closed at once"
	held 5
}

# release NAME: the connections of hold NAME close.
release() {
	touch "$T/$1.done"
	wait "$holder" || fail "the clients failed: $(cat "$T/$1.out")"
	held 0
}

# reload_accept N: reloaded with accept N, the old accept processes go.
reload_accept() {
	sed -e "s/^accept [0-9]*\$/accept $1/" "$CONF" >"$T/conf.new" &&
	    mv "$T/conf.new" "$CONF" || fail "cannot edit $CONF"
	ctl reload >"$T/ctl.out" 2>&1 ||
	    fail "sniproxyctl reload: $(cat "$T/ctl.out")"
	expect_log "generation $2 is up" 10
	_n=100
	until [ "$(procs_titled "$DAEMON_PID" accept | wc -w)" -eq "$1" ]; do
		[ "$_n" -gt 0 ] || fail "not $1 accept processes 10 s after" \
		    "the reload: $(procs_titled "$DAEMON_PID" accept)"
		tick
		_n=$((_n - 1))
	done
}

hold first

# Three more descriptors in one accept process, two in the other.
d1=$(($(nfds "$a1") - f1))
d2=$(($(nfds "$a2") - f2))
case "$d1 $d2" in
"3 2"|"2 3")	;;
*)	fail "connections held by the accept processes: $d1 and $d2," \
	    "not 3 and 2" ;;
esac

if body=$(FETCH_OPTS="--interface 127.0.0.1" fetch "ok.$DOMAIN" "$P" \
    2>"$T/curl.err"); then
	fail "curl from 127.0.0.1 answered over maxconn per source: $body"
fi
from 127.0.0.2 "with two of its own held"

# Since the first look: five held, the fourth, two curls; two refused.
read -r total refused nheld <<EOF2
$(summary)
EOF2
assert_eq $((total0 + 8)) "$total" "connections in show summary"
assert_eq $((refused0 + 2)) "$refused" "refused in show summary"
assert_eq 5 "$nheld" "held in show summary"

release first

kill -KILL "$a1"
expect_log "accept [01] \\(pid $a1\\) killed by signal 9"
n=100
while :; do
	now=$(procs_titled "$DAEMON_PID" accept)
	if [ "$(echo "$now" | wc -w)" -eq 2 ] &&
	    ! echo "$now" | grep -qx "$a1"; then
		break
	fi
	[ "$n" -gt 0 ] || fail "no new accept process in 10 s (now: $now)"
	tick
	n=$((n - 1))
done
from 127.0.0.1 "after the respawn"
from 127.0.0.2 "after the respawn"

reload_accept 3 2
from 127.0.0.1 "with three accept processes"
from 127.0.0.2 "with three accept processes"
hold second
release second
reload_accept 1 3
from 127.0.0.1 "with one accept process"
from 127.0.0.2 "with one accept process"
