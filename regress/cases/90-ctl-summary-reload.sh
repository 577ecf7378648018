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
# timeout 150
#
# show summary right after a reload answers for the new generation:
# processes still starting, and old ones on their way out, do not make
# it wait or say that some did not answer.
#
# client:	sniproxyctl reload, then at once show summary, five times;
#		an openssl s_client connection held open on route echo
#		across the reloads
# sniproxyd:	prefork 3; keypair "site"; routes web and echo passed
#		through, app terminated with "site" (its workers are ready
#		only once the keys helper has given them the keypair)
# servers:	openssl s_server "web", openssl s_server -rev "echo", a
#		loadpeer.py server "app"
# expect:	every show summary has status 0, no "did not answer" line,
#		the generation just made current, one connection active,
#		and comes back in less than the 2 seconds a process that
#		does not answer is waited for

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

three_routes 3
client_open long "echo.$DOMAIN" "$P"
client_send long ping
client_expect long gnip 10

for g in 2 3 4 5 6; do
	ctl reload >"$T/ctl.out" 2>&1 ||
	    fail "reload $g: $(cat "$T/ctl.out")"
	t0=$(now_ms)
	ctl show summary >"$T/ctl.out" 2>&1 ||
	    fail "show summary after reload $g: $(cat "$T/ctl.out")"
	ms=$(($(now_ms) - t0))
	echo "after reload $g, in $ms ms:"
	cat "$T/ctl.out"
	if grep -q 'did not answer' "$T/ctl.out"; then
		later "show summary after reload $g:" \
		    "$(grep 'did not answer' "$T/ctl.out")"
	fi
	grep -q "^generation $g current" "$T/ctl.out" ||
	    later "show summary after reload $g: no generation $g current"
	grep -q '^connections active 1 ' "$T/ctl.out" ||
	    later "show summary after reload $g:" \
	    "$(grep '^connections' "$T/ctl.out"), not 1 active"
	[ "$ms" -lt 1800 ] ||
	    later "show summary after reload $g took $ms ms"
done

client_send long pong
client_expect long gnop 10
check_later
