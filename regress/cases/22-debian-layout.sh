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
# timeout 90
#
# The layout of a Debian host: the configuration in etc/sniproxyd/, the
# certbot tree in etc/letsencrypt/ beside it, the control socket in
# run/.  One name's links are relative, as certbot makes them, the
# other's absolute.  Both renew with no reload and no signal.
#
# client:	openssl s_client (the serial served); loadpeer.py tlsloop
#		on name a throughout; a loadpeer.py stream on a, open from
#		before the renewals to after them
# sniproxyd:	keypairs "a" and "b" from etc/letsencrypt/live/, reload
#		check 300ms; match tls sni "a..." terminate tls keypair
#		"a", the same for "b", forward to <web>
# servers:	a loadpeer.py server "web"
# expect:	sniproxyd -n accepts it; a serves 201, b 241; the keys
#		helper is chrooted at etc/letsencrypt (as root); after
#		renewals to 202 and 242 each is served within the watch
#		interval and a second, with no reload logged; no handshake
#		failed and the stream got every byte back; a renewal whose
#		link leads outside etc/letsencrypt is refused with a log
#		line naming the link, and 242 is still served

. "$TOP/regress/load.sh"

LE=$T/etc/letsencrypt
for n in 201 202 241 242 243; do
	pair_make "$n"
done
certbot_install a 201
certbot_install b 241 abs
plain_backend web
P=$(free_port)
mkdir -p "$T/etc/sniproxyd" "$T/run" || fail "cannot make the directories"
CONF=$T/etc/sniproxyd/sniproxyd.conf

conf <<EOF2
prefork 1
control socket "$T/run/sniproxyd.sock"
keypair "a" {
	certificate "$LE/live/a/fullchain.pem"
	key "$LE/live/a/privkey.pem"
	reload check 300ms
}
keypair "b" {
	certificate "$LE/live/b/fullchain.pem"
	key "$LE/live/b/privkey.pem"
	reload check 300ms
}
table <web> { 127.0.0.1 port $(port web) }
listen on 127.0.0.1 port $P {
	match tls sni "a.$DOMAIN" terminate tls keypair "a" forward to <web>
	match tls sni "b.$DOMAIN" terminate tls keypair "b" forward to <web>
}
EOF2
start_daemon "$P"

assert_eq "$(serial_of 201)" "$(served_serial "a.$DOMAIN" "$P")" "a at start"
assert_eq "$(serial_of 241)" "$(served_serial "b.$DOMAIN" "$P")" "b at start"
if is_root; then
	kh=$(procs_titled "$DAEMON_PID" keys)
	[ -n "$kh" ] || fail "no keys helper"
	assert_eq "$LE" "$(readlink "/proc/$kh/root")" "root of the keys helper"
fi

stream_open s1 "$P" "a.$DOMAIN"
tls_loops "$P" "a.$DOMAIN" 20
sleep 0.5
log_mark
certbot_renew a 202
took=$(wait_serial "a.$DOMAIN" "$P" "$(serial_of 202)" 1300) || exit 1
echo "a: certificate 202 served $took ms after the links were switched"
certbot_renew b 242 abs
took=$(wait_serial "b.$DOMAIN" "$P" "$(serial_of 242)" 1300) || exit 1
echo "b: certificate 242 served $took ms after the links were switched"
tls_loops_stop
stream_stop s1
echo "stream s1: $STREAMED bytes back as sent"
ok=$(grep -c ' ok ' "$T/loop.out")
bad=$(grep -c ' FAIL ' "$T/loop.out")
echo "handshakes during the renewals: $ok good, $bad failed"
[ "$ok" -ge 10 ] || fail "only $ok handshakes"
[ "$bad" -eq 0 ] || fail "$bad handshakes failed: $(grep ' FAIL ' \
    "$T/loop.out" | head -n 2)"
assert_log_lacks 'reloading|configuration reloaded'

# A link switched to a file outside the tree the keys helper reads.
mkdir -p "$T/elsewhere" || fail "cannot make $T/elsewhere"
cp "$T/pairs/243/cert.pem" "$T/elsewhere/cert.pem" ||
    fail "cannot write $T/elsewhere/cert.pem"
ln -s "$T/elsewhere/cert.pem" "$LE/live/b/fullchain.pem.new" &&
    mv -f "$LE/live/b/fullchain.pem.new" "$LE/live/b/fullchain.pem" ||
    fail "cannot switch the link"
expect_log "leads to $(re "$T/elsewhere/cert.pem"), outside $(re "$LE")" 3
assert_eq "$(serial_of 242)" "$(served_serial "b.$DOMAIN" "$P")" \
    "b after a link that leads outside"
