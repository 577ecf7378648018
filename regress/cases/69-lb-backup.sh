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
# A backup server takes connections only when every other server of
# its table is down.
#
# client:	loadpeer.py conns: 60 short plain connections at each step
# sniproxyd:	prefork 2; default forward to <pool> check tcp interval
#		300ms fall 2 rise 2; <pool> is a, b and c backup
# servers:	three loadpeer.py servers a, b, c, each greeting with its name;
#		a killed, then b killed, then a started again
# expect:	all up: a and b share the 60, c none; a down: all to b; a
#		and b down: all to c; a back up: all to a, c none

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 2 "check tcp interval 300ms fall 2 rise 2" backup

# step WHAT A B C: 60 connections, every one answered, A, B and C of
# them by a, b and c ("-" for any number but 0).
step() {
	conns "$P" 60
	conns_all_ok
	echo "$1: a $(conns_to a), b $(conns_to b), c $(conns_to c)"
	_what=$1
	shift
	for _b in a b c; do
		if [ "$1" = - ]; then
			[ "$(conns_to "$_b")" -gt 0 ] ||
			    fail "$_what: no connection answered by $_b"
		else
			assert_eq "$1" "$(conns_to "$_b")" \
			    "$_what: connections answered by $_b"
		fi
		shift
	done
}

step "all up" - - 0
plain_backend_kill a
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port a) is down" 5
step "a down" 0 60 0
plain_backend_kill b
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port b) is down" 5
step "a and b down" 0 0 60
plain_backend_start a
expect_log "table <pool>: server 127\\.0\\.0\\.1:$(port a) is up" 5
step "a back" 60 0 0
assert_log_lacks "table <pool>: server 127\\.0\\.0\\.1:$(port c) is down"
