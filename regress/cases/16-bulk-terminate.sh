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
# timeout 240
#
# 64 MB (8 under valgrind) each way at once through TLS on both sides,
# byte for byte: many records come in each read, and a fast pair of
# peers keeps the relay busy for longer than one turn of its loop, so
# neither the records read ahead nor a turn cut short may leave bytes
# behind.  The client shuts its side once it has sent everything, while
# the server still sends.
#
# client:	tlspeer client, 64 MiB of the "up" stream while it checks
#		64 MiB of the "down" stream; close_notify and FIN once sent
# sniproxyd:	match tls sni "bulk.example.com" terminate tls forward
#		with tls to the server, verified with the run's CA
# servers:	tlspeer server, the other half
# expect:	both tlspeers find every byte as expected; the log line
#		counts at least 64 MiB up and down, "end eof"

. "$TOP/regress/peers.sh"

need_tlspeer
# Under valgrind 8 MiB, still hundreds of records each way.
N=67108864
[ -z "${VALGRIND:-}" ] || N=8388608
tlspeer_server bulk -n "$N" -t 120
if ! mkdir -p "$T/etc" || ! cp "$PKI/ca.pem" "$T/etc/ca.pem"; then
	fail "cannot copy the CA"
fi
P=$(free_port)

conf <<EOF
$(keypair_conf run "$PKI/leaf.pem" "$PKI/leaf.key")
table <bulk> { 127.0.0.1 port $(port bulk) }

listen on 127.0.0.1 port $P {
	match tls sni "bulk.$DOMAIN" terminate tls \\
	    forward with tls to <bulk> tls ca "$T/etc/ca.pem"
}
EOF
start_daemon "$P"

"$TLSPEER" client -p "$P" -s "bulk.$DOMAIN" -C "$PKI/ca.pem" -n "$N" \
    -t 120 -h >"$T/client.log" 2>&1 ||
    fail "tlspeer client: $(cat "$T/client.log")"
wait_exit "$(pid_of bulk)" 30 ||
    fail "tlspeer server: $(cat "$T/b/bulk/log")"

line=$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "\"bulk.$DOMAIN\"")" \
    "$(tls_sni "bulk.$DOMAIN")" "127\\.0\\.0\\.1:$(port bulk)" eof)
expect_log_bytes "$line" "$N"
