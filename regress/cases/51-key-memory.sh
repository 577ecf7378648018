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
# timeout 90
#
# The private key stays out of the parent, the accept process and the
# plain workers: only the keys helper and the TLS worker hold it, and
# no worker can open its file.  The memory of each process
# is read through /proc while a terminated and a passed-through
# connection are open.
#
# client:	openssl s_client to a terminating rule and to a passthrough
#		rule, both held open
# sniproxyd:	as root, prefork 1; keypair "secret" (a key made for this
#		case); match tls sni "secret.example.com" terminate tls
#		forward to <tlsb>; match tls sni "plain.example.com"
#		forward to <plainb>
# servers:	Python line server "tlsb"; openssl s_server -rev "plainb"
# expect:	no base64 line of the key's PEM body, none of its DER
#		forms (PKCS#8, SEC1) and not its private scalar in the
#		memory of the parent, the accept process or the plain
#		worker; the scan finds the key in the keys helper and the
#		TLS worker, which shows that it can; the TLS worker runs as the unprivileged user with
#		its root at the empty directory, where the key's path does
#		not exist, and holds no descriptor of a file of the
#		configuration's directory

is_root || skip "needs root to read the memory of other processes"
. "$TOP/regress/peers.sh"
need python3

cert_make secret "secret.$DOMAIN"
py_server tlsb
backend_rev plainb
P=$(free_port)

conf <<EOF2
prefork 1
$(keypair_conf secret "$T/pki/secret.pem" "$T/pki/secret.key")
table <tlsb> { 127.0.0.1 port $(port tlsb) }
table <plainb> { 127.0.0.1 port $(port plainb) }

listen on 127.0.0.1 port $P {
	match tls sni "secret.$DOMAIN" terminate tls keypair "secret" \\
	    forward to <tlsb>
	match tls sni "plain.$DOMAIN" forward to <plainb>
}
EOF2
start_daemon "$P"
KEY=$T/etc/secret.key

client_open t "secret.$DOMAIN" "$P"
client_open p "plain.$DOMAIN" "$P"
client_send t "through the TLS worker"
client_expect t "tlsb: through the TLS worker"
client_send p "through the plain worker"
client_expect p "rekrow nialp eht hguorht"

acc=$(accept_pid)
tw=$(worker_of tlsb)
pw=$(worker_of plainb)
kh=$(procs_titled "$DAEMON_PID" keys)
if [ -z "$acc" ] || [ -z "$tw" ] || [ -z "$pw" ] || [ -z "$kh" ]; then
	fail "processes not found: accept '$acc', TLS worker '$tw'," \
	    "plain worker '$pw', keys '$kh'"
fi

scan() {
	timeout 60 python3 "$TOP/regress/keyscan.py" "$KEY" -- "$@"
}
# First the processes that must hold the key, to show the scan finds it.
scan "$tw" "$kh" >"$T/scan.keyholders" 2>&1 ||
    fail "cannot scan: $(cat "$T/scan.keyholders")"
scan "$DAEMON_PID" "$acc" "$pw" >"$T/scan.others" 2>&1 ||
    fail "cannot scan: $(cat "$T/scan.others")"
echo "TLS worker and keys helper:"
sed 's/^/  /' "$T/scan.keyholders"
echo "parent, accept process and plain worker:"
sed 's/^/  /' "$T/scan.others"
grep -q '^[0-9]* scanned=[1-9]' "$T/scan.others" ||
    fail "the scan read nothing: $(cat "$T/scan.others")"
for p in "$tw" "$kh"; do
	grep -q "^$p .* keys=1$" "$T/scan.keyholders" ||
	    fail "the scan does not find the key even in $(title "$p")," \
	    "which holds it: $(cat "$T/scan.keyholders")"
done
while read -r pid _ what; do
	[ "$what" = keys=none ] ||
	    fail "the key is in the memory of $(title "$pid") ($pid): $what"
done <"$T/scan.others"

# The TLS worker: the unprivileged user, in the empty directory.
user=$(unpriv_user)
assert_eq "$(id -u "$user")" \
    "$(awk '$1 == "Uid:" { print $3 }' "/proc/$tw/status")" \
    "effective uid of the TLS worker"
assert_eq "$T/empty" "$(readlink "/proc/$tw/root")" "root of the TLS worker"
[ -e "/proc/$tw/root$KEY" ] && fail "the key's path exists in the TLS" \
    "worker's root"
[ -z "$(ls -A "/proc/$tw/root/")" ] ||
    fail "the TLS worker's root is not empty: $(ls -A "/proc/$tw/root/")"
for pid in "$tw" "$pw" "$acc"; do
	for fd in /proc/"$pid"/fd/*; do
		case $(readlink "$fd") in
		"$T/etc"*|*secret*)
			fail "$(title "$pid") holds $fd -> $(readlink "$fd")"
			;;
		esac
	done
done

client_send t "still there"
client_expect t "tlsb: still there"
