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
# An upgrade without a dropped connection: the binary is replaced on
# disk, as a package upgrade does, and a reload starts the new
# generation from the new file while a connection opened before goes
# on in the old one.
#
# client:	a loadpeer.py stream through a passed-through route,
#		opened before the upgrade and ended after it; curl after
# sniproxyd:	started from a copy of the binary in $T/bin; prefork 1;
#		match tls sni "echo..." forward to <echo>, sni "web..."
#		forward to <web>
# servers:	openssl s_server "web", a TLS loadpeer.py server "echo"
# expect:	after the file is replaced (a new file renamed over the
#		old) and sniproxyctl reload: the accept process and the
#		workers of generation 2 run the new file (their exe is not
#		"(deleted)" and has its bytes), the parent runs the old
#		one; the stream gets every byte back; curl is answered

. "$TOP/regress/load.sh"
skip_under_valgrind "the binary under valgrind is valgrind"

backend web
plain_backend echo
P=$(free_port)
mkdir -p "$T/bin" || fail "cannot make $T/bin"
BIN=$T/bin/$PROGNAME
cp "$SNIPROXYD" "$BIN" || fail "cannot copy $SNIPROXYD"
SNIPROXYD=$BIN

conf <<EOF2
prefork 1
keypair "site" {
	certificate "$PKI/leaf.pem"
	key "$PKI/leaf.key"
}
table <web> { 127.0.0.1 port $(port web) }
table <echo> { 127.0.0.1 port $(port echo) }
listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
	match tls sni "echo.$DOMAIN" terminate tls keypair "site" \\
	    forward to <echo>
}
EOF2
start_daemon "$P"
stream_open s1 "$P" "echo.$DOMAIN"
old_worker=$(procs_titled "$DAEMON_PID" "route echo" | head -n 1)

# The new binary: the same program with bytes after its end, which
# the loader ignores, so that the two files differ.
cp "$BIN" "$BIN.new" && printf 'upgraded\n' >>"$BIN.new" &&
    mv -f "$BIN.new" "$BIN" || fail "cannot replace $BIN"
ctl reload >"$T/ctl.out" 2>&1 || fail "reload: $(cat "$T/ctl.out")"
expect_log "configuration reloaded, generation 2"

for who in accept "route web" "route echo" keys; do
	p=$(procs_titled "$DAEMON_PID" "$who" | while read -r q; do
		[ "$q" = "$old_worker" ] || echo "$q"
	done | tail -n 1)
	[ -n "$p" ] || fail "no process '$who' of generation 2"
	exe=$(readlink "/proc/$p/exe")
	assert_eq "$BIN" "$exe" "the program of $who"
	cmp -s "/proc/$p/exe" "$BIN" ||
	    fail "$who of generation 2 does not run the new file"
done
case $(readlink "/proc/$DAEMON_PID/exe") in
*"(deleted)")	;;
*)	fail "the parent does not run the replaced file:" \
	    "$(readlink "/proc/$DAEMON_PID/exe")" ;;
esac
alive "$old_worker" || fail "the old worker went while its stream was open"

body=$(fetch "web.$DOMAIN" "$P") || fail "curl after the upgrade failed"
assert_eq "backend web" "$body" "answer after the upgrade"
stream_stop s1
echo "stream s1: $STREAMED bytes back as sent across the upgrade"
[ "$STREAMED" -gt 0 ] || fail "the stream moved no bytes"
