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
# Round robin spreads the connections of a table evenly over its
# servers.
#
# client:	loadpeer.py conns: 300 short plain connections one after the
#		other (a third of the 1,000 of the issue, which is still
#		enough to tell an even spread from an uneven one)
# sniproxyd:	prefork 2; default forward to <pool> mode roundrobin
# servers:	three loadpeer.py servers a, b, c, each greeting with its name
# expect:	every connection answered; each server answers a third of
#		them, within 10 % (90 to 110); the log has a line for each
#		server

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "mode roundrobin"

conns "$P" 300
conns_all_ok
for b in a b c; do
	n=$(conns_to "$b")
	echo "server $b answered $n of 300"
	in_range "connections answered by $b" "$n" 90 110
	expect_log "$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "default")" \
	    unknown "127\\.0\\.0\\.1:$(port "$b")" eof)"
done
