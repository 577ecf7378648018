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
# Whoever can write the configuration decides what runs as root, and a
# private key others can read is no longer private: sniproxyd, as
# OpenBSD's daemons, refuses both, naming the file.  A certificate may
# be read by anyone (certbot's archive/ has them 0644).
#
# client:	none
# sniproxyd:	-n on: a configuration writable by others, one writable
#		by its group, one that includes a file writable by others,
#		as root one owned by another user; a keypair whose key is
#		0644, one whose key is 0640; then a good one with the
#		certificate 0644 and the key 0600
# servers:	none
# expect:	status 1 and a line naming the file (file:line: for the
#		include and the keypairs) for each bad one; status 0 and
#		"configuration OK" for the good one

C=$T/etc
mkdir -p "$C" || fail "cannot make $C"

# check STATUS FILE [REGEX]: sniproxyd -n must exit with STATUS and,
# given REGEX, print a line matching it.
check() {
	"$SNIPROXYD" -n -f "$2" >"$T/out" 2>&1
	_rv=$?
	[ "$_rv" -eq "$1" ] || fail "sniproxyd -n -f $2: status $_rv," \
	    "not $1: $(cat "$T/out")"
	if [ -n "${3:-}" ] && ! grep -Eq -- "$3" "$T/out"; then
		fail "sniproxyd -n -f $2: no line matching /$3/:" \
		    "$(cat "$T/out")"
	fi
}

cp "$PKI/leaf.pem" "$C/site.pem" && cp "$PKI/leaf.key" "$C/site.key" &&
    chmod 644 "$C/site.pem" && chmod 600 "$C/site.key" ||
    fail "cannot copy the keypair"

# conf_file NAME [KEY]: a configuration in $C/NAME, mode 0644, with a
# keypair whose key is KEY.
conf_file() {
	{
		root_prelude
		printf 'keypair "site" {\n\tcertificate "%s"\n' "$C/site.pem"
		printf '\tkey "%s"\n}\n' "${2:-$C/site.key}"
		printf 'table <one> { 127.0.0.1 port 1443 }\n'
		printf 'listen on 127.0.0.1 port 64443 {\n'
		printf '\tdefault terminate tls keypair "site" '
		printf 'forward to <one>\n}\n'
	} >"$C/$1" && chmod 644 "$C/$1" || fail "cannot write $C/$1"
}

loose="must belong to root or the user running sniproxyd and not be\
 writable by group or others"

conf_file good.conf
check 0 "$C/good.conf" "^configuration OK"

conf_file others.conf
chmod 666 "$C/others.conf"
check 1 "$C/others.conf" "^$(re "$C/others.conf"): $loose\$"

conf_file group.conf
chmod 664 "$C/group.conf"
check 1 "$C/group.conf" "^$(re "$C/group.conf"): $loose\$"

conf_file inc.conf
chmod 646 "$C/inc.conf"
printf 'include "%s"\n' "$C/inc.conf" >"$C/main.conf" &&
    chmod 644 "$C/main.conf" || fail "cannot write main.conf"
check 1 "$C/main.conf" "^$(re "$C/inc.conf"): $loose\$"
check 1 "$C/main.conf" "^$(re "$C/main.conf"):1: failed to include file"

if is_root; then
	conf_file theirs.conf
	chown "$(unpriv_user)" "$C/theirs.conf" ||
	    fail "cannot give theirs.conf away"
	check 1 "$C/theirs.conf" "^$(re "$C/theirs.conf"): $loose\$"
fi

for mode in 644 640 604 620; do
	cp "$C/site.key" "$C/k$mode.key" && chmod "$mode" "$C/k$mode.key" ||
	    fail "cannot make a key of mode $mode"
	conf_file "k$mode.conf" "$C/k$mode.key"
	check 1 "$C/k$mode.conf" "^$(re "$C/k$mode.conf"):[0-9]+: keypair\
 \"site\": $(re "$C/k$mode.key"): key file readable or writable by group\
 or others\$"
done
