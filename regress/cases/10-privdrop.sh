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
# Started as root, every process but the parent runs as the unprivileged
# user in the empty chroot; the parent stays root, confined by what it
# may read rather than by a chroot.  Every child is the binary exec'd
# anew: its program is mapped where the parent's is not.
#
# client:	curl, to show the tree at work
# sniproxyd:	user nobody (or _sniproxyd), chroot to an empty directory,
#		accept 2, prefork 2, one route
# servers:	openssl s_server "web"
# expect:	/proc shows the parent as uid 0 with its root at / and
#		no_new_privs set (Landlock needs it), both accept processes
#		and both workers with the user's uid and gid, their root at
#		the empty directory, and the binary mapped at an address
#		other than the parent's

is_root || skip "needs root"

backend web
P=$(free_port)

conf <<EOF
# Two accept processes: both must drop their privileges.
accept 2
prefork 2
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
}
EOF
start_daemon "$P"

body=$(fetch "web.$DOMAIN" "$P") || fail "curl for web.$DOMAIN failed"
assert_eq "backend web" "$body" "answer"

user=$(unpriv_user)
uid=$(id -u "$user")
gid=$(id -g "$user")

# Uid: and Gid: list the real, effective, saved and file system ids.
ids() {
	awk -v k="$2:" '$1 == k { print $2, $3, $4, $5 }' "/proc/$1/status"
}

assert_eq priv "$(role "$DAEMON_PID")" "parent's title"
assert_eq "0 0 0 0" "$(ids "$DAEMON_PID" Uid)" "parent's uids"
assert_eq "/" "$(readlink "/proc/$DAEMON_PID/root")" "parent's root"
# Without Landlock (valgrind has no such system call) nothing sets it.
if ! log_since_mark | grep -q "no Landlock"; then
	assert_eq 1 "$(awk '$1 == "NoNewPrivs:" { print $2 }' \
	    "/proc/$DAEMON_PID/status")" "parent's no_new_privs"
fi
# Kept: dac_read_search, kill, setgid, setuid, net_bind_service and
# sys_chroot; the bounding set passes no other on to what it execs.
for set in CapEff CapBnd; do
	assert_eq 00000000000404e4 "$(awk -v k="$set:" '$1 == k { print $2 }' \
	    "/proc/$DAEMON_PID/status")" "parent's $set"
done

# Where the program's first page is mapped in a process.  valgrind
# maps its own program at one address in every process it runs.
exe_at() {
	if [ -n "${VALGRIND:-}" ]; then
		echo "$1"
		return
	fi
	awk -v exe="$(readlink "/proc/$1/exe")" \
	    '$6 == exe { split($1, a, "-"); print a[1]; exit }' "/proc/$1/maps"
}
priv_at=$(exe_at "$DAEMON_PID")
[ -n "$priv_at" ] || fail "cannot find the parent's program in its maps"

kids=$(children "$DAEMON_PID")
assert_eq 4 "$(echo "$kids" | wc -w)" "processes below the parent"
for k in $kids; do
	case $(role "$k") in
	accept|"route web")
		;;
	*)
		fail "unexpected child $k: '$(title "$k")'"
		;;
	esac
	t=$(title "$k")
	assert_eq "$uid $uid $uid $uid" "$(ids "$k" Uid)" "uids of $t"
	assert_eq "$gid $gid $gid $gid" "$(ids "$k" Gid)" "gids of $t"
	assert_eq "$T/empty" "$(readlink "/proc/$k/root")" "root of $t"
	at=$(exe_at "$k")
	[ -n "$at" ] || fail "cannot find the program in the maps of $t"
	[ "$at" != "$priv_at" ] ||
	    fail "$t has the program at $at, as the parent: not exec'd"
	groups=$(awk '$1 == "Groups:" { $1 = ""; print }' "/proc/$k/status")
	for g in $groups; do
		[ "$g" = "$gid" ] || fail "$t keeps supplementary group $g"
	done
done
assert_eq 2 "$(procs_titled "$DAEMON_PID" accept | wc -w)" \
    "accept processes"
