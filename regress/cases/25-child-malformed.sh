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
# A compromised child: messages that its role never sends, written on
# its own channel to the parent (taken with pidfd_getfd(2), as code
# running in the child could), end that child, which is replaced; the
# other processes and their connections go on.
#
# client:	openssl s_client held open on route b; curl on route a
# sniproxyd:	as root, prefork 1; match tls sni "a..." forward to <a>;
#		match tls sni "b..." forward to <b>
# servers:	openssl s_server "a"; openssl s_server -rev "b"
# sends:	from worker a: a host state (only check sends those), then
#		from the new worker a: statistics naming another route;
#		from accept: a message with two descriptors, then from the
#		new accept one of another version
# expect:	each time "... malformed ...: ending it" in the log and a
#		new process in place of the old; the held connection on b
#		answers throughout; curl on a answered at the end

is_root || skip "needs root to take a descriptor of another process"
skip_under_valgrind "valgrind keeps descriptors of its own in the process"
. "$TOP/regress/peers.sh"
need python3

backend a
backend_rev b
P=$(free_port)

conf <<EOF2
# One accept process, named so in the log: "accept (pid N)".
accept 1
prefork 1
table <a> { 127.0.0.1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }
listen on 127.0.0.1 port $P {
	match tls sni "a.$DOMAIN" forward to <a>
	match tls sni "b.$DOMAIN" forward to <b>
}
EOF2
start_daemon "$P"
client_open held "b.$DOMAIN" "$P"
client_send held "before"
client_expect held "erofeb"

cat >"$T/inject.py" <<'EOF2'
import array, ctypes, os, re, socket, struct, sys

msgh, pid, what = sys.argv[1], int(sys.argv[2]), sys.argv[3]
src = open(msgh).read()
version = int(re.search(r"#define MSG_VERSION\s+(\d+)", src).group(1))
body = re.search(r"enum msg_type \{(.*?)\};", src, re.S).group(1)
names = re.findall(r"^\s*(MSG_[A-Z_]+)", body, re.M)
types = {n: i + 1 for i, n in enumerate(names)}

libc = ctypes.CDLL(None, use_errno=True)
pidfd = libc.syscall(434, pid, 0)		# pidfd_open
if pidfd < 0:
    sys.exit("pidfd_open: %s" % os.strerror(ctypes.get_errno()))
fd = libc.syscall(438, pidfd, 3, 0)		# pidfd_getfd: the channel
if fd < 0:
    sys.exit("pidfd_getfd: %s" % os.strerror(ctypes.get_errno()))
s = socket.socket(fileno=fd)

def hdr(t, n, v=version):
    return struct.pack("=HHIQ", t, v, n, 0)

if what == "host-state":
    s.send(hdr(types["MSG_HOST_STATE"], 12) + struct.pack("=III", 0, 0, 0))
elif what == "stats-route":
    st = struct.pack("=IIQQQQQ", 4242, 0, 0, 0, 0, 0, 0)
    s.send(hdr(types["MSG_STATS"], len(st)) + st)
elif what == "two-fds":
    r, w = os.pipe()
    s.sendmsg([hdr(types["MSG_READY"], 3) + b"0.1"],
               [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                 array.array("i", [r, w]))])
elif what == "version":
    s.send(hdr(types["MSG_READY"], 3, version + 1) + b"0.1")
s.close()
EOF2

# inject ROLE WHAT LOGTEXT: sends WHAT as the process titled ROLE and
# waits for its replacement.
inject() {
	old=$(procs_titled "$DAEMON_PID" "$1" | head -n 1)
	[ -n "$old" ] || fail "no process '$1'"
	log_mark
	python3 "$T/inject.py" "$TOP/sniproxyd/msg.h" "$old" "$2" \
	    >"$T/inject.out" 2>&1 || fail "inject $2: $(cat "$T/inject.out")"
	expect_log "$(re "$1") \\(pid $old\\): $3: ending it" 5
	wait_gone "$old" 5 || fail "$1 ($old) still runs after $2"
	n=0
	until new=$(procs_titled "$DAEMON_PID" "$1" | head -n 1) &&
	    [ -n "$new" ] && [ "$new" != "$old" ]; do
		[ "$n" -lt 50 ] || fail "no new $1 after $2"
		tick
		n=$((n + 1))
	done
	echo "$2 from $1 ($old): ended, replaced by $new"
}

inject "route a" host-state "malformed host state"
inject "route a" stats-route "malformed statistics"
inject accept two-fds "malformed message"
inject accept version "malformed message"

client_send held "after"
client_expect held "retfa"
n=0
until body=$(fetch "a.$DOMAIN" "$P" 2>/dev/null) && [ "$body" = "backend a" ]
do
	[ "$n" -lt 50 ] || fail "curl on a after the injections: '$body'"
	tick
	n=$((n + 1))
done
