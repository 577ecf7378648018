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
# 100 MB each way at once, byte for byte.
#
# client:	tlspeer client, 100 MiB of the "up" stream while it checks
#		100 MiB of the "down" stream
# sniproxyd:	match tls sni "bulk.example.com"
# servers:	tlspeer server, the other half
# expect:	both tlspeers find every byte as expected; the log line
#		counts at least 100 MiB up and down, "end eof"

need_tlspeer
N=104857600
tlspeer_server bulk -n "$N" -t 120
P=$(free_port)

conf <<EOF
table <bulk> { 127.0.0.1 port $(port bulk) }

listen on 127.0.0.1 port $P {
	match tls sni "bulk.$DOMAIN" forward to <bulk>
}
EOF
start_daemon "$P"

"$TLSPEER" client -p "$P" -s "bulk.$DOMAIN" -C "$PKI/ca.pem" -n "$N" \
    -t 120 >"$T/client.log" 2>&1 ||
    fail "tlspeer client: $(cat "$T/client.log")"
wait_exit "$(pid_of bulk)" 30 ||
    fail "tlspeer server: $(cat "$T/b/bulk/log")"

line=$(conn_line "127\\.0\\.0\\.1:$P" "$(rule_re "\"bulk.$DOMAIN\"")" \
    "$(tls_sni "bulk.$DOMAIN")" "127\\.0\\.0\\.1:$(port bulk)" eof)
expect_log_bytes "$line" "$N"
