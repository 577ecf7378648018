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
# sniproxyctl show hosts: every server of every route, with what the
# checks say of it since when, and the connections the workers made.
#
# client:	loadpeer.py conns: 30 short plain connections; a loadpeer.py
#		hold connection kept open
# sniproxyd:	prefork 2; default forward to <pool> mode roundrobin check
#		tcp interval 300ms fall 2 rise 2
# servers:	three loadpeer.py servers a, b, c; c killed
# expect:	one line per server, in table order, state up since the
#		start; the totals add up to the 31 connections and each
#		server has about a third; active adds up to 1, on the server
#		the held connection went to; once c is down its line says
#		state down since a time no earlier than its kill, and a and b
#		are still up

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
start=$(date -u +%s)
pool_start 2 "mode roundrobin check tcp interval 300ms fall 2 rise 2"

conns "$P" 30
conns_all_ok
hold_open held "$P"
hold_backend held

# hosts_line NAME: the line of backend NAME in $T/ctl.out.
hosts_line() {
	grep -E "^table <pool> host 127\\.0\\.0\\.1:$(port "$1") " "$T/ctl.out"
}

# field LINE WORD: the value after WORD in LINE.
field() {
	echo "$1" | awk -v w="$2" '{ for (i = 1; i < NF; i++)
		if ($i == w) { print $(i + 1); exit } }'
}

epoch() {
	date -u -d "$(echo "$1" | sed -e 's/T/ /' -e 's/Z$//')" +%s
}

ctl show hosts >"$T/ctl.out" 2>&1 || fail "show hosts: $(cat "$T/ctl.out")"
cat "$T/ctl.out"
assert_eq 3 "$(grep -c '^table <pool> host ' "$T/ctl.out")" "lines"
order=$(awk '{ print $4 }' "$T/ctl.out" | tr '\n' ' ')
assert_eq "127.0.0.1:$(port a) 127.0.0.1:$(port b) 127.0.0.1:$(port c) " \
    "$order" "servers in table order"
sum_total=0
sum_active=0
for b in a b c; do
	l=$(hosts_line "$b") || fail "show hosts: no line for $b"
	echo "$l" | grep -Eq " state up since [0-9T:-]+Z active [0-9]+\
 total [0-9]+ weight 1 rule $(re "$CONF"):[0-9]+$" ||
	    fail "show hosts: $l"
	since=$(epoch "$(field "$l" since)")
	[ "$since" -ge "$start" ] || fail "$b up since before the start: $l"
	n=$(field "$l" total)
	in_range "connections to $b" "$n" 9 12
	sum_total=$((sum_total + n))
	a=$(field "$l" active)
	sum_active=$((sum_active + a))
	if [ "$b" = "$HELD" ]; then
		assert_eq 1 "$a" "active on $b, which holds the connection"
	fi
done
assert_eq 31 "$sum_total" "total connections over the servers"
assert_eq 1 "$sum_active" "active connections over the servers"

killed=$(date -u +%s)
plain_backend_kill c
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port c) is down" 5
ctl show hosts >"$T/ctl.out" 2>&1 || fail "show hosts: $(cat "$T/ctl.out")"
cat "$T/ctl.out"
l=$(hosts_line c)
assert_eq down "$(field "$l" state)" "state of c once killed"
[ "$(epoch "$(field "$l" since)")" -ge "$killed" ] ||
    fail "c down since before it was killed: $l"
for b in a b; do
	assert_eq up "$(field "$(hosts_line "$b")" state)" "state of $b"
done
hold_stop held
