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
# A worker out of descriptors says so: the connection it cannot make a
# socket for ends "resources", not as a server that did not answer.
#
# client:	curl with SNI "ok", before and after the worker's descriptor
#		limit is lowered with prlimit(1) to leave it one free
#		descriptor (the client's)
# sniproxyd:	prefork 1, match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	the curl after fails; the log has "table <ok>: socket: Too
#		many open files" and the connection line "end resources",
#		and no "no server answered" nor "end connect-failed"

command -v prlimit >/dev/null 2>&1 || skip "prlimit is needed"
skip_under_valgrind "valgrind holds descriptors of its own"

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

hostile_start 5s "prefork 1" <<EOF2
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2
ok_answers "before the limit"

w=$(procs_titled "$DAEMON_PID" "route ok")
assert_eq 1 "$(echo "$w" | wc -w)" "workers of route ok"
# The second lowest free descriptor number: the first takes the client.
lim=$(find "/proc/$w/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' |
    sort -n | awk 'BEGIN { f = 0; n = 0 }
	{ while (f < $1) { if (++n == 2) { print f; exit } f++ } f = $1 + 1 }
	END { if (n < 2) print f + (n == 0 ? 1 : 0) }' | head -n 1)
prlimit --pid "$w" --nofile="$lim:$lim" 2>"$T/prlimit.err" ||
    skip "cannot lower the worker's descriptor limit: $(cat "$T/prlimit.err")"

log_mark
if body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl was answered by a worker without descriptors: $body"
fi
expect_log "table <ok>: socket: Too many open files"
expect_log " end resources$"
assert_log_lacks "no server answered"
assert_log_lacks " end connect-failed$"
