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
# An SSH client that waits for the server's greeting before it says
# anything reaches the default rule once the inspect timeout has
# passed, and not before; then it talks to the real sshd.
#
# client:	Python: connects, sends nothing and waits for the banner,
#		then sends its own identification string
# sniproxyd:	timeout inspect 1s; match ssh and match tls rules that
#		must wait for bytes; default to the sshd
# servers:	a private sshd; openssl s_server "web"
# expect:	the sshd's banner arrives 0.9 s to 4 s after the client
#		connected (not before the inspect timeout); the log line
#		has class "timeout" and the default's rule; a real ssh
#		client on the same port still gets through by "match ssh"

. "$TOP/regress/peers.sh"

sshd_start sshd
backend web
P=$(free_port)

conf <<EOF2
table <ssh> { 127.0.0.1 port $(port sshd) }
table <web> { 127.0.0.1 port $(port web) }

listen on 127.0.0.1 port $P {
	timeout inspect 1s
	match ssh forward to <ssh>
	match tls forward to <web>
	default forward to <ssh>
}
EOF2
start_daemon "$P"

banner=$(py_client --port "$P" --banner --send 'SSH-2.0-regress\r\n' \
    --lines 0 2>"$T/client.err") ||
    fail "the waiting client failed: $(cat "$T/client.err")"
cat "$T/client.err"
case $banner in
SSH-2.0-OpenSSH*)	;;
*)	fail "the waiting client got '$banner', not the sshd's banner" ;;
esac
ms=$(sed -n 's/^banner after \([0-9]*\) ms.*/\1/p' "$T/client.err")
[ -n "$ms" ] || fail "no time for the banner: $(cat "$T/client.err")"
[ "$ms" -ge 900 ] || fail "the banner came after $ms ms, before the" \
    "1 s inspect timeout"
[ "$ms" -le 4000 ] || fail "the banner came only after $ms ms"

L=127\\.0\\.0\\.1:$P
expect_log "$(conn_line "$L" "$(rule_re "default forward")" timeout \
    "127\\.0\\.0\\.1:$(port sshd)" "(eof|reset)")"

out=$(ssh_run sshd "$P" echo direct 2>"$T/ssh.err") ||
    fail "ssh failed: $(cat "$T/ssh.err")"
assert_eq direct "$out" "output of ssh"
expect_log "$(conn_line "$L" "$(rule_re "match ssh")" ssh \
    "127\\.0\\.0\\.1:$(port sshd)" eof)"
