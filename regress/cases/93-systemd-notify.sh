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
# Under systemd (Type=notify): READY=1 once the first generation is up,
# RELOADING=1 then READY=1 around each reload, good or refused, and
# STOPPING=1; log lines on the journal's stream carry their level as
# "<N>" and no time, and fail2ban's filter matches them.
#
# client:	a plain connection to a blocked port rule; sniproxyctl
#		reload, good, then with a broken configuration
# sniproxyd:	started with NOTIFY_SOCKET naming a datagram socket of the
#		case, and JOURNAL_STREAM naming its log file; a block rule
#		and a default forward to <web>
# servers:	a Python listener on the notify socket writing each
#		datagram on a line; loadpeer.py server web
# expect:	READY=1 (with STATUS) arrives, and only after the log says
#		"sniproxyd ... started"; each reload adds RELOADING=1 with
#		MONOTONIC_USEC, then READY=1; the refused one fails sniproxyctl
#		and still ends with READY=1; SIGTERM sends STOPPING=1; no
#		child process has NOTIFY_SOCKET; the connection line of the
#		blocked client is "<6>CLIENT on ..." and the failregex of
#		etc/examples/fail2ban matches it without the "<6>", with the
#		client's address

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

plain_backend web
P=$(free_port)
N=$T/notify.sock
: >"$T/notify.out"
: >>"$DAEMON_LOG"
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as out:
	while True:
		try:
			m = s.recv(4096)
		except socket.timeout:
			break
		m = m.decode().replace("\n", " ").strip()
		with open(sys.argv[3]) as log:
			if m.startswith("READY=1") and "started" not in log.read():
				m += " EARLY"
		out.write(m + "\n")
		out.flush()
' "$N" "$T/notify.out" "$DAEMON_LOG" </dev/null >/dev/null 2>&1 &
track "$!"
poll 5 test -S "$N" || fail "the notify listener did not start"

conf <<EOF2
table <web> { 127.0.0.1 port $(port web) }
listen on 127.0.0.1 port $P {
	match payload "BAD" block
	default forward to <web>
}
EOF2
JOURNAL_STREAM=$(stat -c '%d:%i' "$DAEMON_LOG")
NOTIFY_SOCKET=$N
export JOURNAL_STREAM NOTIFY_SOCKET
start_daemon "$P"
unset JOURNAL_STREAM NOTIFY_SOCKET

notified() {
	[ "$(grep -c -- "$1" "$T/notify.out")" -ge "$2" ]
}
poll 5 notified '^READY=1 STATUS=' 1 || fail "no READY=1: $(cat "$T/notify.out")"
# The listener marks a READY=1 that came before the log said "started".
grep -q 'EARLY' "$T/notify.out" && fail "READY=1 before the start:" \
    "$(cat "$T/notify.out")"
for p in $(descendants "$DAEMON_PID"); do
	if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
	    grep -q '^NOTIFY_SOCKET='; then
		fail "child $p has NOTIFY_SOCKET"
	fi
done

ctl reload >"$T/ctl.out" 2>&1 || fail "reload: $(cat "$T/ctl.out")"
poll 5 notified '^READY=1' 2 || fail "no READY=1 after the reload:" \
    "$(cat "$T/notify.out")"
echo 'this is not a configuration' >>"$CONF"
ctl reload >"$T/ctl.out" 2>&1 && fail "a broken configuration reloaded"
cat "$T/ctl.out"
poll 5 notified '^READY=1' 3 || fail "no READY=1 after the refused" \
    "reload: $(cat "$T/notify.out")"
sed -n '2,$p' "$T/notify.out" | tr '\n' ';' >"$T/seq"
grep -Eq '^RELOADING=1 MONOTONIC_USEC=[0-9]+;READY=1[^;]*;RELOADING=1 MONOTONIC_USEC=[0-9]+;READY=1[^;]*;$' "$T/seq" ||
    fail "reload notifications: $(cat "$T/seq")"

printf 'BAD\n' | timeout 5 python3 -c '
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(sys.stdin.buffer.read())
s.settimeout(5)
try:
	s.recv(100)
except OSError:
	pass
' "$P"
expect_log '^<6>127\.0\.0\.1:[0-9]+ on .* end blocked$' 5
line=$(grep -E '^<6>127\.0\.0\.1:[0-9]+ on .* end blocked$' "$DAEMON_LOG" |
    head -n 1 | sed -e 's/^<6>//')
F=$TOP/etc/examples/fail2ban/filter.d/sniproxyd.conf
python3 - "$F" "$line" <<'EOF2' || fail "the fail2ban filter does not match: $line"
import configparser, re, sys
c = configparser.RawConfigParser()
c.read(sys.argv[1])
d = c["Definition"]
rx = d["failregex"].replace("%(__prefix_line)s", "")
rx = rx.replace("%(sniproxyd_reasons)s", d["sniproxyd_reasons"])
rx = rx.replace("<ADDR>", "(?P<addr>[0-9A-Fa-f.:]+)")
m = re.match(rx, sys.argv[2])
sys.exit(0 if m and m.group("addr") == "127.0.0.1" else 1)
EOF2
grep -q '^journalmatch = _SYSTEMD_UNIT=sniproxyd.service$' "$F" ||
    fail "the filter has no journalmatch for the unit"
grep -q '^backend *= *systemd$' "$TOP/etc/examples/fail2ban/jail.d/sniproxyd.conf" ||
    fail "the jail does not read the journal"

stop_daemon || fail "sniproxyd did not stop"
poll 5 notified '^STOPPING=1' 1 || fail "no STOPPING=1: $(cat "$T/notify.out")"
