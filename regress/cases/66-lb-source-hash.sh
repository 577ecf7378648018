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
# Source hash: every connection from one client address goes to the
# same server, and different addresses are spread over the servers.
#
# client:	loadpeer.py conns: 300 short plain connections one after the
#		other (a third of the 1,000 of the issue), from twelve
#		source addresses 127.0.0.10 to 127.0.0.21 in turn, 25 each
# sniproxyd:	prefork 2; default forward to <pool> mode source-hash
# servers:	three loadpeer.py servers a, b, c, each greeting with its name
# expect:	every connection answered; all 25 connections of each
#		source answered by one server; at least two servers used;
#		the log shows each source with one backend only

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "mode source-hash"

srcs=
i=10
while [ "$i" -le 21 ]; do
	srcs="$srcs${srcs:+,}127.0.0.$i"
	i=$((i + 1))
done
conns "$P" 300 "$srcs"
conns_all_ok

# Source and server, once per pair seen.
sort -u "$T/conns.out" >"$T/pairs"
cat "$T/pairs"
for s in $(echo "$srcs" | tr ',' ' '); do
	n=$(awk -v s="$s" '$1 == s' "$T/pairs" | wc -l)
	[ "$n" -eq 1 ] || fail "source $s went to $n servers:" \
	    "$(awk -v s="$s" '$1 == s { printf "%s ", $2 }' "$T/pairs")"
	c=$(awk -v s="$s" '$1 == s' "$T/conns.out" | wc -l)
	assert_eq 25 "$c" "connections from $s"
done
used=$(awk '{ print $2 }' "$T/pairs" | sort -u | wc -l)
echo "servers used: $used"
[ "$used" -ge 2 ] || fail "every source went to the same server"

# The workers agree with what the clients saw.
wait_log "127\\.0\\.0\\.21:[0-9]+ on .* to " 5
log_since_mark | sed -n \
    's/^\(127\.0\.0\.[0-9]*\):[0-9]* on .* to \([^ ]*\) up .*/\1 \2/p' |
    sort -u >"$T/logpairs"
for s in $(echo "$srcs" | tr ',' ' '); do
	n=$(awk -v s="$s" '$1 == s' "$T/logpairs" | wc -l)
	[ "$n" -eq 1 ] || fail "the log has source $s with $n backends"
done
