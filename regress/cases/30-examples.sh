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
# Every example configuration of etc/examples/ is accepted, so that the
# examples cannot rot.  They name their keypair files by macros whose
# names end in _cert, _key or _ca; here those point at the run's
# certificate, key and CA.
#
# client:	none
# sniproxyd:	-n on every etc/examples/*.conf, with -D NAME_cert=,
#		-D NAME_key= and -D NAME_ca= for each such macro the file
#		defines
# servers:	none
# expect:	status 0 and "configuration OK" for every file, each of its
#		keypairs loaded from the run's certificate; a line in
#		etc/examples/README for every file, and for no other

# run.sh sources every case with the case's own path as $4.
EX=$(cd "$(dirname "$4")/../../etc/examples" 2>/dev/null && pwd) ||
    fail "no etc/examples next to regress/"
README=$EX/README
[ -f "$README" ] || fail "no $README"

n=0
for f in "$EX"/*.conf; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=$(basename "$f")

	# As root, keypairs must lie below the configuration's directory:
	# each file is checked from a copy with the run's files beside it.
	d=$T/$name.d
	mkdir -p "$d" && cp "$f" "$PKI/leaf.pem" "$PKI/leaf.key" \
	    "$PKI/ca.pem" "$d/" || fail "cannot copy $name"
	# sniproxyd -n as root checks the user and chroot a start needs.
	root_prelude >>"$d/$name" || fail "cannot copy $name"
	sed -nE \
	    's/^[[:space:]]*([A-Za-z0-9_]+_(cert|key|ca))[[:space:]]*=.*/\1/p' \
	    "$f" >"$T/$name.macros"
	set --
	while read -r m; do
		case $m in
		*_cert)	set -- "$@" -D "$m=$d/leaf.pem" ;;
		*_key)	set -- "$@" -D "$m=$d/leaf.key" ;;
		*_ca)	set -- "$@" -D "$m=$d/ca.pem" ;;
		esac
	done <"$T/$name.macros"
	"$SNIPROXYD" -n -f "$d/$name" "$@" >"$T/$name.out" 2>&1
	rv=$?
	[ "$rv" -eq 0 ] ||
	    fail "$name rejected (status $rv): $(cat "$T/$name.out")"
	grep -qx 'configuration OK' "$T/$name.out" ||
	    fail "$name: no \"configuration OK\": $(cat "$T/$name.out")"

	# A keypair read from elsewhere than the run's files would hide
	# a macro that does not reach it.
	want=$(grep -cE '^[[:space:]]*keypair[[:space:]]+"[^"]*"[[:space:]]*\{' \
	    "$f")
	got=$(grep -cE "^keypair .*: subject .*CN ?= ?$(re "$DOMAIN")" \
	    "$T/$name.out")
	assert_eq "$want" "$got" "$name: keypairs loaded from the run's files"

	grep -qE "^$(re "$name")[[:space:]]" "$README" ||
	    fail "$name has no line in $README"
done
[ "$n" -gt 0 ] || fail "no example configuration in $EX"

while read -r file _; do
	[ -f "$EX/$file" ] || fail "$README names $file, which does not exist"
done <"$README"
