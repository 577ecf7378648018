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
# sniproxyd in front of HAProxy: "send proxy v1" and "send proxy v2"
# give HAProxy (bind ... accept-proxy) the client's own address and
# port, not sniproxyd's.
#
# client:	curl bound to 127.0.0.2, for v1.example.com and
#		v2.example.com
# sniproxyd:	match tls sni "v1..." forward to <haproxy> send proxy v1;
#		match tls sni "v2..." the same with send proxy v2
# servers:	HAProxy, mode tcp, bind 127.0.0.1:PORT accept-proxy, its
#		log format with %ci:%cp; behind it openssl s_server "web"
# expect:	both answered by web through HAProxy; HAProxy logs
#		client=127.0.0.2:PORT with the port curl used, once for
#		each version, and for v2 the name from the AUTHORITY TLV;
#		sniproxyd logs the same client

. "$TOP/regress/peers.sh"

need haproxy
backend web
H=$(free_port)
haproxy_start haproxy "$H" <<EOF2
frontend fe
	bind 127.0.0.1:$H accept-proxy
	default_backend be
backend be
	server web 127.0.0.1:$(port web)
EOF2
P=$(free_port)

conf <<EOF2
table <haproxy> { 127.0.0.1 port $H }

listen on 127.0.0.1 port $P {
	match tls sni "v1.$DOMAIN" forward to <haproxy> send proxy v1
	match tls sni "v2.$DOMAIN" forward to <haproxy> send proxy v2
}
EOF2
start_daemon "$P"

for v in v1 v2; do
	# shellcheck disable=SC2034
	FETCH_OPTS="--interface 127.0.0.2 -o $T/body.$v -w %{local_port}"
	cport=$(fetch "$v.$DOMAIN" "$P") || fail "curl for $v.$DOMAIN failed"
	assert_eq "backend web" "$(cat "$T/body.$v")" "answer for $v.$DOMAIN"
	echo "$v: curl used 127.0.0.2:$cport"
	# Only a v2 header carries the name (its AUTHORITY TLV).
	case $v in
	v1)	auth=- ;;
	v2)	auth=$(re "$v.$DOMAIN") ;;
	esac
	wait_file_has "$T/b/haproxy/log" "^conn client=127\\.0\\.0\\.2:$cport \
frontend=fe backend=be .* authority=$auth "
	expect_log "$(conn_from "127\\.0\\.0\\.2:$cport" "127\\.0\\.0\\.1:$P" \
	    "$(rule_re "\"$v.$DOMAIN\"")" "$(tls_sni "$v.$DOMAIN")" \
	    "127\\.0\\.0\\.1:$H" "$FETCH_END")"
done
# HAProxy saw no connection as coming from sniproxyd's address.
if grep -q '^conn client=127\.0\.0\.1:' "$T/b/haproxy/log"; then
	fail "HAProxy logged sniproxyd as the client:" \
	    "$(grep '^conn client=127\.0\.0\.1:' "$T/b/haproxy/log")"
fi
