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
# sniproxyd -V says which sniproxyd it is and which libraries it runs
# with, without a configuration and without starting.
#
# client:	none
# sniproxyd:	-V, with -f naming a file that does not exist
# servers:	none
# expect:	status 0; lines for sniproxyd, libevent, libtls and the TLS
#		library, each with a version

"$SNIPROXYD" -V -f "$T/nonexistent.conf" >"$T/out" 2>&1 ||
    fail "sniproxyd -V: status $?: $(cat "$T/out")"
for re in '^sniproxyd [0-9]' '^libevent [0-9]' '^libtls API [0-9]' \
    '^(OpenSSL|LibreSSL) [0-9]'; do
	grep -Eq "$re" "$T/out" ||
	    fail "sniproxyd -V: no line matching /$re/: $(cat "$T/out")"
done
[ "$(wc -l <"$T/out")" -eq 4 ] ||
    fail "sniproxyd -V: not four lines: $(cat "$T/out")"
