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
# Failover: every connection goes to the first server while it is up,
# to the next one while it is down, and back once it is up again.
#
# client:	loadpeer.py conns: 100 short plain connections, then 30 with the
#		first server down, then 30 once it is back
# sniproxyd:	prefork 2; default forward to <pool> mode failover check tcp
#		interval 300ms fall 2 rise 2
# servers:	three loadpeer.py servers a, b, c, each greeting with its name;
#		a killed, then started again on its port
# expect:	all 100 answered by a; after "server ... is down" all 30 by
#		b; after "server ... is up" all 30 by a again

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "mode failover check tcp interval 300ms fall 2 rise 2"
A="127\\.0\\.0\\.1:$(port a)"

conns "$P" 100
conns_all_ok
assert_eq 100 "$(conns_to a)" "connections answered by a while it is up"

plain_backend_kill a
expect_log "table <pool>: server $A is down" 5
conns "$P" 30
conns_all_ok
assert_eq 30 "$(conns_to b)" "connections answered by b while a is down"

plain_backend_start a
expect_log "table <pool>: server $A is up" 5
conns "$P" 30
conns_all_ok
assert_eq 30 "$(conns_to a)" "connections answered by a once it is back"
