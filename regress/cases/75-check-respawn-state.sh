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
# A check process killed while a server is down is replaced, and the
# new one starts from what the old one found: the server counts as down
# until its checks pass, so its recovery is reported even though it
# came back while no check process was running.
#
# client:	none
# sniproxyd:	prefork 1; default forward to <pool> check tcp interval
#		300ms fall 2 rise 2
# servers:	three loadpeer.py servers a, b, c; a killed with SIGKILL,
#		started again once the check process has been replaced
# expect:	"server ... is down" within 5 s of the kill; the check
#		process killed with SIGKILL is replaced within 5 s; "server
#		... is up" within 5 s of a's restart

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pool_servers
pool_start 1 "check tcp interval 300ms fall 2 rise 2"
V="127\\.0\\.0\\.1:$(port a)"

plain_backend_kill a
expect_log "table <pool>: server $V is down" 5

victim=$(procs_titled "$DAEMON_PID" check)
assert_eq 1 "$(echo "$victim" | wc -w)" "check processes"
kill -KILL "$victim"
expect_log "\\(pid $victim\\) killed by signal 9" 5
n=50
while :; do
	now=$(procs_titled "$DAEMON_PID" check)
	[ -n "$now" ] && [ "$now" != "$victim" ] && break
	[ "$n" -gt 0 ] || fail "no new check process in 5 s"
	tick
	n=$((n - 1))
done

log_mark
plain_backend_start a
expect_log "table <pool>: server $V is up" 5
