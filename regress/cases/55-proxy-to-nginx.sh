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
# sniproxyd in front of nginx's stream module: "send proxy v1" and
# "send proxy v2" give nginx (listen ... proxy_protocol) the client's
# own address and port.
#
# client:	curl bound to 127.0.0.2 for v1.example.com and
#		v2.example.com; a Python plain client bound to 127.0.0.2
# sniproxyd:	match tls sni "v1..." send proxy v1, match tls sni
#		"v2..." send proxy v2, both to <nginx>; default forward
#		to <nginx> send proxy v2 for the plain client
# servers:	nginx, stream { server { listen ... proxy_protocol;
#		proxy_pass ... } } with a log_format of
#		$proxy_protocol_addr:$proxy_protocol_port; behind it
#		openssl s_server "web" and, on a second listen, a Python
#		line server "echo"
# expect:	every client answered through nginx; nginx logs
#		pp=127.0.0.2:PORT with the port each client used, and
#		remote=127.0.0.1 (sniproxyd itself); sniproxyd logs the
#		same clients

. "$TOP/regress/peers.sh"

need nginx
backend web
py_server echo
N1=$(free_port)
N2=$(free_port)
nginx_start nginx "$N1" "$N2" <<EOF2
stream {
	log_format pp 'conn pp=\$proxy_protocol_addr:\$proxy_protocol_port '
	    'remote=\$remote_addr:\$remote_port server=\$server_port '
	    'status=\$status';
	access_log $T/b/nginx/access.log pp;
	server {
		listen 127.0.0.1:$N1 proxy_protocol;
		proxy_pass 127.0.0.1:$(port web);
	}
	server {
		listen 127.0.0.1:$N2 proxy_protocol;
		proxy_pass 127.0.0.1:$(port echo);
	}
}
EOF2
P=$(free_port)

conf <<EOF2
table <nginx> { 127.0.0.1 port $N1 }
table <nginx2> { 127.0.0.1 port $N2 }

listen on 127.0.0.1 port $P {
	match tls sni "v1.$DOMAIN" forward to <nginx> send proxy v1
	match tls sni "v2.$DOMAIN" forward to <nginx> send proxy v2
	default forward to <nginx2> send proxy v2
}
EOF2
start_daemon "$P"

A=$T/b/nginx/access.log
for v in v1 v2; do
	# shellcheck disable=SC2034
	FETCH_OPTS="--interface 127.0.0.2 -o $T/body.$v -w %{local_port}"
	cport=$(fetch "$v.$DOMAIN" "$P") || fail "curl for $v.$DOMAIN failed"
	assert_eq "backend web" "$(cat "$T/body.$v")" "answer for $v.$DOMAIN"
	echo "$v: curl used 127.0.0.2:$cport"
	wait_file_has "$A" "^conn pp=127\\.0\\.0\\.2:$cport \
remote=127\\.0\\.0\\.1:[0-9]+ server=$N1 "
	expect_log "$(conn_from "127\\.0\\.0\\.2:$cport" "127\\.0\\.0\\.1:$P" \
	    "$(rule_re "\"$v.$DOMAIN\"")" "$(tls_sni "$v.$DOMAIN")" \
	    "127\\.0\\.0\\.1:$N1" "$FETCH_END")"
done

out=$(py_client --port "$P" --src 127.0.0.2 --send 'plain through nginx\n' \
    2>"$T/plain.err") || fail "the plain client failed: $(cat "$T/plain.err")"
assert_eq "echo: plain through nginx" "$out" "answer to the plain client"
cport=$(sed -n 's/^local 127\.0\.0\.2:\([0-9]*\)$/\1/p' "$T/plain.err")
wait_file_has "$A" "^conn pp=127\\.0\\.0\\.2:$cport \
remote=127\\.0\\.0\\.1:[0-9]+ server=$N2 "
expect_log "$(conn_from "127\\.0\\.0\\.2:$cport" "127\\.0\\.0\\.1:$P" \
    "$(rule_re "default forward")" unknown "127\\.0\\.0\\.1:$N2" eof)"
# The echo server, behind nginx, sees only nginx.
conns echo | grep -q "^peer=127\\.0\\.0\\.1:" ||
    fail "echo was not reached through nginx: $(conns echo)"
if grep -q "^conn pp=127\\.0\\.0\\.1:" "$A"; then
	fail "nginx logged sniproxyd's address as the client:" \
	    "$(grep "^conn pp=127\\.0\\.0\\.1:" "$A")"
fi
