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
# make install puts exactly the files that the README lists in place,
# and what it installs works: the installed sniproxyd accepts every
# installed configuration, the systemd unit passes systemd-analyze
# verify, the manual pages pass mandoc -Tlint.  A second install keeps
# an existing sniproxyd.conf, and make uninstall removes everything
# else.
#
# client:	none
# sniproxyd:	the installed one, -n on every installed configuration,
#		with -D NAME_cert=, -D NAME_key= and -D NAME_ca= for each
#		such macro the file defines, as in 30-examples
# servers:	none
# expect:	the files under DESTDIR are those of "Installing as a
#		service" in the README; "configuration OK" for each file;
#		sniproxyd.conf edited before a second install is still
#		edited after it, and is all that make uninstall leaves;
#		systemd-analyze verify (where it exists) and mandoc -Tlint
#		-W warning silent
#
# timeout 300

command -v make >/dev/null 2>&1 || skip "make is needed"

# The paths as the README writes them, with these settings.
MAKEVARS="PREFIX=/usr/local SYSCONFDIR=/etc"
EXDIR=/usr/local/share/examples/sniproxyd

D=$(mktemp -d "$T/destdir.XXXXXX") || fail "cannot make a DESTDIR"

# make_in TARGET: make TARGET in the top of the tree into DESTDIR.
make_in() {
	# shellcheck disable=SC2086
	if ! make -C "$TOP" "$1" DESTDIR="$D" $MAKEVARS \
	    >"$T/make-$1.log" 2>&1; then
		tail -n 20 "$T/make-$1.log" >&2
		fail "make $1 DESTDIR=$D $MAKEVARS failed"
	fi
}

# installed: every file and link under DESTDIR, as the path it stands
# for, one a line, sorted.
installed() {
	(cd "$D" && find . ! -type d) | sed -e 's|^\.||' | LC_ALL=C sort
}

# The list of the README: the paths indented by four spaces in its
# section "Installing as a service".
awk '
	$0 == "Installing as a service" { inside = 1; next }
	inside && /^-+$/ && seen { exit }
	inside && /^-+$/ { seen = 1; next }
	inside && /^    \// { print $1 }
' "$TOP/README" | LC_ALL=C sort >"$T/documented"
[ -s "$T/documented" ] ||
    fail "no list of installed files in the README's" \
    "\"Installing as a service\""

same_files() {
	installed >"$T/installed"
	if ! cmp -s "$T/documented" "$T/installed"; then
		fail "$1: the files installed (>) differ from the README's" \
		    "list (<): $(diff "$T/documented" "$T/installed" |
		    grep '^[<>]' | tr '\n' ' ')"
	fi
}

make_in install
same_files "make install"

for f in /usr/local/sbin/sniproxyd /usr/local/sbin/sniproxyctl; do
	[ -x "$D$f" ] || fail "$f is not executable"
done
# Installed under the default prefix, the unit is the one of the tree.
cmp -s "$TOP/etc/sniproxyd.service" "$D$EXDIR/sniproxyd.service" ||
    fail "the installed sniproxyd.service differs from etc/sniproxyd.service"

# Every configuration installed, the sample among the examples and the
# one in SYSCONFDIR too, is accepted by the sniproxyd installed.
n=0
for f in "$D$EXDIR"/*.conf "$D/etc/sniproxyd.conf"; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=${f#"$D"}
	out=$T/n.$n.out
	# As root, keypairs must lie below the configuration's directory:
	# each file is checked from a copy with the run's files beside it.
	d=$T/n.$n.d
	mkdir -p "$d" && cp "$f" "$PKI/leaf.pem" "$PKI/leaf.key" \
	    "$PKI/ca.pem" "$d/" || fail "cannot copy $name"
	# sniproxyd -n as root checks the user and chroot a start needs.
	root_prelude >>"$d/$(basename "$f")" || fail "cannot copy $name"
	set --
	sed -nE \
	    's/^[[:space:]]*([A-Za-z0-9_]+_(cert|key|ca))[[:space:]]*=.*/\1/p' \
	    "$f" >"$T/n.$n.macros"
	while read -r m; do
		case $m in
		*_cert)	set -- "$@" -D "$m=$d/leaf.pem" ;;
		*_key)	set -- "$@" -D "$m=$d/leaf.key" ;;
		*_ca)	set -- "$@" -D "$m=$d/ca.pem" ;;
		esac
	done <"$T/n.$n.macros"
	"$D/usr/local/sbin/sniproxyd" -n -f "$d/$(basename "$f")" "$@" \
	    >"$out" 2>&1
	rv=$?
	[ "$rv" -eq 0 ] || fail "$name rejected (status $rv): $(cat "$out")"
	grep -qx 'configuration OK' "$out" ||
	    fail "$name: no \"configuration OK\": $(cat "$out")"
done
[ "$n" -gt 1 ] || fail "no configuration installed in $EXDIR"

# An administrator's sniproxyd.conf survives another install.
printf '# edited here\n' >>"$D/etc/sniproxyd.conf" ||
    fail "cannot edit the installed sniproxyd.conf"
cp "$D/etc/sniproxyd.conf" "$T/edited.conf" || fail "cannot copy it"
make_in install
cmp -s "$T/edited.conf" "$D/etc/sniproxyd.conf" ||
    fail "a second make install replaced the existing sniproxyd.conf"
same_files "the second make install"

make_in uninstall
installed >"$T/left"
assert_eq "/etc/sniproxyd.conf" "$(tr '\n' ' ' <"$T/left" | sed 's/ $//')" \
    "files left by make uninstall"
cmp -s "$T/edited.conf" "$D/etc/sniproxyd.conf" ||
    fail "make uninstall changed the existing sniproxyd.conf"
[ ! -e "$D$EXDIR" ] || fail "make uninstall left $EXDIR"

# The unit as it is, but with the sniproxyd just installed, which
# verify wants to find.  Without a running systemd, verify still works
# on the file; where it cannot, that part is left out.
if command -v systemd-analyze >/dev/null 2>&1; then
	make_in install
	mkdir -p "$T/unit" || fail "cannot make $T/unit"
	sed -e "s|/usr/local/sbin/|$D/usr/local/sbin/|g" \
	    "$TOP/etc/sniproxyd.service" >"$T/unit/sniproxyd.service" ||
	    fail "cannot copy the unit"
	SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no \
	    "$T/unit/sniproxyd.service" >"$T/verify.out" 2>&1
	rv=$?
	if grep -q 'sniproxyd\.service' "$T/verify.out"; then
		fail "systemd-analyze verify: $(cat "$T/verify.out")"
	elif [ "$rv" -ne 0 ] && grep -Eqi \
	    'not been booted|failed to connect to bus|/run/systemd' \
	    "$T/verify.out"; then
		echo "systemd-analyze verify cannot run here:" \
		    "$(cat "$T/verify.out")"
	elif [ "$rv" -ne 0 ]; then
		fail "systemd-analyze verify: status $rv: $(cat "$T/verify.out")"
	fi
	make_in uninstall
else
	echo "no systemd-analyze: the unit is not verified"
fi

command -v mandoc >/dev/null 2>&1 ||
    fail "mandoc is needed to check the manual pages"
set --
for f in "$TOP"/sniproxyd/*.[1-9]; do
	[ -f "$f" ] && set -- "$@" "$f"
done
[ $# -gt 0 ] || fail "no manual page in $TOP/sniproxyd"
mandoc -Tlint -W warning "$@" >"$T/mandoc.out" 2>&1 ||
    fail "mandoc -Tlint -W warning: $(cat "$T/mandoc.out")"
