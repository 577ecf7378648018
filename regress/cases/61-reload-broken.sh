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
# A reload that cannot be done leaves the running configuration and
# certificate in service and says why: a syntax error in the file, and
# a certificate whose key does not belong to it.
#
# client:	loadpeer.py tlsonce on the terminated route, which prints the
#		serial of the certificate it was shown; sniproxyctl reload
# sniproxyd:	prefork 2; keypair "site" with reload check 300ms; match
#		tls sni "app..." terminate tls keypair "site"
# servers:	a loadpeer.py server "app"
# expect:	a line with a syntax error, SIGHUP: the log has
#		"sniproxyd.conf:LINE: " and "reload failed"; sniproxyctl
#		reload: status 1, the same "sniproxyd.conf:LINE: " on its
#		standard error; the old configuration answers throughout and
#		show summary has generation 1 only.  The new certificate with
#		the old key: the log says the key does not belong to the
#		certificate and that the one in service is kept, once, even
#		when the certificate is written again; sniproxyctl reload
#		says why it fails with status 1,
#		certificate 101 is still served; then its own key: the new
#		certificate (102) is served within 1.3 s (interval + 1 s)

# shellcheck source=regress/load.sh
. "$TOP/regress/load.sh"

pair_make 101
pair_make 102
plain_backend app
P=$(free_port)
K=$T/etc/keys
if ! mkdir -p "$K" || ! cp "$T/pairs/101/cert.pem" "$K/site.crt" ||
    ! cp "$T/pairs/101/key.pem" "$K/site.key"; then
	fail "cannot install pair 101"
fi

conf <<EOF2
prefork 2
keypair "site" {
	certificate "$K/site.crt"
	key "$K/site.key"
	reload check 300ms
}
table <app> { 127.0.0.1 port $(port app) }

listen on 127.0.0.1 port $P {
	match tls sni "app.$DOMAIN" terminate tls keypair "site" \
	    forward to <app>
}
EOF2
start_daemon "$P"

# served SERIAL: the terminated route answers with that certificate.
served() {
	_got=$(timeout 10 python3 "$PEER" tlsonce 127.0.0.1 "$P" \
	    "app.$DOMAIN" "$PKI/ca.pem")
	assert_eq "app $(serial_of "$1")" "$_got" \
	    "answer and certificate serial on route app"
}

# replace FILE NEW: FILE becomes a copy of NEW in one rename.
replace() {
	if ! cp "$2" "$1.tmp" || ! mv -f "$1.tmp" "$1"; then
		fail "cannot replace $1"
	fi
}

served 101

cp "$CONF" "$T/good.conf" || fail "cannot save the configuration"
sed -e '/^table <app>/i\
frobnicate the configuration' "$T/good.conf" >"$T/bad.conf"
replace "$CONF" "$T/bad.conf"
L=$(grep -n '^frobnicate' "$CONF" | cut -d: -f1)
AT="sniproxyd\\.conf:$L: "

log_mark
kill -HUP "$DAEMON_PID"
expect_log "$AT" 5
expect_log "reload failed: keeping the running configuration" 5
served 101

ctl reload >"$T/ctl.out" 2>"$T/ctl.err"
rv=$?
cat "$T/ctl.out" "$T/ctl.err"
assert_eq 1 "$rv" "status of sniproxyctl reload with a syntax error"
grep -Eq -- "$AT" "$T/ctl.err" ||
    fail "sniproxyctl reload does not name the line: $(cat "$T/ctl.err")"
served 101
ctl show summary >"$T/ctl.out" 2>&1 || fail "show summary failed"
if ! grep -q '^generation 1 current' "$T/ctl.out" ||
    [ "$(grep -c '^generation ' "$T/ctl.out")" -ne 1 ]; then
	fail "show summary after failed reloads: $(cat "$T/ctl.out")"
fi
assert_log_lacks "configuration reloaded"

replace "$CONF" "$T/good.conf"

# A new certificate with the key of the old one.
log_mark
replace "$K/site.crt" "$T/pairs/102/cert.pem"
MISMATCH='keypair "site": the key .*/site\.key does not belong to '\
'the certificate .*/site\.crt'
expect_log 'keypair site: files changed' 3
expect_log "$MISMATCH" 3
expect_log "keeping (the running configuration|the one in use)" 3
served 101
# The same wrong pair written again is no news.
replace "$K/site.crt" "$T/pairs/102/cert.pem"
sleep 1
assert_eq 1 "$(log_count "$MISMATCH")" "lines saying the key does not belong"
assert_eq 1 "$(log_count 'keeping the one in use')" \
    "lines saying the pair in use is kept"
assert_log_lacks 'failed to load private key'
ctl reload >"$T/ctl.out" 2>"$T/ctl.err"
rv=$?
cat "$T/ctl.out" "$T/ctl.err"
assert_eq 1 "$rv" "status of sniproxyctl reload with a mismatched key"
grep -q 'keypair "site": the key .* does not belong' "$T/ctl.err" ||
    later "sniproxyctl reload does not say why keypair site failed:" \
    "$(cat "$T/ctl.err")"
served 101
assert_log_lacks "configuration reloaded"

# Its own key arrives.
replace "$K/site.key" "$T/pairs/102/key.pem"
took=$(wait_serial "app.$DOMAIN" "$P" "$(serial_of 102)" 1300) || exit 1
echo "certificate 102 served $took ms after its key arrived"
served 102
expect_log "keypair site: files changed, now serving subject /CN=cert-102\\.$DOMAIN"
check_later
