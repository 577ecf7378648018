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
# Real OpenSSH and TLS clients on one port: "match ssh" hands the SSH
# client to a private sshd, the TLS clients are routed by SNI.
#
# client:	ssh -p PORT running a command on the sshd (host key
#		checked against the sshd's own); curl for two names
# sniproxyd:	match ssh between two match tls sni; a default to a
#		line server that nobody should reach
# servers:	a private sshd with its own host key and authorized_keys;
#		openssl s_server "web" and "mail"; a Python line server
#		"dflt" for the default
# expect:	the command's output comes back; both names answered by
#		their backends; log lines with class "ssh" to the sshd and
#		"tls sni=..." to the TLS backends; the sshd logs the
#		accepted key; nothing reached the default

. "$TOP/regress/peers.sh"

sshd_start sshd
backend web
backend mail
py_server dflt
P=$(free_port)

conf <<EOF2
table <ssh> { 127.0.0.1 port $(port sshd) }
table <web> { 127.0.0.1 port $(port web) }
table <mail> { 127.0.0.1 port $(port mail) }
table <dflt> { 127.0.0.1 port $(port dflt) }

listen on 127.0.0.1 port $P {
	timeout inspect 5s
	match tls sni "web.$DOMAIN" forward to <web>
	match ssh forward to <ssh> timeout idle 2h
	match tls sni "mail.$DOMAIN" forward to <mail>
	default forward to <dflt>
}
EOF2
start_daemon "$P"

token=token-$(od -An -N6 -tx1 /dev/urandom | tr -d ' ')
echo "$token" >"$T/token"
t0=$(now_ms)
out=$(ssh_run sshd "$P" cat "$T/token" 2>"$T/ssh.err") ||
    fail "ssh through sniproxyd failed: $(cat "$T/ssh.err")"
took=$(($(now_ms) - t0))
assert_eq "$token" "$out" "output of the command run over ssh"
echo "ssh ran its command in $took ms"
# OpenSSH speaks first: it must not wait for the 5 s inspect timeout.
[ "$took" -lt 3500 ] || fail "ssh took $took ms, as if it waited for" \
    "the 5 s inspect timeout"

for b in web mail; do
	body=$(fetch "$b.$DOMAIN" "$P") || fail "curl for $b.$DOMAIN failed"
	assert_eq "backend $b" "$body" "answer for $b.$DOMAIN"
done
# A second ssh after the TLS clients, on the same listener.
out=$(ssh_run sshd "$P" echo second 2>"$T/ssh.err") ||
    fail "second ssh failed: $(cat "$T/ssh.err")"
assert_eq second "$out" "output of the second ssh"

L=127\\.0\\.0\\.1:$P
SSHLINE=$(conn_line "$L" "$(rule_re "match ssh")" ssh \
    "127\\.0\\.0\\.1:$(port sshd)" eof)
expect_log_n "$SSHLINE" 2
for b in web mail; do
	expect_log "$(conn_line "$L" "$(rule_re "\"$b.$DOMAIN\"")" \
	    "$(tls_sni "$b.$DOMAIN")" "127\\.0\\.0\\.1:$(port "$b")" \
	    "$FETCH_END")"
done
grep -q 'Accepted publickey' "$T/b/sshd/log" ||
    fail "the sshd logs no accepted key: $(tail -n 3 "$T/b/sshd/log")"
assert_eq 0 "$(conns dflt | wc -l)" "connections that reached the default"
assert_log_lacks " rule $(rule_re "default forward")"
