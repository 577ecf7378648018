#!/bin/sh
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
# Three TLS backends behind one sniproxyd port, chosen by SNI.
#
# usage: sh regress/demo.sh path/to/sniproxyd
#
# Everything lives in a temporary directory and on 127.0.0.1: sniproxyd
# listens on port 8443 (DEMO_PORT), the backends on 18441-18443
# (DEMO_BACKEND_PORT and the two after it).  sniproxyd runs in the
# foreground with its log on the terminal until Ctrl-C, which stops it and
# the backends and removes the directory.

set -u

# sniproxyd refuses a configuration that group or others may write and
# a key file they may read: whatever umask this starts with, the files
# written here are made so.
umask 022

daemon=${1:-}
port=${DEMO_PORT:-8443}
bport=${DEMO_BACKEND_PORT:-18441}
names="one two three"
domain=demo.example
file=whoami

tmp=
daemon_pid=
daemon_kids=
backend_pids=

say() {
	printf 'demo: %s\n' "$*"
}

die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

# A fraction of a second where sleep(1) takes one, a whole second where not.
tick() {
	sleep 0.2 2>/dev/null || sleep 1
}

# Every process below $1, from a POSIX ps; empty when ps is missing.
# shellcheck disable=SC2317
descendants() {
	ps -A -o pid= -o ppid= 2>/dev/null |
	    awk -v root="$1" -f "$(dirname "$0")/proctree.awk"
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# Wait at most $1 ticks for process $2 to go away.
# shellcheck disable=SC2317
wait_gone() {
	n=$1
	while alive "$2" && [ "$n" -gt 0 ]; do
		tick
		n=$((n - 1))
	done
	! alive "$2"
}

# Run by the EXIT trap, which catches INT, TERM and HUP too.
# shellcheck disable=SC2317
cleanup() {
	trap '' INT TERM HUP
	if [ -n "$daemon_pid" ] && alive "$daemon_pid"; then
		daemon_kids="$daemon_kids $(descendants "$daemon_pid")"
		say "stopping sniproxyd (pid $daemon_pid)"
		kill -TERM "$daemon_pid" 2>/dev/null
		if ! wait_gone 40 "$daemon_pid"; then
			say "sniproxyd did not stop in 8 seconds; killing it"
			# shellcheck disable=SC2086
			kill -KILL "$daemon_pid" $daemon_kids 2>/dev/null
		fi
		wait "$daemon_pid" 2>/dev/null
	fi
	for kid in $daemon_kids; do
		wait_gone 10 "$kid" && continue
		case $(ps -p "$kid" -o args= 2>/dev/null) in
		*sniproxyd*)
			say "sniproxyd left process $kid behind; killing it"
			kill -KILL "$kid" 2>/dev/null
			;;
		esac
	done
	for pid in $backend_pids; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $backend_pids; do
		wait_gone 10 "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "$tmp" ] && [ -d "$tmp" ]; then
		rm -rf "$tmp"
	fi
}

# Show a backend's own log when it failed.
backend_log() {
	if [ -s "$tmp/$1/log" ]; then
		sed 's/^/    /' "$tmp/$1/log" >&2
	fi
}

# curl says 7 when it cannot connect: nothing listens there.
port_free() {
	curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$1/" 2>/dev/null
	[ $? -eq 7 ]
}

# Plain curl against a proxy or backend port: name, port, output file.
fetch() {
	curl -sS --max-time 5 --cacert "$tmp/pki/ca.pem" \
	    --resolve "$1.$domain:$2:127.0.0.1" \
	    "https://$1.$domain:$2/$file" -o "$3"
}

# The request fetch makes, as a user would type it: prefix, name.
curl_line() {
	printf '%scurl --cacert %s --resolve %s:%s:127.0.0.1 %s\n' "$1" \
	    "$tmp/pki/ca.pem" "$2.$domain" "$port" \
	    "https://$2.$domain:$port/$file"
}

[ -n "$daemon" ] || die "usage: sh regress/demo.sh path/to/sniproxyd"
if [ ! -f "$daemon" ] || [ ! -x "$daemon" ]; then
	die "$daemon: no such executable (run make first)"
fi
for cmd in openssl curl; do
	command -v "$cmd" >/dev/null 2>&1 || die "$cmd is needed and missing"
done
for p in "$port" "$bport"; do
	case $p in
	''|*[!0-9]*)
		die "port '$p' is not a number" ;;
	esac
	if [ "$p" -lt 1 ] || [ "$p" -gt 65533 ]; then
		die "port $p is out of range"
	fi
done
[ "$bport" -gt 1024 ] || die "DEMO_BACKEND_PORT must be above 1024"
if [ "$port" -ge "$bport" ] && [ "$port" -le $((bport + 2)) ]; then
	die "DEMO_PORT $port is one of the backend ports $bport-$((bport + 2))"
fi

# Only the loopback address is used; a proxy from the environment would
# take the requests elsewhere.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY

for p in "$port" "$bport" $((bport + 1)) $((bport + 2)); do
	port_free "$p" ||
	    die "127.0.0.1:$p is in use (set DEMO_PORT or DEMO_BACKEND_PORT)"
done

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

tmp=$(mktemp -d) || die "cannot make a temporary directory"
mkdir "$tmp/pki" "$tmp/etc" || die "cannot populate $tmp"

say "generating a throwaway CA and three certificates in $tmp/pki"
cat >"$tmp/pki/openssl.cnf" <<EOF || die "cannot write openssl.cnf"
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = sniproxyd demo CA
[ ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
if ! openssl ecparam -name prime256v1 -genkey -noout \
    -out "$tmp/pki/ca.key" 2>"$tmp/pki/log" ||
    ! openssl req -x509 -new -sha256 -days 2 -config "$tmp/pki/openssl.cnf" \
    -extensions ca -subj "/CN=sniproxyd demo CA" -key "$tmp/pki/ca.key" \
    -out "$tmp/pki/ca.pem" 2>>"$tmp/pki/log"; then
	cat "$tmp/pki/log" >&2
	die "openssl could not make the CA"
fi
serial=1
for n in $names; do
	cn=$n.$domain
	serial=$((serial + 1))
	cat >"$tmp/pki/$n.ext" <<EOF || die "cannot write $n.ext"
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:$cn
authorityKeyIdentifier = keyid
EOF
	if ! openssl ecparam -name prime256v1 -genkey -noout \
	    -out "$tmp/pki/$n.key" 2>>"$tmp/pki/log" ||
	    ! openssl req -new -sha256 -config "$tmp/pki/openssl.cnf" \
	    -subj "/CN=$cn" -key "$tmp/pki/$n.key" \
	    -out "$tmp/pki/$n.csr" 2>>"$tmp/pki/log" ||
	    ! openssl x509 -req -sha256 -days 2 -set_serial "$serial" \
	    -in "$tmp/pki/$n.csr" -CA "$tmp/pki/ca.pem" \
	    -CAkey "$tmp/pki/ca.key" -extfile "$tmp/pki/$n.ext" \
	    -out "$tmp/pki/$n.pem" 2>>"$tmp/pki/log"; then
		cat "$tmp/pki/log" >&2
		die "openssl could not make the certificate for $cn"
	fi
done

# Each backend serves from a directory of its own that holds only the
# response, so nothing else is reachable through it.
p=$bport
for n in $names; do
	mkdir "$tmp/$n" || die "cannot make $tmp/$n"
	body="backend $n answered (127.0.0.1:$p, certificate $n.$domain)"
	{
		printf '%s\r\n' "HTTP/1.0 200 OK" "Content-Type: text/plain" \
		    "Content-Length: $((${#body} + 1))" "Connection: close" ""
		printf '%s\n' "$body"
	} >"$tmp/$n/$file" || die "cannot write $tmp/$n/$file"
	(cd "$tmp/$n" && exec openssl s_server -quiet -HTTP \
	    -accept "127.0.0.1:$p" -cert "$tmp/pki/$n.pem" \
	    -key "$tmp/pki/$n.key") >"$tmp/$n/log" 2>&1 &
	backend_pids="$backend_pids $!"
	eval "pid_$n=\$!"
	p=$((p + 1))
done

p=$bport
for n in $names; do
	eval "pid=\$pid_$n"
	tries=25
	until fetch "$n" "$p" /dev/null 2>/dev/null; do
		if ! alive "$pid"; then
			backend_log "$n"
			die "backend $n (openssl s_server, 127.0.0.1:$p) exited"
		fi
		tries=$((tries - 1))
		if [ "$tries" -le 0 ]; then
			backend_log "$n"
			die "backend $n does not answer on 127.0.0.1:$p"
		fi
		tick
	done
	say "backend $n: openssl s_server on 127.0.0.1:$p as $n.$domain"
	p=$((p + 1))
done

conf=$tmp/etc/sniproxyd.conf
{
	echo "# sniproxyd demo: one port, three TLS services chosen by SNI"
	if [ "$(id -u)" -eq 0 ]; then
		id nobody >/dev/null 2>&1 || die "user nobody does not exist"
		if ! mkdir "$tmp/empty" || ! chown 0:0 "$tmp/empty" ||
		    ! chmod 755 "$tmp/empty"; then
			die "cannot make $tmp/empty"
		fi
		echo "user \"nobody\""
		echo "chroot \"$tmp/empty\""
	fi
	echo "log connections"
	echo "timeout shutdown 2s"
	echo
	p=$bport
	for n in $names; do
		echo "table <$n> { 127.0.0.1 port $p }"
		p=$((p + 1))
	done
	echo
	echo "listen on 127.0.0.1 port $port {"
	for n in $names; do
		printf '\tmatch tls sni "%s" forward to <%s>\n' \
		    "$n.$domain" "$n"
	done
	printf '\tdefault forward to <one>\n'
	echo "}"
} >"$conf" || die "cannot write $conf"

say "configuration $conf:"
sed 's/^/    /' "$conf"
if ! "$daemon" -n -f "$conf"; then
	awk '{ printf "%5d  %s\n", NR, $0 }' "$conf" >&2
	die "sniproxyd rejected the configuration"
fi

say "starting $daemon -d -f $conf"
"$daemon" -d -f "$conf" &
daemon_pid=$!

# Until sniproxyd listens, curl cannot connect (exit 7); anything else means
# the port answers and the real requests below tell how well.
tries=50
while :; do
	fetch one "$port" /dev/null 2>/dev/null
	rc=$?
	[ "$rc" -ne 7 ] && break
	alive "$daemon_pid" || {
		wait "$daemon_pid"
		die "sniproxyd exited with status $? before it answered"
	}
	tries=$((tries - 1))
	[ "$tries" -gt 0 ] || die "sniproxyd does not answer on 127.0.0.1:$port"
	tick
done

# The daemon's children are not ours, and once it is gone they are nobody's:
# remember them now to check at the end that they went away with it.
daemon_kids=$(descendants "$daemon_pid")

say "sniproxyd answers on 127.0.0.1:$port; while it runs, try:"
echo
for n in $names; do
	curl_line "    " "$n"
done
echo
for n in $names; do
	curl_line "$ " "$n"
	fetch "$n" "$port" "$tmp/out" || die "the request for $n.$domain failed"
	cat "$tmp/out"
	grep -q "^backend $n " "$tmp/out" ||
	    die "$n.$domain was not answered by backend $n"
done
echo
say "three names, three backends, one port. Press Ctrl-C to stop."

wait "$daemon_pid"
status=$?
daemon_pid=
[ "$status" -eq 0 ] || die "sniproxyd exited with status $status"
say "sniproxyd exited"
