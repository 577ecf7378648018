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
# SSH inside TLS, the classic recipe: ssh's ProxyCommand is openssl
# s_client, sniproxyd ends that TLS session with its own certificate
# and hands the SSH bytes to a real sshd; other names on the same port
# are passed through untouched.
#
# client:	ssh -o ProxyCommand="openssl s_client -quiet -connect
#		127.0.0.1:PORT -servername shell.example.com -CAfile
#		ca.pem" running a command; curl for www.example.com;
#		openssl s_client for www and other names
# sniproxyd:	keypair "shell" (a certificate for shell.example.com of
#		the run's CA); match tls sni "shell.example.com" terminate
#		tls keypair "shell" forward to the sshd; match tls sni
#		"www.example.com" forward; match tls forward; default
# servers:	a private sshd; openssl s_server "www" and "other" with
#		the run's certificate (CN=example.com)
# expect:	the command's output comes back over ssh; s_client in the
#		ProxyCommand verified shell.example.com; curl and s_client
#		for www see the backend's own certificate, not the
#		keypair's; log lines: the SSH one with the terminating
#		rule and "tls sni=shell.example.com" to the sshd, the
#		others with their rules; the SSH one with the TLS version
#		and cipher; no error counted on the SSH route

. "$TOP/regress/peers.sh"

sshd_start sshd
backend www
backend other
cert_make shell "shell.$DOMAIN"
P=$(free_port)

conf <<EOF2
$(keypair_conf shell "$T/pki/shell.pem" "$T/pki/shell.key")
table <ssh> { 127.0.0.1 port $(port sshd) }
table <www> { 127.0.0.1 port $(port www) }
table <other> { 127.0.0.1 port $(port other) }

listen on 127.0.0.1 port $P {
	timeout inspect 3s
	match tls sni "shell.$DOMAIN" terminate tls keypair "shell" \\
	    forward to <ssh> timeout idle 2h
	match tls sni "www.$DOMAIN" forward to <www>
	match tls forward to <other>
	default block
}
EOF2
start_daemon "$P"

token=token-$(od -An -N6 -tx1 /dev/urandom | tr -d ' ')
echo "$token" >"$T/token"
# shellcheck disable=SC2046
out=$(timeout 30 ssh $(ssh_opts sshd) -o ProxyCommand="openssl s_client \
-quiet -connect 127.0.0.1:$P -servername shell.$DOMAIN -CAfile $PKI/ca.pem" \
    "$(id -un)@shell.$DOMAIN" cat "$T/token" 2>"$T/ssh.err") ||
    fail "ssh over TLS failed: $(cat "$T/ssh.err")"
assert_eq "$token" "$out" "output of the command run over ssh in TLS"
grep -q "^depth=0 CN *= *shell\\.$DOMAIN" "$T/ssh.err" ||
    fail "s_client did not get shell's certificate: $(cat "$T/ssh.err")"
if grep -q "verify error" "$T/ssh.err"; then
	fail "s_client could not verify shell's certificate:" \
	    "$(grep "verify error" "$T/ssh.err")"
fi

body=$(fetch "www.$DOMAIN" "$P") || fail "curl for www.$DOMAIN failed"
assert_eq "backend www" "$body" "answer for www.$DOMAIN"
# The run's certificate, which only the backends hold.
leaf=$(openssl x509 -in "$PKI/leaf.pem" -noout -subject | sed 's/^subject=//')
shell=$(openssl x509 -in "$T/pki/shell.pem" -noout -subject |
    sed 's/^subject=//')
assert_eq "$leaf" "$(subject_of "www.$DOMAIN" "$P")" \
    "certificate presented for www.$DOMAIN"
assert_eq "$leaf" "$(subject_of "any.$DOMAIN" "$P")" \
    "certificate presented for any.$DOMAIN"
assert_eq "$shell" "$(subject_of "shell.$DOMAIN" "$P")" \
    "certificate presented for shell.$DOMAIN"

L=127\\.0\\.0\\.1:$P
R=$(rule_re "\"shell.$DOMAIN\" terminate")
# The SSH session (kilobytes each way; ssh ends its ProxyCommand with
# a signal, so the end may be a reset) and s_client's look at the
# certificate.
SH=$(conn_line "$L" "$R" "$(tls_sni "shell.$DOMAIN")" \
    "127\\.0\\.0\\.1:$(port sshd)" "(eof|reset)")
expect_log_n "$SH" 2
log_since_mark | grep -E -- "$SH" | grep -Eq ' up [0-9]{4,} down [0-9]{4,} ' ||
    fail "no log line of the SSH session: $(log_since_mark | grep -E "$SH")"
expect_log_n "$(conn_line "$L" "$(rule_re "\"www.$DOMAIN\"")" \
    "$(tls_sni "www.$DOMAIN")" "127\\.0\\.0\\.1:$(port www)" \
    "(eof|reset)")" 2
expect_log "$(conn_line "$L" "$(rule_re "match tls forward")" \
    "$(tls_sni "any.$DOMAIN")" "127\\.0\\.0\\.1:$(port other)" \
    "(eof|reset)")"
grep -q 'Accepted publickey' "$T/b/sshd/log" ||
    fail "the sshd logs no accepted key: $(tail -n 3 "$T/b/sshd/log")"
# The terminated session's line says what TLS agreed with the client.
log_since_mark | grep -E -- "$SH" |
    grep -Eq ' version=TLSv1\.[23] cipher=[A-Z0-9_-]+ ' ||
    fail "no TLS version and cipher on the SSH session's line:" \
    "$(log_since_mark | grep -E "$SH")"
# A client that resets its own session is no error of the route.
ctl=${SNIPROXYCTL:-$(dirname "$SNIPROXYD")/sniproxyctl}
"$ctl" -s "$T/control.sock" show routes >"$T/routes" 2>&1 ||
    fail "sniproxyctl show routes: $(cat "$T/routes")"
grep -Eq '^route ssh .* errors 0$' "$T/routes" ||
    fail "errors counted on the SSH route: $(cat "$T/routes")"
