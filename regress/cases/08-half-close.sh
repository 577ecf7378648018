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
# A client that shuts its write side after its request still receives
# the whole response.
#
# client:	tlspeer client -h: sends 4 KiB, then close_notify and
#		shutdown(SHUT_WR), then reads
# sniproxyd:	match tls sni "half.example.com"
# servers:	tlspeer server -w: reads to the client's end of stream and
#		only then sends 4 MiB and closes
# expect:	the server sees the client's end (so the half-close reached
#		it) and the client then gets all 4 MiB; "end eof"

need_tlspeer
tlspeer_server half -w -n 4096 -N 4194304 -t 20
P=$(free_port)

conf <<EOF
table <half> { 127.0.0.1 port $(port half) }

listen on 127.0.0.1 port $P {
	match tls sni "half.$DOMAIN" forward to <half>
}
EOF
start_daemon "$P"

"$TLSPEER" client -h -p "$P" -s "half.$DOMAIN" -C "$PKI/ca.pem" \
    -n 4096 -N 4194304 -t 20 >"$T/client.log" 2>&1 ||
    fail "tlspeer client: $(cat "$T/client.log")"
wait_exit "$(pid_of half)" 10 ||
    fail "tlspeer server: $(cat "$T/b/half/log")"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P" \
    "$(rule_re "\"half.$DOMAIN\"")" "$(tls_sni "half.$DOMAIN")" \
    "127\\.0\\.0\\.1:$(port half)" eof)"
