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
# A worker killed with SIGKILL is replaced, and nothing else notices.
#
# client:	an openssl s_client connection on route echo, open across the
#		kill; curl on route web before, during and after
# sniproxyd:	prefork 2; match tls sni "echo...", "web..."
# servers:	openssl s_server -rev "echo", openssl s_server "web"
# expect:	the log says the web worker was killed by signal 9; a new
#		web worker appears; every curl is answered; the echo connection
#		answers before and after the kill

backend_rev echo
backend web
P=$(free_port)

conf <<EOF
prefork 2
table <echo> { 127.0.0.1 port $(port echo) }
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	match tls sni "echo.$DOMAIN" forward to <echo>
	match tls sni "web.$DOMAIN" forward to <web>
}
EOF
start_daemon "$P"

client_open long "echo.$DOMAIN" "$P"
client_send long ping-one
client_expect long eno-gnip 10
body=$(fetch "web.$DOMAIN" "$P") || fail "curl for web.$DOMAIN failed"
assert_eq "backend web" "$body" "answer before the kill"

workers=$(procs_titled "$DAEMON_PID" "route web")
assert_eq 2 "$(echo "$workers" | wc -w)" "web workers"
victim=$(echo "$workers" | head -n 1)
kill -KILL "$victim"
expect_log "route web \\(pid $victim\\) killed by signal 9"

for i in 1 2 3; do
	body=$(fetch "web.$DOMAIN" "$P") ||
	    fail "curl $i for web.$DOMAIN after the kill failed"
	assert_eq "backend web" "$body" "answer $i after the kill"
done

n=50
while :; do
	now=$(procs_titled "$DAEMON_PID" "route web")
	if [ "$(echo "$now" | wc -w)" -eq 2 ] &&
	    ! echo "$now" | grep -qx "$victim"; then
		break
	fi
	[ "$n" -gt 0 ] || fail "no new web worker in 5 s (now: $now)"
	tick
	n=$((n - 1))
done
assert_eq 2 "$(procs_titled "$DAEMON_PID" "route echo" | wc -w)" \
    "echo workers"

# Enough requests that the round robin hands some to the new worker.
for i in 1 2 3 4; do
	body=$(fetch "web.$DOMAIN" "$P") ||
	    fail "curl $i for web.$DOMAIN after the respawn failed"
	assert_eq "backend web" "$body" "answer $i after the respawn"
done

alive "$(client_pid long)" || fail "the echo connection ended with the kill"
client_send long ping-two
client_expect long owt-gnip 10
