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
# Started as an ordinary user, sniproxyd runs the same process tree,
# without a privilege drop, and says so once.
#
# client:	curl
# sniproxyd:	as nobody (runuser or setpriv, when the tests run as root)
#		or as the user running the tests; accept 2, prefork 2,
#		one route
# servers:	openssl s_server "web"
# expect:	the parent, two accept processes and two workers, all with the
#		same uid, no chroot; "not started as root" logged once; curl
#		answered

backend web
P=$(free_port)

conf <<EOF
# Two accept processes, each with the same uid as the others.
accept 2
prefork 2
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
}
EOF

if is_root; then
	user=$(unpriv_user)
	if runuser -u "$user" -- true 2>/dev/null; then
		as_user="runuser -u $user --"
	elif setpriv --reuid="$user" --regid="$user" --clear-groups \
	    true 2>/dev/null; then
		as_user="setpriv --reuid=$user --regid=$user --clear-groups"
	else
		skip "neither runuser nor setpriv can run a command as $user"
	fi
	uid=$(id -u "$user")
else
	user=$(id -un)
	as_user=
	uid=$(id -u)
fi

# Without the root-only options, with the control socket in a directory
# of the user's, and with a copy of the binary that anyone can run.
mkdir -p "$T/user" "$T/bin" || fail "cannot make $T/user"
grep -v -e '^user ' -e '^chroot ' "$CONF" |
    sed -e "s|^control socket .*|control socket \"$T/user/control.sock\"|" \
    >"$T/user/sniproxyd.conf" || fail "cannot write $T/user/sniproxyd.conf"
cp "$SNIPROXYD" "$T/bin/$PROGNAME" || fail "cannot copy $SNIPROXYD"
chmod 755 "$T/user" "$T/bin" "$T/bin/$PROGNAME"
chmod 644 "$T/user/sniproxyd.conf"
chown "$user" "$T/user" || fail "cannot give $T/user to $user"
CONF=$T/user/sniproxyd.conf

log_mark
# shellcheck disable=SC2086
$as_user "$T/bin/$PROGNAME" -d -f "$CONF" </dev/null 2>>"$DAEMON_LOG" &
DAEMON_PID=$!
wait_started "$P"

# The parent is the process started, or the one runuser started.
priv=
for p in "$DAEMON_PID" $(descendants "$DAEMON_PID"); do
	[ "$(role "$p")" = priv ] && priv=$p
done
[ -n "$priv" ] || fail "no process titled '$PROGNAME: priv'"

body=$(fetch "web.$DOMAIN" "$P") || fail "curl for web.$DOMAIN failed"
assert_eq "backend web" "$body" "answer"

assert_eq 2 "$(procs_titled "$priv" accept | wc -w)" \
    "accept processes"
assert_eq 2 "$(procs_titled "$priv" "route web" | wc -w)" \
    "web workers"
assert_eq 4 "$(children "$priv" | wc -w)" "processes below the parent"
for p in "$priv" $(children "$priv"); do
	t=$(title "$p")
	assert_eq "$uid" \
	    "$(awk '$1 == "Uid:" { print $3 }' "/proc/$p/status")" \
	    "effective uid of $t"
	assert_eq / "$(readlink "/proc/$p/root")" "root of $t"
done
assert_eq 1 "$(log_count "not started as root")" \
    "log lines saying 'not started as root'"

# The parent itself is told to stop: runuser would take its time.
kids=$(children "$priv")
kill -TERM "$priv"
for p in "$priv" $kids; do
	wait_gone "$p" 5 || fail "$(title "$p") still running 5 s after SIGTERM"
done
wait_exit "$DAEMON_PID" 5
DAEMON_PID=
