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
# A real OpenVPN client over TCP is told from TLS and SSH on the same
# port, with its control channel in the clear, wrapped by tls-crypt,
# and wrapped by tls-crypt-v2 (whose first packet is a
# P_CONTROL_HARD_RESET_CLIENT_V3).
#
# client:	openvpn --proto tcp-client, three times (plain TLS mode,
#		--tls-crypt, --tls-crypt-v2), each to its own listener;
#		ssh and curl to the first listener
# sniproxyd:	listener 1: match ssh, match tls sni, match openvpn,
#		default; listeners 2 and 3: match openvpn and a default
# servers:	three openvpn --proto tcp-server (point-to-point TLS, no
#		tun device) with the matching settings; a private sshd;
#		openssl s_server "web"; a Python line server "dflt"
# expect:	every openvpn client and its server complete their
#		initialization; the log shows class "openvpn" to the right
#		server for each; ssh and curl reach their own backends;
#		nothing reaches the default

. "$TOP/regress/peers.sh"

need openvpn
if ! openvpn --genkey tls-crypt "$T/tc.key" >"$T/genkey.log" 2>&1 ||
    ! openvpn --genkey tls-crypt-v2-server "$T/v2s.key" \
    >>"$T/genkey.log" 2>&1 ||
    ! openvpn --genkey tls-crypt-v2-client "$T/v2c.key" \
    --tls-crypt-v2 "$T/v2s.key" >>"$T/genkey.log" 2>&1; then
	fail "openvpn --genkey failed: $(cat "$T/genkey.log")"
fi

ovpn_server vpn
ovpn_server vpncrypt --tls-crypt "$T/tc.key"
ovpn_server vpnv3 --tls-crypt-v2 "$T/v2s.key"
sshd_start sshd
backend web
py_server dflt
P1=$(free_port)
P2=$(free_port)
P3=$(free_port)

conf <<EOF2
table <ssh> { 127.0.0.1 port $(port sshd) }
table <web> { 127.0.0.1 port $(port web) }
table <vpn> { 127.0.0.1 port $(port vpn) }
table <vpncrypt> { 127.0.0.1 port $(port vpncrypt) }
table <vpnv3> { 127.0.0.1 port $(port vpnv3) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P1 {
	match ssh forward to <ssh>
	match tls sni "web.$DOMAIN" forward to <web>
	match openvpn forward to <vpn> timeout idle 1h
	default forward to <dflt>
}
listen on 127.0.0.1 port $P2 {
	match openvpn forward to <vpncrypt>
	default forward to <dflt>
}
listen on 127.0.0.1 port $P3 {
	match openvpn forward to <vpnv3>
	default forward to <dflt>
}
EOF2
start_daemon "$P1" "$P2" "$P3"

ovpn_client c1 "$P1"
ovpn_client c2 "$P2" --tls-crypt "$T/tc.key"
ovpn_client c3 "$P3" --tls-crypt-v2 "$T/v2c.key"
for v in c1:vpn c2:vpncrypt c3:vpnv3; do
	ovpn_up "${v%%:*}" 10
	ovpn_up "${v#*:}" 5
done

out=$(ssh_run sshd "$P1" echo ssh-ok 2>"$T/ssh.err") ||
    fail "ssh failed: $(cat "$T/ssh.err")"
assert_eq ssh-ok "$out" "output of ssh"
body=$(fetch "web.$DOMAIN" "$P1") || fail "curl for web.$DOMAIN failed"
assert_eq "backend web" "$body" "answer for web.$DOMAIN"

for c in c1 c2 c3; do
	kill "$(pid_of "$c")"
done
for x in "$P1:vpn" "$P2:vpncrypt" "$P3:vpnv3"; do
	v=${x#*:}
	expect_log "$(conn_line "127\\.0\\.0\\.1:${x%%:*}" \
	    "$(rule_re "forward to <$v>")" openvpn \
	    "127\\.0\\.0\\.1:$(port "$v")" "(eof|reset)")"
done
expect_log "$(conn_line "127\\.0\\.0\\.1:$P1" "$(rule_re "match ssh")" ssh \
    "127\\.0\\.0\\.1:$(port sshd)" eof)"
expect_log "$(conn_line "127\\.0\\.0\\.1:$P1" "$(rule_re "\"web.$DOMAIN\"")" \
    "$(tls_sni "web.$DOMAIN")" "127\\.0\\.0\\.1:$(port web)" "$FETCH_END")"
assert_eq 0 "$(conns dflt | wc -l)" "connections that reached the default"
