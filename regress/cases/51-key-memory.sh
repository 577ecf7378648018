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

# The needles: every full base64 line of the PEM body, the DER of the
# key as PKCS#8 and as SEC1, and the private scalar in both byte orders
# (a bignum's words are little-endian here).
if ! openssl pkey -in "$KEY" -outform DER -out "$T/key.p8.der" \
    2>/dev/null ||
    ! openssl ec -in "$KEY" -outform DER -out "$T/key.sec1.der" \
    2>/dev/null; then
	fail "openssl cannot write the key's DER"
fi
openssl ec -in "$KEY" -noout -text 2>/dev/null |
    awk '/^priv:/ { on = 1; next } /^pub:/ { on = 0 } on' |
    tr -d ' :\n' >"$T/key.priv.hex"
[ "$(wc -c <"$T/key.priv.hex")" -ge 62 ] ||
    fail "no private scalar: $(cat "$T/key.priv.hex")"

cat >"$T/scan.py" <<'EOF2'
import re, sys

pem, p8, sec1, privhex = sys.argv[1:5]
needles = []
for l in open(pem).read().splitlines():
    if len(l) == 64 and not l.startswith("-----"):
        needles.append(("pem-line", l.encode()))
needles.append(("pkcs8-der", open(p8, "rb").read()))
needles.append(("sec1-der", open(sec1, "rb").read()))
h = open(privhex).read().strip()
# 33 bytes when a leading zero keeps the number positive.
raw = bytes.fromhex(h)[-32:]
needles.append(("scalar-be", raw))
needles.append(("scalar-le", raw[::-1]))

for pid in sys.argv[5:]:
    found, scanned = {}, 0
    with open("/proc/%s/maps" % pid) as maps, \
            open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            if f[1][0] != "r" or (len(f) > 5 and f[5] in ("[vvar]",
                    "[vsyscall]", "[vvar_vclock]")):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            # A sanitizer's shadow memory is reserved by the terabyte
            # and never holds program data: skip such reservations.
            if hi - lo > (1 << 30):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError, MemoryError):
                continue
            scanned += len(data)
            for kind, n in needles:
                if n in data:
                    found[kind] = found.get(kind, 0) + data.count(n)
    print("%s scanned=%d %s" % (pid, scanned, " ".join("%s=%d" % kv
        for kv in sorted(found.items())) or "nothing"))
EOF2

scan() {
	timeout 60 python3 "$T/scan.py" "$KEY" "$T/key.p8.der" \
	    "$T/key.sec1.der" "$T/key.priv.hex" "$@"
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
	grep -Eq "^$p .*(scalar-|der=|pem-line=)" "$T/scan.keyholders" ||
	    fail "the scan does not find the key even in $(title "$p")," \
	    "which holds it: $(cat "$T/scan.keyholders")"
done
while read -r pid _ what; do
	[ "$what" = nothing ] ||
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
