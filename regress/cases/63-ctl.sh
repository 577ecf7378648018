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
# sniproxyctl: every command it knows, and what it does with one it
# does not know or a socket that is not there.
#
# client:	curl on route web; an openssl s_client connection held open
#		on route echo; loadpeer.py tlsonce on route app
# sniproxyd:	prefork 2; keypair "site" (the run's certificate); route
#		web and echo passed through, app terminated with "site";
#		control socket of the case
# servers:	openssl s_server "web", openssl s_server -rev "echo", a
#		loadpeer.py server "app"
# expect:	show summary: version, uptime, generation 1 current, one
#		connection active; show routes: one line per route with its
#		counters (connections, active, bytes, errors), which add up
#		to what was done; show connections: the held connection
#		with its client address and port, route echo and backend;
#		show certificates: keypair site with its subject, names and
#		not-after date as openssl reads them; log verbose makes the
#		daemon log the requests it gets, log brief stops that; an
#		unknown command is a usage error, status 1, that never
#		reaches the daemon; a socket that is not there is status 1
#		with the path and the reason; without -s, the socket of
#		the configuration named with -f (the last control socket
#		line), the default without one, and a missing -f file is
#		an error

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

three_routes 2

# run_ctl STATUS ARGS...: sniproxyctl must exit with STATUS; its
# standard output is in $T/ctl.out, its standard error in $T/ctl.err.
run_ctl() {
	_want=$1
	shift
	"$SNIPROXYCTL" "$@" >"$T/ctl.out" 2>"$T/ctl.err"
	_rv=$?
	[ "$_rv" -eq "$_want" ] || fail "sniproxyctl $*: status $_rv, not" \
	    "$_want: $(cat "$T/ctl.out" "$T/ctl.err")"
	echo "\$ sniproxyctl $*"
	cat "$T/ctl.out" "$T/ctl.err"
}

ctl_has() {
	grep -Eq -- "$1" "$T/ctl.out" ||
	    fail "sniproxyctl $2: no line matching /$1/: $(cat "$T/ctl.out")"
}

S=$T/control.sock
body=$(fetch "web.$DOMAIN" "$P") || fail "curl for web.$DOMAIN failed"
assert_eq "backend web" "$body" "answer for web.$DOMAIN"
got=$(timeout 10 python3 "$PEER" tlsonce 127.0.0.1 "$P" "app.$DOMAIN" \
    "$PKI/ca.pem")
assert_eq "app 2" "$got" "answer and certificate serial on route app"
client_open long "echo.$DOMAIN" "$P"
client_send long ping
client_expect long gnip 10

run_ctl 0 -s "$S" show summary
ctl_has '^version [0-9]' "show summary"
ctl_has '^uptime [0-9]+s$' "show summary"
ctl_has '^generation 1 current, 3 routes, 1 listeners, [0-9]+ accept processes, sniproxyd [0-9.]+, started [0-9T:Z-]+$' "show summary"
ctl_has '^connections active 1 total [3-9][0-9]* ' "show summary"

run_ctl 0 -s "$S" show connections
lport=$(client_local_ports "$P")
[ "$(echo "$lport" | wc -w)" -eq 1 ] ||
    fail "not one client connection to port $P: $lport"
H=127\\.0\\.0\\.1
ctl_has "^$H:$lport route echo to $H:$(port echo) age [0-9]+s up [1-9][0-9]*\
 down [1-9][0-9]*$" "show connections"
[ "$(wc -l <"$T/ctl.out")" -eq 1 ] ||
    fail "show connections: more than the one open connection"

run_ctl 0 -s "$S" show routes
for r in web echo app; do
	ctl_has "^route $r connections [0-9]+ active [0-9]+ up [0-9]+\
 down [0-9]+ errors [0-9]+$" "show routes"
done
# sniproxyctl(8): "for each route", one line, whatever the number of
# workers that share its counters.
for r in web echo app; do
	n=$(awk -v r="$r" '$1 == "route" && $2 == r' "$T/ctl.out" | wc -l)
	[ "$n" -eq 1 ] || later "show routes: $n lines for route $r, not one:" \
	    "$(grep "^route $r " "$T/ctl.out" | tr '\n' ';')"
done
# The counters of a route's workers together.
for r in "web 1 0" "echo 1 1" "app 1 0"; do
	sum=$(awk -v r="${r%% *}" '$1 == "route" && $2 == r {
		c += $4; a += $6 } END { print r, c + 0, a + 0 }' "$T/ctl.out")
	assert_eq "$r" "$sum" "route, connections and active"
done

run_ctl 0 -s "$S" show certificates
subject=$(openssl x509 -in "$PKI/leaf.pem" -noout -subject -nameopt compat |
    sed -e 's/^subject=//')
end=$(openssl x509 -in "$PKI/leaf.pem" -noout -enddate |
    sed -e 's/^notAfter=//')
notafter=$(date -u -d "$end" +%Y-%m-%dT%H:%M:%SZ) ||
    fail "cannot read the date $end"
names="$DOMAIN,\\*\\.$DOMAIN,\\*\\.w\\.$DOMAIN,\\*\\.b\\.w\\.$DOMAIN"
ctl_has "^keypair site subject $(re "$subject") names $names\
 notafter $notafter$" "show certificates"

# A request the daemon reads is logged at debug level, and only then.
run_ctl 0 -s "$S" log verbose
run_ctl 0 -s "$S" show summary
expect_log '^control: show summary$'
run_ctl 1 -s "$S" frobnicate
grep -q '^usage: ' "$T/ctl.err" || fail "frobnicate: no usage message"
run_ctl 1 -s "$S" show
grep -q '^usage: ' "$T/ctl.err" || fail "show: no usage message"
run_ctl 1 -s "$S" show everything
grep -q '^usage: ' "$T/ctl.err" || fail "show everything: no usage message"
run_ctl 1 -s "$S" reload now
grep -q '^usage: ' "$T/ctl.err" || fail "reload now: no usage message"
run_ctl 0 -s "$S" log brief
run_ctl 0 -s "$S" show routes
sleep 0.3
assert_log_lacks '^control: (frobnicate|show$|show everything|reload now)'
assert_log_lacks '^control: show routes$'

run_ctl 1 -s "$T/nothing.sock" show summary
grep -q "$(re "$T/nothing.sock"): No such file or directory" "$T/ctl.err" ||
    fail "missing socket: $(cat "$T/ctl.err")"

# Without -s, the socket comes from the configuration's control socket
# line, quoted or not, the last one winning; -f names a file that must
# be there.
run_ctl 0 -f "$CONF" show summary
ctl_has '^generation 1 current' "-f $CONF show summary"
printf '# control socket "%s"\ncontrol socket "%s"\n\tcontrol  socket %s\n' \
    "$T/not.sock" "$T/not.sock" "$T/other.sock" >"$T/ctl.conf"
run_ctl 1 -f "$T/ctl.conf" show summary
grep -q "$(re "$T/other.sock"): No such file or directory" "$T/ctl.err" ||
    fail "-f with the last control socket: $(cat "$T/ctl.err")"
run_ctl 1 -f "$T/nothing.conf" show summary
grep -q "$(re "$T/nothing.conf"): No such file or directory" "$T/ctl.err" ||
    fail "-f with a missing file: $(cat "$T/ctl.err")"
echo 'prefork 2' >"$T/nosock.conf"
run_ctl 1 -f "$T/nosock.conf" show summary
grep -q '/var/run/sniproxyd\.sock: ' "$T/ctl.err" ||
    fail "-f without control socket: $(cat "$T/ctl.err")"

client_send long pong
client_expect long gnop 10
check_later
