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
# sniproxyd -n accepts a good configuration and names the file and line
# of every error in a bad one.
#
# client:	none
# sniproxyd:	-n on a good file; on files with one error each: unknown
#		table, port out of range, an unknown word, an error in an
#		included file; with -D overriding a macro both ways; a
#		keypair whose key is of another certificate; what would
#		stop a start: a key file missing, "*" and an address on
#		one port, and as root an unknown user and a chroot
#		directory missing, writable by others or not root's
# servers:	none
# expect:	status 0 and "configuration OK"; status 1 and
#		"file:line: message" for each error

C=$T/etc
mkdir -p "$C" || fail "cannot make $C"

# check STATUS FILE [REGEX] [-D ...]: sniproxyd -n must exit with STATUS
# and, given REGEX, print a line matching it.
check() {
	_want=$1
	_file=$2
	_re=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	grep -q '^user ' "$_file" || root_prelude >>"$_file"
	"$SNIPROXYD" -n "$@" -f "$_file" >"$T/out" 2>&1
	_rv=$?
	[ "$_rv" -eq "$_want" ] ||
	    fail "sniproxyd -n $* -f $_file: status $_rv, not $_want:" \
	    "$(cat "$T/out")"
	if [ -n "$_re" ] && ! grep -Eq -- "$_re" "$T/out"; then
		fail "sniproxyd -n $* -f $_file: no line matching /$_re/:" \
		    "$(cat "$T/out")"
	fi
}

cat >"$C/good.conf" <<EOF
ext = "127.0.0.1"
timeout inspect 2s
table <one> { 127.0.0.1 port 1443 }
table <two> { 127.0.0.1 port 2443, 127.0.0.1 port 3443 }
listen on \$ext port 64443 {
	match tls sni "one.$DOMAIN" forward to <one>
	match tls sni { "*.two.$DOMAIN", "two.$DOMAIN" } forward to <two> \\
	    timeout idle 2h
	match tls sni "x.$DOMAIN" block
	default forward to <one> port 8443
}
EOF
check 0 "$C/good.conf" '^configuration OK$'

cat >"$C/table.conf" <<EOF
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port 64443 {
	match tls sni "one.$DOMAIN" forward to <one>
	match tls sni "two.$DOMAIN" forward to <nope>
}
EOF
check 1 "$C/table.conf" "^$(re "$C/table.conf"):4: .*<nope>"

cat >"$C/port.conf" <<EOF
table <one> { 127.0.0.1 port 1443 }

listen on 127.0.0.1 port 70000 {
	default forward to <one>
}
EOF
check 1 "$C/port.conf" "^$(re "$C/port.conf"):3: .*70000"

# A word the grammar does not know is an error, never ignored.
cat >"$C/word.conf" <<EOF
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port 64443 {
	match tls sni "one.$DOMAIN" forward to <one> frobnicate
	default forward to <one>
}
EOF
check 1 "$C/word.conf" "^$(re "$C/word.conf"):3: ."

cat >"$C/inc.conf" <<EOF
table <one> { 127.0.0.1 port 1443 }
table <two> { 127.0.0.1 port 99999 }
EOF
cat >"$C/main.conf" <<EOF
# tables come from elsewhere
include "$C/inc.conf"
listen on 127.0.0.1 port 64443 {
	default forward to <one>
}
EOF
check 1 "$C/main.conf" "^$(re "$C/inc.conf"):2: .*99999"
grep -q "main\\.conf" "$T/out" &&
    fail "an error in inc.conf was blamed on main.conf: $(cat "$T/out")"

cat >"$C/macro.conf" <<EOF
lport = "64443"
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port \$lport {
	default forward to <one>
}
EOF
check 0 "$C/macro.conf" '^configuration OK$'
check 1 "$C/macro.conf" "^$(re "$C/macro.conf"):3: .*70000" -D lport=70000
cat >"$C/macro2.conf" <<EOF
lport = "70000"
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port \$lport {
	default forward to <one>
}
EOF
check 1 "$C/macro2.conf" "^$(re "$C/macro2.conf"):3: .*70000"
check 0 "$C/macro2.conf" '^configuration OK$' -D lport=64443

# A key of another certificate is named as such, not as a key that
# does not load.
cat >"$C/mismatch.conf" <<EOF
keypair "site" {
	certificate "$PKI/leaf.pem"
	key "$PKI/ca.key"
}
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port 64443 {
	match tls sni "one.$DOMAIN" terminate tls keypair "site" \\
	    forward to <one>
}
EOF
check 1 "$C/mismatch.conf" "^$(re "$C/mismatch.conf"):1: keypair \"site\":\
 the key $(re "$PKI/ca.key") does not belong to\
 the certificate $(re "$PKI/leaf.pem")\$"
grep -q 'failed to load private key' "$T/out" &&
    fail "a mismatched key is reported as one that does not load:" \
    "$(cat "$T/out")"

# What would stop a start, without starting.
cat >"$C/nokey.conf" <<EOF
keypair "site" {
	certificate "$PKI/leaf.pem"
	key "$T/nope.key"
}
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port 64443 {
	default terminate tls keypair "site" forward to <one>
}
EOF
check 1 "$C/nokey.conf" "^$(re "$C/nokey.conf"):1: keypair \"site\":\
 $(re "$T/nope.key"): No such file or directory\$"

cat >"$C/overlap.conf" <<EOF
table <one> { 127.0.0.1 port 1443 }
listen on * port 64443 {
	default forward to <one>
}
listen on 127.0.0.1 port 64443 {
	default forward to <one>
}
EOF
check 1 "$C/overlap.conf" "^$(re "$C/overlap.conf"):5: listen on\
 $(re 127.0.0.1:64443) and $(re 0.0.0.0:64443) at $(re "$C/overlap.conf"):2\
 cannot both bind"
sed -e 's/^listen on \* port/listen on ::1 port/' "$C/overlap.conf" \
    >"$C/apart.conf" || fail "cannot write apart.conf"
check 0 "$C/apart.conf" '^configuration OK$'

if is_root; then
	cat >"$C/user.conf" <<EOF
user "no-such-user-sniproxyd"
chroot "$(empty_dir)"
table <one> { 127.0.0.1 port 1443 }
listen on 127.0.0.1 port 64443 {
	default forward to <one>
}
EOF
	check 1 "$C/user.conf" '^user "no-such-user-sniproxyd": no such user$'

	mkdir -p "$T/open" "$T/theirs" || fail "cannot make the directories"
	if ! chmod 777 "$T/open" || ! chown "$(unpriv_user)" "$T/theirs" ||
	    ! chmod 755 "$T/theirs"; then
		fail "cannot set the directories up"
	fi
	for d in "$T/missing" "$T/open" "$T/theirs"; do
		sed -e "2s|.*|chroot \"$d\"|" \
		    -e "1s|.*|user \"$(unpriv_user)\"|" \
		    "$C/user.conf" >"$C/chroot.conf" ||
		    fail "cannot write chroot.conf"
		case $d in
		*/missing)	why='No such file or directory' ;;
		*)		why='must belong to root and not be writable' ;;
		esac
		check 1 "$C/chroot.conf" "^chroot \"$(re "$d")\": $why"
	done
fi
