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
# Weights: a server of weight 2 takes twice the connections of one of
# weight 1.
#
# client:	loadpeer.py conns: 300 short plain connections one after the
#		other (a third of the 1,000 of the issue)
# sniproxyd:	prefork 2; default forward to <pool> (roundrobin), servers
#		of weight 1, 2 and 1
# servers:	three loadpeer.py servers a, b, c, each greeting with its name
# expect:	every connection answered; a and c a quarter each (75, within
#		10 %: 67 to 83), b half (150, within 10 %: 135 to 165)

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers

conf <<EOF2
prefork 2
table <pool> {
	127.0.0.1 port $(port a) weight 1
	127.0.0.1 port $(port b) weight 2
	127.0.0.1 port $(port c) weight 1
}

listen on 127.0.0.1 port $P {
	default forward to <pool>
}
EOF2
start_daemon "$P"

conns "$P" 300
conns_all_ok
for b in a b c; do
	echo "server $b answered $(conns_to "$b") of 300"
done
in_range "connections answered by a (weight 1)" "$(conns_to a)" 67 83
in_range "connections answered by b (weight 2)" "$(conns_to b)" 135 165
in_range "connections answered by c (weight 1)" "$(conns_to c)" 67 83
