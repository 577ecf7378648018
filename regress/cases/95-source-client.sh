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
# "source client": the server sees the client's own address, with no
# PROXY header, and only the workers of such rules keep CAP_NET_ADMIN.
# Everything runs in a network namespace of the case's own, with the
# policy routing of sniproxyd.conf(5) set up there; as every 127.0.0.0/8
# address is the host's own, the replies need no mark to come back.
#
# client:	Python clients bound to 127.0.0.3 and 127.0.0.4 sending a
#		line; SIGHUP to a daemon started without source client,
#		after the rule gains it
# sniproxyd:	listen on 127.0.0.1 P { default forward to <web> source
#		client }, prefork 1; then the same without source client
# servers:	a Python line server "web" on 127.0.0.1 recording peers
# expect:	web answers both and saw peers 127.0.0.3 and 127.0.0.4,
#		no PROXY header; the route worker runs as the user with
#		CapEff and CapPrm 0000000000001000 (CAP_NET_ADMIN alone),
#		the accept process with none, the parent with its six and
#		CAP_NET_ADMIN (00000000000414e4); the reload that adds
#		source client to a daemon started without it fails and says
#		to restart

in_netns "$4"

. "$TOP/regress/peers.sh"

for a in 127.0.0.3 127.0.0.4; do
	ip addr add "$a/8" dev lo || fail "cannot add $a to lo"
done
ip rule add fwmark 1 lookup 100 || fail "ip rule add fwmark"
ip route add local 0.0.0.0/0 dev lo table 100 || fail "ip route add local"

py_server web --proxy
P=$(free_port)

conf <<EOF2
# One accept process, whose capabilities are read.
accept 1
prefork 1
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	default forward to <web> source client
}
EOF2
start_daemon "$P"

for a in 127.0.0.3 127.0.0.4; do
	out=$(py_client --port "$P" --src "$a" --send 'hello\n' \
	    2>"$T/c.err") || fail "client from $a: $(tail -n 1 "$T/c.err")"
	assert_eq "web: hello" "$out" "answer to $a"
done
wait_conns web 2
for a in 127.0.0.3 127.0.0.4; do
	conns web | grep -Eq "^peer=$(re "$a"):[1-9][0-9]* proxy=none( |\$)" ||
	    fail "web did not see $a without a header: $(conns web)"
done

caps() {
	awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

user=$(unpriv_user)
worker=$(procs_titled "$DAEMON_PID" "route web")
[ -n "$worker" ] || fail "no route worker"
assert_eq "$(id -u "$user")" "$(awk '$1 == "Uid:" { print $3 }' \
    "/proc/$worker/status")" "worker's effective uid"
for set in CapEff CapPrm; do
	assert_eq 0000000000001000 "$(caps "$worker" "$set")" \
	    "worker's $set"
	assert_eq 0000000000000000 "$(caps "$(procs_titled "$DAEMON_PID" \
	    accept)" "$set")" "accept process's $set"
done
assert_eq 00000000000414e4 "$(caps "$DAEMON_PID" CapEff)" "parent's CapEff"
stop_daemon || fail "sniproxyd did not stop"

sed -e 's/ source client$//' "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF" ||
    fail "cannot rewrite $CONF"
start_daemon "$P"
sed -e 's/forward to <web>$/& source client/' "$CONF" >"$CONF.new" &&
    mv "$CONF.new" "$CONF" || fail "cannot rewrite $CONF"
grep -q 'source client$' "$CONF" || fail "no source client in $CONF"
kill -HUP "$DAEMON_PID"
expect_log "source client needs CAP_NET_ADMIN, which sniproxyd gave up"
expect_log "reload failed: keeping the running configuration"
