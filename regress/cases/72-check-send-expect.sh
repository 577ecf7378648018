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
# check send "..." expect "...": a server that answers the probe with
# something else is down; once it answers right it is up again.
#
# client:	loadpeer.py conns: 60 short plain connections, twice
# sniproxyd:	prefork 2; default forward to <pool> check send "PING\r\n"
#		expect "PONG" interval 300ms fall 2 rise 2
# servers:	loadpeer.py servers a and b answering PING with PONG, c with
#		NOPE; c then started again answering PONG
# expect:	"server ... is down" for c within 5 s, never for a or b; the
#		60 go to a and b only; after c answers PONG, "is up" for c
#		and c answers at least 10 of 60

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

plain_backend a pong
plain_backend b pong
plain_backend c nope
P=$(free_port)
check='check send "PING\r\n" expect "PONG" interval 300ms fall 2 rise 2'
pool_start 2 "$check"
C="127\\.0\\.0\\.1:$(port c)"

expect_log "table <pool>: server $C is down" 5
sleep 0.2
conns "$P" 60
conns_all_ok
echo "c down: a $(conns_to a), b $(conns_to b), c $(conns_to c)"
assert_eq 0 "$(conns_to c)" "connections answered by c, which says NOPE"
if [ "$(conns_to a)" -eq 0 ] || [ "$(conns_to b)" -eq 0 ]; then
	fail "a and b did not share the connections"
fi

plain_backend_kill c
echo pong >"$T/b/c/mode"
plain_backend_start c
expect_log "table <pool>: server $C is up" 5
sleep 0.2
conns "$P" 60
conns_all_ok
echo "c up: a $(conns_to a), b $(conns_to b), c $(conns_to c)"
[ "$(conns_to c)" -ge 10 ] ||
    fail "c answered only $(conns_to c) of 60 once it said PONG"
for b in a b; do
	assert_log_lacks "table <pool>: server 127\\.0\\.0\\.1:$(port "$b") is"
done
