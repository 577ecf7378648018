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
# sniproxyd behind HAProxy: a listener with "accept proxy" reads the
# PROXY header HAProxy sends (send-proxy and send-proxy-v2), routes by
# the SNI that follows it, logs the client from the header and passes
# that client on in a header of its own.
#
# client:	curl bound to 127.0.0.2, to HAProxy, for a.example.com
#		(frontend with send-proxy) and b.example.com (frontend
#		with send-proxy-v2)
# sniproxyd:	listen ... accept proxy from 127.0.0.1; match tls sni "a..." and "b..."
#		forward to their tables with send proxy v2; default block
# servers:	HAProxy, mode tcp, two frontends whose server is
#		sniproxyd; Python servers "a" and "b" that read a PROXY
#		header, record it, then speak TLS and HTTP
# expect:	both answered by their backend; sniproxyd logs
#		127.0.0.2:PORT (the port curl used) as the client; each
#		backend recorded a v2 header with src=127.0.0.2:PORT and
#		the AUTHORITY TLV of its name; HAProxy logs the same client

. "$TOP/regress/peers.sh"

need haproxy
for b in a b; do
	py_server "$b" --proxy --tls --http --cert "$PKI/leaf.pem" \
	    --key "$PKI/leaf.key"
done
P=$(free_port)
H1=$(free_port)
H2=$(free_port)

conf <<EOF2
table <a> { 127.0.0.1 port $(port a) }
table <b> { 127.0.0.1 port $(port b) }

listen on 127.0.0.1 port $P accept proxy from 127.0.0.1 {
	match tls sni "a.$DOMAIN" forward to <a> send proxy v2
	match tls sni "b.$DOMAIN" forward to <b> send proxy v2
	default block
}
EOF2
start_daemon "$P"

haproxy_start haproxy "$H1" "$H2" <<EOF2
frontend f1
	bind 127.0.0.1:$H1
	default_backend s1
frontend f2
	bind 127.0.0.1:$H2
	default_backend s2
backend s1
	server sniproxyd 127.0.0.1:$P send-proxy
backend s2
	server sniproxyd 127.0.0.1:$P send-proxy-v2
EOF2

for x in a:$H1:f1 b:$H2:f2; do
	n=${x%%:*}
	h=${x#*:}
	fe=${h#*:}
	h=${h%:*}
	# shellcheck disable=SC2034
	FETCH_OPTS="--interface 127.0.0.2 -o $T/body.$n -w %{local_port}"
	cport=$(fetch "$n.$DOMAIN" "$h") || fail "curl for $n.$DOMAIN failed"
	assert_eq "backend $n" "$(cat "$T/body.$n")" "answer for $n.$DOMAIN"
	echo "$n: curl used 127.0.0.2:$cport, through $fe"
	expect_log "$(conn_from "127\\.0\\.0\\.2:$cport" "127\\.0\\.0\\.1:$P" \
	    "$(rule_re "\"$n.$DOMAIN\"")" "$(tls_sni "$n.$DOMAIN")" \
	    "127\\.0\\.0\\.1:$(port "$n")" "(eof|reset)")"
	wait_conns "$n" 1
	grep -Eq "proxy=v2 cmd=1 family=11 src=127\\.0\\.0\\.2:$cport \
.*authority=$(re "$n.$DOMAIN")" "$T/b/$n/conns" ||
	    fail "$n did not get the client in a v2 header: $(conns "$n")"
	wait_file_has "$T/b/haproxy/log" \
	    "^conn client=127\\.0\\.0\\.2:$cport frontend=$fe "
done
conns a
conns b
assert_log_lacks "bad-proxy|untrusted-proxy"
assert_log_lacks "killed by signal|respawning"
