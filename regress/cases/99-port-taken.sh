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
# The accept processes share their listening sockets with SO_REUSEPORT,
# but nothing else may join them: a second sniproxyd on the same
# address fails to start, as a plain bind would, and the first goes on.
#
# client:	curl with SNI "ok", before and after
# sniproxyd:	listen on 127.0.0.1 port P tcp udp, match tls sni "ok";
#		then a second sniproxyd, with a control socket of its own,
#		listening on the same address and port
# servers:	openssl s_server "ok"
# expect:	the second exits non-zero within 30 s, saying "listen on
#		127.0.0.1:P: Address already in use"; curl is answered by
#		the first before and after

. "$TOP/regress/hostile.sh"

backend ok
P=$(free_port) || exit 1
conf <<EOF2
table <ok> { 127.0.0.1 port $(port ok) }
listen on 127.0.0.1 port $P tcp udp {
	match tls sni "ok.$DOMAIN" forward to <ok>
}
EOF2
start_daemon "$P"
ok_answers "before the second daemon"

mkdir -p "$T/etc2" || fail "cannot make $T/etc2"
sed -e "s|$T/control.sock|$T/control2.sock|" "$CONF" \
    >"$T/etc2/sniproxyd.conf" || fail "cannot write the second configuration"
chmod 644 "$T/etc2/sniproxyd.conf"
grep -q "control2.sock" "$T/etc2/sniproxyd.conf" ||
    fail "the second configuration has the first's control socket"
if timeout 30 "$SNIPROXYD" -d -f "$T/etc2/sniproxyd.conf" </dev/null \
    >"$T/second.log" 2>&1; then
	fail "a second sniproxyd started on the same address: $(cat \
	    "$T/second.log")"
fi
grep -q "listen on 127\\.0\\.0\\.1:$P: Address already in use" \
    "$T/second.log" || fail "the second sniproxyd did not say why:" \
    "$(tail -n 3 "$T/second.log")"
ok_answers "after the second daemon"
