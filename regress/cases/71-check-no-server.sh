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
# Every server of a table down: clients are closed at once, logged
# "end no-server"; once a server is back, clients are served again.
#
# client:	loadpeer.py conns: 5 short plain connections with both servers
#		down, then 10 once one is back
# sniproxyd:	prefork 2; timeout connect 5s; default forward to <pool>
#		check tcp interval 300ms fall 2 rise 2
# servers:	two loadpeer.py servers a, b, both killed, then a started again
# expect:	both "is down"; each of the 5 closed without an answer; 5
#		log lines "to - ... end no-server", which no connect
#		attempt (refused, or timed out) would give; after "is up"
#		all 10 answered by a

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

plain_backend a
plain_backend b
P=$(free_port)

conf <<EOF2
prefork 2
timeout connect 5s
table <pool> { 127.0.0.1 port $(port a), 127.0.0.1 port $(port b) }

listen on 127.0.0.1 port $P {
	default forward to <pool> check tcp interval 300ms fall 2 rise 2
}
EOF2
start_daemon "$P"

conns "$P" 10
conns_all_ok

plain_backend_kill a
plain_backend_kill b
for b in a b; do
	expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port "$b") is down" 5
done
sleep 0.2

conns "$P" 5
assert_eq 5 "$(grep -c ' FAIL ' "$T/conns.out")" "clients not answered"
L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "default")" unknown - no-server)"
five_logged() {
	[ "$(log_count "$(conn_line "$L" "[^ ]+" unknown - no-server)")" \
	    -eq 5 ]
}
poll 5 five_logged ||
    fail "not 5 log lines with end no-server:" \
    "$(log_count "end no-server")"

plain_backend_start a
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port a) is up" 5
sleep 0.2
conns "$P" 10
conns_all_ok
assert_eq 10 "$(conns_to a)" "connections answered by a once back"
