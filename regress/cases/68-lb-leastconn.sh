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
# Least connections: a new connection goes to the server with the
# fewest open ones.
#
# client:	six loadpeer.py hold clients opened one after the other and kept
#		open; then those on b and c closed; then 60 short plain
#		connections
# sniproxyd:	prefork 1, as each worker counts only its own connections;
#		default forward to <pool> mode leastconn
# servers:	three loadpeer.py servers a, b, c, each greeting with its name
# expect:	the six held connections spread two per server; with two
#		still held on a, none of the 60 goes to a, and every one is
#		answered; the held connections on a keep working throughout

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 1 "mode leastconn"

: >"$T/held"
for i in 1 2 3 4 5 6; do
	hold_open "h$i" "$P"
	hold_backend "h$i"
	echo "h$i $HELD" >>"$T/held"
done
cat "$T/held"
for b in a b c; do
	n=$(awk -v b="$b" '$2 == b' "$T/held" | wc -l)
	assert_eq 2 "$n" "held connections on $b"
done

awk '$2 != "a" { print $1 }' "$T/held" >"$T/stop"
while read -r h; do
	hold_stop "$h"
done <"$T/stop"
b_and_c_closed() {
	[ "$(established_to "$(port b)")" -eq 0 ] &&
	    [ "$(established_to "$(port c)")" -eq 0 ]
}
poll 5 b_and_c_closed ||
    fail "the closed connections to b and c are still established"
assert_eq 2 "$(established_to "$(port a)")" "connections held on a"

conns "$P" 60
conns_all_ok
for b in a b c; do
	echo "server $b answered $(conns_to "$b") of 60"
done
assert_eq 0 "$(conns_to a)" "connections answered by a, which holds two"

awk '$2 == "a" { print $1 }' "$T/held" >"$T/stop"
while read -r h; do
	hold_stop "$h"
done <"$T/stop"
