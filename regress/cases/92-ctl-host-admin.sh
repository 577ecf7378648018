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
# sniproxyctl host disable|enable|drain and table weight change where
# new connections go, never cut one, and last until the next reload.
#
# client:	a loadpeer.py hold connection kept open throughout;
#		loadpeer.py conns: batches of short plain connections
# sniproxyd:	prefork 2; default forward to <pool> mode roundrobin
# servers:	three loadpeer.py servers a, b, c, each greeting with its name
# expect:	disabling the held connection's server sends no new
#		connection to it, the held one goes on and show hosts says
#		disabled, active 1; enable spreads them over the three again;
#		weight 4 for a gives it about four sixths; with a draining
#		and b disabled every connection goes to c, and with c
#		disabled too they go to a (draining: the last resort); every
#		reply says "until the next reload"; an address without its
#		port that fits several servers, an unknown table, a server
#		not in the table and a weight out of range are errors, status
#		1, that change nothing; after a reload every server is up
#		with its configured weight; the held connection still answers

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "mode roundrobin"
hold_open held "$P"
hold_backend held
H=127.0.0.1:$(port "$HELD")

# admin STATUS ARGS...: sniproxyctl ARGS must exit with STATUS.
admin() {
	_want=$1
	shift
	ctl "$@" >"$T/ctl.out" 2>&1
	_rv=$?
	echo "\$ sniproxyctl $*"
	cat "$T/ctl.out"
	[ "$_rv" -eq "$_want" ] || fail "sniproxyctl $*: status $_rv, not" \
	    "$_want: $(cat "$T/ctl.out")"
}

# state NAME: state and weight of backend NAME in show hosts.
state() {
	ctl show hosts >"$T/hosts.out" 2>&1 ||
	    fail "show hosts: $(cat "$T/hosts.out")"
	awk -v h="127.0.0.1:$(port "$1")" '$4 == h {
		for (i = 1; i < NF; i++) {
			if ($i == "state") s = $(i + 1)
			if ($i == "weight") w = $(i + 1)
			if ($i == "active") a = $(i + 1)
		}
		print s, w, a }' "$T/hosts.out"
}

admin 0 host disable pool "$H"
grep -Eq "^table <pool> host $(re "$H") state disabled weight 1 rule \
.* until the next reload$" "$T/ctl.out" || fail "disable: no such reply"
expect_log "table <pool>: server $(re "$H") disabled, weight 1, until the\
 next reload"
conns "$P" 30
conns_all_ok
assert_eq 0 "$(conns_to "$HELD")" "connections to the disabled $HELD"
assert_eq "disabled 1 1" "$(state "$HELD")" "show hosts for $HELD"

admin 0 host enable pool "$H"
conns "$P" 30
conns_all_ok
for b in a b c; do
	in_range "connections to $b once enabled" "$(conns_to "$b")" 8 12
done

admin 0 table '<pool>' weight "127.0.0.1:$(port a)" 4
conns "$P" 60
conns_all_ok
in_range "connections to a of weight 4" "$(conns_to a)" 36 44
assert_eq "up 4" "$(state a | cut -d' ' -f1,2)" "show hosts for a"

admin 0 host drain pool "127.0.0.1:$(port a)"
admin 0 host disable pool "127.0.0.1:$(port b)"
conns "$P" 20
conns_all_ok
assert_eq 20 "$(conns_to c)" "connections to c, the one left"
admin 0 host disable pool "127.0.0.1:$(port c)"
conns "$P" 10
conns_all_ok
assert_eq 10 "$(conns_to a)" "connections to a, draining, the last resort"
assert_eq "draining 4" "$(state a | cut -d' ' -f1,2)" "show hosts for a"

admin 1 host disable pool 127.0.0.1
grep -q 'has 3 servers at 127.0.0.1: give the port' "$T/ctl.out" ||
    fail "an address of several servers: $(cat "$T/ctl.out")"
admin 1 host enable nosuch "$H"
grep -q 'forwards to a table <nosuch>' "$T/ctl.out" ||
    fail "an unknown table: $(cat "$T/ctl.out")"
admin 1 host enable pool 127.0.0.2:1
grep -q 'table <pool> has no server 127.0.0.2:1' "$T/ctl.out" ||
    fail "a server not in the table: $(cat "$T/ctl.out")"
admin 1 table pool weight "$H" 0
grep -q 'weight 0 is too small' "$T/ctl.out" ||
    fail "weight 0: $(cat "$T/ctl.out")"
admin 1 host frobnicate pool "$H"
grep -q '^usage: ' "$T/ctl.out" || fail "host frobnicate: no usage message"
assert_eq "disabled 1" "$(state b | cut -d' ' -f1,2)" "b after the errors"

admin 0 reload
# New connections go to the new generation once it is up.
wait_log "generation 2 is up" 30 || fail "generation 2 is not up"
for b in a b c; do
	assert_eq "up 1" "$(state "$b" | cut -d' ' -f1,2)" \
	    "show hosts for $b after the reload"
done
conns "$P" 30
conns_all_ok
for b in a b c; do
	in_range "connections to $b after the reload" "$(conns_to "$b")" 8 12
done
hold_stop held
