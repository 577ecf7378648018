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
# sniproxyd's log on stderr: in the foreground (-d) every line carries
# the time and the level; as a daemon with no syslog to write to, it says
# so once and writes its log to the stderr it was started with.
#
# client:	none
# sniproxyd:	-d, then as a daemon with no /dev/log; one listener
# servers:	none
# expect:	-d: "started" with a time and "info" in front; daemon:
#		"no syslog at /dev/log: logging to stderr" once, then
#		"started" on the same stderr, with a time and "info"

P=$(free_port)
conf <<EOF2
table <none> { 127.0.0.1 port 9 }
listen on 127.0.0.1 port $P {
	default forward to <none>
}
EOF2

start_daemon "$P"
grep -Eq "^${LOG_STAMP}sniproxyd .* started\$" "$DAEMON_LOG" ||
    fail "-d: no stamped \"started\" line: $(cat "$DAEMON_LOG")"
stop_daemon || fail "sniproxyd -d did not stop"

[ -e /dev/log ] && skip "there is a syslog at /dev/log"

# The daemon leaves the case's process group; the log it holds open
# tells it from any other sniproxyd on the machine.
log_mark
"$SNIPROXYD" -f "$CONF" </dev/null 2>>"$DAEMON_LOG" ||
    fail "sniproxyd as a daemon: status $?: $(cat "$DAEMON_LOG")"
n=50
while [ -z "$DAEMON_PID" ] && [ "$n" -gt 0 ]; do
	for f in /proc/[0-9]*/fd/[0-9]*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$DAEMON_LOG" ] || continue
		p=${f#/proc/}
		p=${p%%/*}
		[ "$(role "$p")" = priv ] && DAEMON_PID=$p
	done
	[ -n "$DAEMON_PID" ] || tick
	n=$((n - 1))
done
[ -n "$DAEMON_PID" ] || fail "no sniproxyd priv process after daemon(3)"
wait_log 'sniproxyd .* started' 10 ||
    fail "the daemon wrote no \"started\" line to stderr: $(cat "$DAEMON_LOG")"
wait_listen "$P" 5 || fail "the daemon does not listen on $P"
n=$(grep -c 'no syslog at /dev/log: logging to stderr$' "$DAEMON_LOG")
assert_eq 1 "$n" "lines saying there is no syslog"
tail -n "+$((LOG_MARK + 1))" "$DAEMON_LOG" |
    grep -Eq "^${LOG_STAMP}sniproxyd .* started\$" ||
    fail "daemon: no stamped \"started\" line: $(cat "$DAEMON_LOG")"
stop_daemon || fail "the daemon did not stop on SIGTERM"
