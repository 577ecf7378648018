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
# timeout 240
#
# Forty keypairs with chains the size of Let's Encrypt's, more than a
# worker's channel holds at once, several TLS and plain routes, and ten
# reloads: private keys are then in the keys helper and in the TLS
# workers that serve them, nowhere else, and no child holds a
# descriptor of a file.
#
# client:	openssl s_client to each TLS route; sniproxyctl reload
# sniproxyd:	as root, prefork 1; 40 keypairs of ~13 KB chains; match
#		tls sni "all..." terminate tls (every keypair) forward to
#		<all>; match tls sni "one..." terminate tls keypair "k1"
#		forward to <one>; two plain routes; one route with check tcp
# servers:	Python line servers
# expect:	after 10 reloads (no child died): no key's PEM line or
#		private scalar in priv, accept, the plain workers or check;
#		every key in the keys helper and the "all" worker; key 1
#		and no other in the "one" worker; descriptors 3 and up of
#		every child are sockets, pipes or event objects

is_root || skip "needs root to read the memory of other processes"
skip_under_valgrind "forty keypairs scanned in every process"
skip_if_sanitized "forty keys sought through every process of hundreds of megabytes"
. "$TOP/regress/peers.sh"
need python3
SNIPROXYCTL=${SNIPROXYCTL:-$(dirname "$SNIPROXYD")/sniproxyctl}

N=40
K=$T/keys
mkdir -p "$K" || fail "cannot make $K"
# Padding certificates make each chain as long as a real one.
for i in 1 2 3 4 5 6 7; do
	openssl req -x509 -new -newkey rsa:4096 -nodes -days 2 \
	    -subj "/CN=pad $i" -keyout "$K/pad$i.key" -out "$K/pad$i.pem" \
	    >/dev/null 2>&1 || fail "cannot make padding certificate $i"
done
i=1
while [ "$i" -le "$N" ]; do
	cert_make "k$i" "k$i.$DOMAIN" "DNS:k$i.$DOMAIN"
	cat "$T/pki/k$i.pem" "$K"/pad[1-7].pem >"$K/k$i.chain" &&
	    cp "$T/pki/k$i.key" "$K/k$i.key" ||
	    fail "cannot install keypair $i"
	i=$((i + 1))
done
size=$(wc -c <"$K/k1.chain")
[ "$size" -ge 10000 ] || fail "chain of $size bytes: too small for the case"

py_server all
py_server one
py_server pa
py_server pb
P=$(free_port)

{
	# One accept process, counted and searched for keys.
	echo "accept 1"
	echo "prefork 1"
	i=1
	while [ "$i" -le "$N" ]; do
		printf 'keypair "k%d" {\n\tcertificate "%s"\n\tkey "%s"\n}\n' \
		    "$i" "$K/k$i.chain" "$K/k$i.key"
		i=$((i + 1))
	done
	cat <<EOF2
table <all> { 127.0.0.1 port $(port all) }
table <one> { 127.0.0.1 port $(port one) }
table <pa> { 127.0.0.1 port $(port pa) }
table <pb> { 127.0.0.1 port $(port pb) }
listen on 127.0.0.1 port $P {
	match tls sni "k1.$DOMAIN" terminate tls keypair "k1" forward to <one>
	match tls sni "pa.$DOMAIN" forward to <pa> check tcp interval 1s
	match tls sni "pb.$DOMAIN" forward to <pb>
	match tls terminate tls forward to <all>
}
EOF2
} | conf
start_daemon "$P"

# The name a TLS route serves, as the certificate's subject says.
served() {
	timeout 10 openssl s_client -connect "127.0.0.1:$P" -servername "$1" \
	    </dev/null 2>/dev/null | sed -n 's/^subject=.*CN *= *//p' |
	    head -n 1
}

i=1
while [ "$i" -le 10 ]; do
	"$SNIPROXYCTL" -s "$T/control.sock" reload >"$T/reload.out" 2>&1 ||
	    fail "reload $i: $(cat "$T/reload.out")"
	i=$((i + 1))
done
expect_log "configuration reloaded, generation 11" 30
assert_eq "k7.$DOMAIN" "$(served "k7.$DOMAIN")" "certificate for k7"
assert_eq "k1.$DOMAIN" "$(served "k1.$DOMAIN")" "certificate for k1"
assert_log_lacks '(killed by signal|exited with status)'
# The old generations go once the last one is up: then the parent has
# one of each process, four workers, accept, keys and check.
wait_log "generation 11 is up" 20 ||
    fail "generation 11 is not up: $(log_since_mark | tail -n 3)"
n=0
while [ "$(children "$DAEMON_PID" | wc -w)" -ne 7 ] && [ "$n" -lt 200 ]; do
	tick
	n=$((n + 1))
done
assert_eq 7 "$(children "$DAEMON_PID" | wc -w)" \
    "processes below the parent once the old generations are gone"

acc=$(accept_pid)
wall=$(worker_of all)
wone=$(worker_of one)
wpa=$(worker_of pa)
wpb=$(worker_of pb)
kh=$(procs_titled "$DAEMON_PID" keys)
ck=$(procs_titled "$DAEMON_PID" check)
for v in acc wall wone wpa wpb kh ck; do
	eval "[ -n \"\$$v\" ]" || fail "process $v not found"
done

i=1
keys=
while [ "$i" -le "$N" ]; do
	keys="$keys $K/k$i.key"
	i=$((i + 1))
done
# shellcheck disable=SC2086
timeout 120 python3 "$TOP/regress/keyscan.py" $keys -- "$DAEMON_PID" \
    "$acc" "$wpa" "$wpb" "$ck" "$wall" "$wone" "$kh" >"$T/scan.out" 2>&1 ||
    fail "cannot scan: $(cat "$T/scan.out")"
cat "$T/scan.out"
all=$(seq -s, 1 "$N")
keys_in() {
	awk -v p="$1" '$1 == p { sub(/^keys=/, "", $3); print $3 }' \
	    "$T/scan.out"
}
for p in "$DAEMON_PID" "$acc" "$wpa" "$wpb" "$ck"; do
	assert_eq none "$(keys_in "$p")" "keys in $(title "$p")"
done
assert_eq "$all" "$(keys_in "$kh")" "keys in the keys helper"
assert_eq "$all" "$(keys_in "$wall")" "keys in the worker of every keypair"
assert_eq 1 "$(keys_in "$wone")" "keys in the worker of keypair k1"

for p in "$acc" "$wall" "$wone" "$wpa" "$wpb" "$kh" "$ck"; do
	for fd in /proc/"$p"/fd/*; do
		n=${fd##*/}
		[ "$n" -ge 3 ] || continue
		case $(readlink "$fd") in
		socket:*|pipe:*|anon_inode:*)
			;;
		*)
			fail "$(title "$p") holds $n -> $(readlink "$fd")"
			;;
		esac
	done
done
