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
# A rule changed by a reload applies to new connections only: one
# opened before stays on the old backend, under the old generation of
# processes, which go once it has ended.
#
# client:	openssl s_client "old" opened before the reload and used
#		after it; openssl s_client "new" opened after it
# sniproxyd:	prefork 2; match tls sni "app..." forward to <blue>, then,
#		reloaded with sniproxyctl reload, forward to <green>
# servers:	openssl s_server -rev "blue" and "green"
# expect:	old answers before and after the reload, from blue; new is
#		answered by green; show connections has old on route blue
#		to blue and new on route green to green; while old is open
#		show summary has generation 1 draining and 2 current, 2
#		connections active and at least 2 in total (a reload does
#		not reset the total); the old accept process and the idle
#		old worker go at once, the worker that holds old stays; once
#		old is closed: "generation 1 finished", show summary has
#		generation 2 alone, and every process of generation 1 is
#		gone from /proc

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

backend_rev blue
backend_rev green
P=$(free_port)

# config TABLE: the configuration, routing app to TABLE.
config() {
	conf <<EOF2
# One accept process a generation, whose end is waited for.
accept 1
prefork 2
table <$1> { 127.0.0.1 port $(port "$1") }

listen on 127.0.0.1 port $P {
	match tls sni "app.$DOMAIN" forward to <$1>
}
EOF2
}

config blue
start_daemon "$P"
acc1=$(procs_titled "$DAEMON_PID" accept)
blue1=$(procs_titled "$DAEMON_PID" "route blue")
assert_eq 1 "$(echo "$acc1" | wc -w)" "accept processes"
assert_eq 2 "$(echo "$blue1" | wc -w)" "blue workers"

client_open old "app.$DOMAIN" "$P"
client_send old one
client_expect old eno 10
old_port=$(client_local_ports "$P")
assert_eq 1 "$(established_to "$(port blue)")" "connections to blue"

config green
ctl reload >"$T/ctl.out" 2>&1 || fail "sniproxyctl reload: $(cat "$T/ctl.out")"
expect_log "configuration reloaded, generation 2"
# New connections go to the new generation once it is up.
wait_log "generation 2 is up" 30 || fail "generation 2 is not up"

client_send old two
client_expect old owt 10
client_open new "app.$DOMAIN" "$P"
client_send new three
client_expect new eerht 10
assert_eq 1 "$(established_to "$(port blue)")" "connections to blue"
assert_eq 1 "$(established_to "$(port green)")" "connections to green"
new_port=$(client_local_ports "$P" | grep -vx "$old_port")

ctl show connections >"$T/ctl.out" 2>&1 || fail "show connections failed"
cat "$T/ctl.out"
H=127\\.0\\.0\\.1
grep -Eq "^$H:$old_port route blue to $H:$(port blue) " "$T/ctl.out" ||
    fail "show connections: old is not on blue"
grep -Eq "^$H:$new_port route green to $H:$(port green) " "$T/ctl.out" ||
    fail "show connections: new is not on green"

ctl show summary >"$T/ctl.out" 2>&1 || fail "show summary failed"
cat "$T/ctl.out"
if ! grep -q '^generation 1 draining' "$T/ctl.out" ||
    ! grep -q '^generation 2 current' "$T/ctl.out"; then
	fail "show summary with old open: $(grep '^generation' "$T/ctl.out")"
fi
grep -q '^connections active 2 ' "$T/ctl.out" ||
    fail "show summary: $(grep '^connections' "$T/ctl.out"), not 2 active"
# sniproxyctl(8): the total is of every connection since the start,
# which a reload does not reset.
grep -Eq '^connections active [0-9]+ total ([2-9]|[1-9][0-9]+) ' \
    "$T/ctl.out" || later "show summary counts fewer than the 2" \
    "connections made: $(grep '^connections' "$T/ctl.out")"

wait_gone "$acc1" 5 || fail "the accept process of generation 1 is still there"
# The old worker without a connection goes; the one with old stays.
left() {
	_n=0
	for _p in $blue1; do
		alive "$_p" && _n=$((_n + 1))
	done
	echo "$_n"
}
one_left() {
	[ "$(left)" -eq 1 ]
}
poll 5 one_left ||
    fail "$(left) of the 2 blue workers of generation 1 left, not 1"

kill "$(client_pid old)"
expect_log "generation 1 finished" 5
for p in $blue1; do
	wait_gone "$p" 5 || fail "blue worker $p of generation 1 still runs"
done
ctl show summary >"$T/ctl.out" 2>&1 || fail "show summary failed"
if [ "$(grep -c '^generation ' "$T/ctl.out")" -ne 1 ] ||
    ! grep -q '^generation 2 current' "$T/ctl.out"; then
	fail "show summary after old ended: $(grep '^generation' "$T/ctl.out")"
fi
expect_log "^$H:$old_port on .* to $H:$(port blue) up [1-9][0-9]*\
 down [1-9][0-9]* .* end (eof|reset)$"

client_send new four
client_expect new ruof 10
check_later
