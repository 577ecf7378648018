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
# SNI passthrough benchmark: sniproxyd against haproxy, sslh, sniproxy and
# nginx, with "direct" (the load generator straight to the backends) as
# the physical limit (parts 1 to 3); and TLS termination: sniproxyd
# against haproxy, nginx and hitch, with ECDSA P-256 and RSA-2048 keys
# (part 4), and one long stream through it (part 4b).
#
# usage: sh regress/bench/run.sh [path/to/sniproxyd]
#
# Run from anywhere; it finds the tree from its own path and needs
# regress/bench/loadgen and regress/bench/backend built.  Every system
# routes the same three names to three backends and anything else to a
# fourth, on 127.0.0.1 only, each with one worker process or thread
# (sniproxyd: prefork 1, which gives one worker per rule).  hitch has
# one backend only: it sends every name to the first.  Part 4 runs
# sniproxyd that way too, as "sniproxyd1": one rule, so one worker, for
# every name.  Every round runs every system once, one after the other,
# and the table shows the median over the rounds.
#
# Part 4 makes a certificate for each key type at the start, self-signed
# and holding every name, in the run's temporary directory.  Each of its
# connections completes a full TLS 1.3 handshake (X25519; the client
# offers no session to resume), sends a line, reads the backend's answer
# through the proxy and closes.  nginx terminates in its stream module,
# as the others do, with no HTTP in between.
#
# Part 4b sends one long stream, backend to client, through each proxy
# terminating TLS with the ECDSA key: the client asks for the bulk data
# in its request and reads it through TLS.  Parts 4 and 4b run alone
# with BENCH_TLS=only (make bench-tls), and have a section of their own
# in the report.
#
# Part 6 counts the system calls of sniproxyd, by process kind, and of
# haproxy over a fixed number of short connections, under strace(1),
# with backends that answer 1 KB.  It runs last, alone with
# BENCH_SYSCALLS=only (make bench-syscalls).
#
# Part 7 relays QUIC: regress/bench/quicgen sends the RFC 9001 sample
# client Initial (for example.com) on each flow, which sniproxyd routes
# by, then streams 1200-byte datagrams that a quicgen server sends
# back, through one flow and through many, against "direct" (client to
# server without sniproxyd).  It runs once, after part 6, or alone with
# BENCH_QUIC=only (make bench-quic).
#
# In the report file, each part's section (parts 1 to 3 and 5, 4 and 4b,
# 6, 7) replaces its own from the last run, and a section "## Notes"
# (written by hand) is kept.
#
# Environment:
#   BENCH_QUICK=1     one round with short runs (under two minutes)
#   BENCH_ROUNDS      rounds in full mode (default 3)
#   BENCH_SYSTEMS     which systems, in order (default: all); parts 1 to 3
#                     run all of them but hitch, part 4 only sniproxyd
#                     (and sniproxyd1 with it), haproxy, nginx and hitch
#   BENCH_IDLE        idle connections held in part 3 (default 10000,
#                     1000 quick); lowered to what the file limit allows
#   BENCH_HOLD        idle connections sniproxyd alone holds once the
#                     rounds are over (default 50000, 2000 quick; 0:
#                     none), spread over client processes and two
#                     listening addresses to fit the file limit and the
#                     ephemeral ports, and over workers with prefork
#   BENCH_CONC        concurrency of parts 1 and 4 (default 64)
#   BENCH_ACCEPT      sniproxyd's accept processes (default: its own
#                     default, one per CPU)
#   BENCH_SOURCES     client addresses of parts 1 and 2, 127.0.0.1
#                     onwards (default 1): sniproxyd sends all the
#                     connections of one address to one accept process
#   BENCH_TLS_JOBS    load generator processes sharing part 4's
#                     connections (default: one per core), as one
#                     process makes fewer TLS handshakes than a proxy
#   BENCH_PORT        first of the ports used (default 24400): backends
#                     on the four after it, proxies on BENCH_PORT + 10
#   BENCH_OUT         file for the report; in full mode it defaults to
#                     regress/bench/RESULTS.md, in quick mode to none
#   BENCH_INSTALL=0   do not apt-get install missing peers
#                     (haproxy, sslh, sniproxy, nginx, hitch)
#   BENCH_VERSION     what to call the sniproxyd binary in the report
#                     (default: git describe of the tree)
#   BENCH_SYSCALLS    1: part 6 after the others (default); 0: not;
#                     only: part 6 alone, of sniproxyd and haproxy
#   BENCH_QUIC        1: part 7 after the others (default); 0: not;
#                     only: part 7 alone
#   BENCH_TLS         1: parts 4 and 4b with the others (default); 0: not;
#                     only: parts 4 and 4b alone (BENCH_ROUNDS rounds)
#   BENCH_QUIC_FLOWS  flows of part 7's many-flow run (default 64)
#   BENCH_SYSCALL_CONNS  connections of part 6 (default 4000, 1000
#                     quick), at most 60 s (BENCH_SYSCALL_SECS)

set -u

# sniproxyd refuses a configuration that group or others may write and
# a key file they may read: whatever umask this starts with, the files
# written here are made so.
umask 022

top=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
bench=$top/regress/bench
daemon=${1:-$top/sniproxyd/sniproxyd}
loadgen=$bench/loadgen
backend=$bench/backend
quicgen=$bench/quicgen
initial=$top/regress/fuzz/corpus/quic/rfc9001-client-initial
hello=$top/regress/hellos/openssl.bin

quick=${BENCH_QUICK:-0}
[ "$quick" = 0 ] && quick=
if [ -n "$quick" ]; then
	rounds=1
	warm=0.5
	rate_secs=2
	stream_secs=2
	tls_secs=2
	tstream_secs=2
	idle_k=${BENCH_IDLE:-1000}
	hold=${BENCH_HOLD:-2000}
	hold_secs=5
	sc_conns=${BENCH_SYSCALL_CONNS:-1000}
	out=${BENCH_OUT:-}
else
	rounds=${BENCH_ROUNDS:-3}
	warm=1
	rate_secs=6
	stream_secs=4
	tls_secs=4
	tstream_secs=4
	idle_k=${BENCH_IDLE:-10000}
	hold=${BENCH_HOLD:-50000}
	hold_secs=20
	sc_conns=${BENCH_SYSCALL_CONNS:-4000}
	out=${BENCH_OUT-$bench/RESULTS.md}
fi
syscalls=${BENCH_SYSCALLS:-1}
sc_secs=${BENCH_SYSCALL_SECS:-60}
sc_conc=16
sc_size=1024
quic=${BENCH_QUIC:-1}
q_flows=${BENCH_QUIC_FLOWS:-64}
q_secs=$([ -n "$quick" ] && echo 2 || echo 5)
tls=${BENCH_TLS:-1}
tlsonly=
if [ "$tls" = only ]; then
	tlsonly=1
	quic=0
	syscalls=0
fi
if [ "$quic" = only ]; then
	syscalls=0
fi
systems=${BENCH_SYSTEMS:-direct sniproxyd haproxy sslh sniproxy nginx hitch}
if [ "$syscalls" = only ]; then
	systems=${BENCH_SYSTEMS:-sniproxyd haproxy}
	rounds=0
	hold=0
fi
if [ "$quic" = only ]; then
	systems=${BENCH_SYSTEMS:-direct sniproxyd}
	rounds=0
	hold=0
fi
if [ -n "$tlsonly" ]; then
	systems=${BENCH_SYSTEMS:-sniproxyd haproxy nginx hitch}
	hold=0
fi
conc=${BENCH_CONC:-64}
naccept=${BENCH_ACCEPT:-}
sources=${BENCH_SOURCES:-1}
srcopt=
[ "$sources" -gt 1 ] && srcopt="-s $sources"
port0=${BENCH_PORT:-24400}
pport=$((port0 + 10))
names="alpha beta gamma"
other=other.example.net
keytypes="ec rsa"
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

tmp=
backend_pids=
sys_pid=

say() {
	printf 'bench: %s\n' "$*" >&2
}

die() {
	printf 'bench: error: %s\n' "$*" >&2
	exit 1
}

tick() {
	sleep 0.2 2>/dev/null || sleep 1
}

alive() {
	kill -0 "$1" 2>/dev/null
}

# $1 and every process below it.
tree() {
	kill -0 "$1" 2>/dev/null && echo "$1"
	ps -A -o pid= -o ppid= 2>/dev/null |
	    awk -v root="$1" -f "$top/regress/proctree.awk"
}

# utime + stime, in clock ticks, of the processes named.
cpu_ticks() {
	for p in "$@"; do
		sed 's/.*) //' "/proc/$p/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}

# Resident memory in KiB, summed over the processes named.
rss_kb() {
	for p in "$@"; do
		cat "/proc/$p/status" 2>/dev/null
	done | awk '/^VmRSS:/ { t += $2 } END { print t + 0 }'
}

slab_kb() {
	awk '/^Slab:/ { print $2 }' /proc/meminfo
}

# Connections dropped by full accept queues, host-wide, so far.
overflows() {
	awk '/^TcpExt:/ {
		if (!h) {
			for (i = 1; i <= NF; i++)
				col[$i] = i
			h = 1
		} else
			print $col["ListenOverflows"] + 0
	}' /proc/net/netstat 2>/dev/null
}

# Wait at most $1 ticks for process $2 to go away.
wait_gone() {
	n=$1
	while alive "$2" && [ "$n" -gt 0 ]; do
		tick
		n=$((n - 1))
	done
	! alive "$2"
}

stop_tree() {
	pids=$(tree "$1")
	kill -TERM "$1" 2>/dev/null
	if ! wait_gone 25 "$1"; then
		# shellcheck disable=SC2086
		kill -KILL $pids 2>/dev/null
	fi
	wait "$1" 2>/dev/null
	for p in $pids; do
		wait_gone 10 "$p" || kill -KILL "$p" 2>/dev/null
	done
}

cleanup() {
	trap '' INT TERM HUP
	[ -n "$sys_pid" ] && stop_tree "$sys_pid"
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

port_busy() {
	command -v ss >/dev/null 2>&1 || return 1
	[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]
}

# The routes a client is sent along: through a proxy on $1, or straight
# to each backend's own port when $1 is "direct".
routes() {
	i=1
	for n in $names default; do
		if [ "$n" = default ]; then
			sni=$other
		else
			sni=$n.example.com
		fi
		case $1 in
		direct)
			printf ' -r %s=%s:%d' "$sni" "$n" $((port0 + i)) ;;
		hitch|sniproxyd1)
			printf ' -r %s=%s' "$sni" "${names%% *}" ;;
		*)
			printf ' -r %s=%s' "$sni" "$n" ;;
		esac
		i=$((i + 1))
	done
}

# The load generator for system $1: passthrough, then through TLS
# terminated by the proxy.
lg() {
	sys=$1
	shift
	# shellcheck disable=SC2046,SC2086
	"$loadgen" -H "$hello" -p "$pport" $srcopt $(routes "$sys") "$@"
}

tlg() {
	sys=$1
	shift
	# shellcheck disable=SC2046
	"$loadgen" -t -p "$pport" $(routes "$sys") "$@"
}

field() {
	printf '%s\n' "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

record() {
	printf '%s %s %s %s\n' "$round" "$1" "$2" "$3" >>"$tmp/results"
}

# --- the peers' configurations ----------------------------------------

# What each sniproxyd configuration begins with: prefork $1, maxconn
# $2 (from the one client address too), accept BENCH_ACCEPT if given,
# and the four tables.
sniproxyd_head() {
	mkdir -p "$tmp/empty"
	chmod 755 "$tmp/empty"
	if [ "$(id -u)" = 0 ]; then
		echo 'user "nobody"'
		echo "chroot \"$tmp/empty\""
	fi
	echo "prefork $1"
	[ -n "$naccept" ] && echo "accept $naccept"
	echo "maxconn $2"
	echo "maxconn per source $2"
	echo 'timeout shutdown 1s'
	i=1
	for n in $names default; do
		echo "table <$n> { 127.0.0.1 port $((port0 + i)) }"
		i=$((i + 1))
	done
}

# A listener on the address $1 that passes TLS through by name.
sniproxyd_listen() {
	echo "listen on $1 port $pport {"
	for n in $names; do
		printf '\tmatch tls sni "%s.example.com" ' "$n"
		printf 'forward to <%s>\n' "$n"
	done
	printf '\tdefault forward to <default>\n}\n'
}

conf_sniproxyd() {
	d=$tmp/sniproxyd
	mkdir -p "$d"
	{
		sniproxyd_head 1 $((idle_k + 1000))
		sniproxyd_listen 127.0.0.1
	} >"$d/sniproxyd.conf"
	echo "$daemon" -d -f "$d/sniproxyd.conf"
}

# What both haproxy configurations share: one thread, the limits, and
# the four backends behind a frontend that ends with its default.
haproxy_global() {
	printf 'global\n\tnbthread 1\n\tmaxconn %d\n' \
	    $(((nofile - 100) / 2))
	printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n'
	printf '\ttimeout client 10m\n\ttimeout server 10m\n'
}

haproxy_backends() {
	printf '\tdefault_backend default\n'
	i=1
	for n in $names default; do
		printf 'backend %s\n\tserver s 127.0.0.1:%d\n' "$n" \
		    $((port0 + i))
		i=$((i + 1))
	done
}

conf_haproxy() {
	d=$tmp/haproxy
	mkdir -p "$d"
	{
		haproxy_global
		printf 'frontend bench\n\tbind 127.0.0.1:%d\n' "$pport"
		printf '\ttcp-request inspect-delay 5s\n'
		printf '\ttcp-request content accept if '
		printf '{ req.ssl_hello_type 1 }\n'
		for n in $names; do
			printf '\tuse_backend %s if { req.ssl_sni -i %s }\n' \
			    "$n" "$n.example.com"
		done
		haproxy_backends
	} >"$d/haproxy.cfg"
	echo haproxy -db -f "$d/haproxy.cfg"
}

conf_sslh() {
	d=$tmp/sslh
	mkdir -p "$d"
	{
		echo 'foreground: true; inetd: false; numeric: true;'
		echo 'transparent: false; timeout: 5; verbose: 0;'
		echo "listen: ( { host: \"127.0.0.1\"; port: \"$pport\"; } );"
		echo 'protocols: ('
		i=1
		for n in $names; do
			printf '{ name: "tls"; host: "127.0.0.1"; '
			printf 'port: "%d"; ' $((port0 + i))
			printf 'sni_hostnames: [ "%s" ]; log_level: 0; },\n' \
			    "$n.example.com"
			i=$((i + 1))
		done
		printf '{ name: "tls"; host: "127.0.0.1"; port: "%d"; ' \
		    $((port0 + i))
		printf 'log_level: 0; }\n);\n'
	} >"$d/sslh.cfg"
	echo "$sslh" -F"$d/sslh.cfg" -f
}

conf_sniproxy() {
	d=$tmp/sniproxy
	mkdir -p "$d"
	{
		echo "pidfile $d/sniproxy.pid"
		echo "error_log {"
		echo "	filename $d/error.log"
		echo "	priority notice"
		echo "}"
		echo "listener 127.0.0.1:$pport {"
		echo "	protocol tls"
		echo "	table bench"
		echo "	fallback 127.0.0.1:$((port0 + 4))"
		echo "}"
		echo "table bench {"
		i=1
		for n in $names; do
			printf '\t^%s\\\\.example\\\\.com$ 127.0.0.1:%d\n' \
			    "$n" $((port0 + i))
			i=$((i + 1))
		done
		printf '\t.* 127.0.0.1:%d\n}\n' $((port0 + 4))
	} >"$d/sniproxy.conf"
	echo sniproxy -f -c "$d/sniproxy.conf"
}

# The head of an nginx configuration in directory $1, up to its stream
# server: the route is chosen by the name in the variable $2.
nginx_head() {
	[ "$(id -u)" = 0 ] && echo 'user nobody nogroup;'
	echo 'worker_processes 1;'
	echo "worker_rlimit_nofile $nofile;"
	echo "pid $1/nginx.pid;"
	echo "error_log $1/error.log;"
	[ -n "$nginx_stream" ] && echo "load_module $nginx_stream;"
	# Each proxied connection takes two: client and upstream.
	echo "events { worker_connections $((nofile - 100)); }"
	echo 'stream {'
	echo "	map \$$2 \$route {"
	for n in $names; do
		printf '\t\t%s %s;\n' "$n.example.com" "$n"
	done
	echo '		default default;'
	echo '	}'
	i=1
	for n in $names default; do
		printf '\tupstream %s { server 127.0.0.1:%d; }\n' "$n" \
		    $((port0 + i))
		i=$((i + 1))
	done
	echo '	server {'
}

conf_nginx() {
	d=$tmp/nginx
	mkdir -p "$d"
	{
		nginx_head "$d" ssl_preread_server_name
		echo "		listen 127.0.0.1:$pport;"
		echo '		ssl_preread on;'
		echo '		preread_timeout 5s;'
		echo '		proxy_connect_timeout 5s;'
		echo '		proxy_timeout 10m;'
		# shellcheck disable=SC2016
		echo '		proxy_pass $route;'
		echo '	}'
		echo '}'
	} >"$d/nginx.conf"
	echo nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" \
	    -g "'daemon off;'"
}

# Part 4: the same routes, each terminating TLS with the key type $1.
# The certificate and key lie in $tmp/tls, below the configuration as
# sniproxyd wants them when it runs as root.

# sniproxyd terminating TLS with the key type $1; with $2 "one", one
# rule that sends every name to the first backend, as hitch does.
tconf_sniproxyd() {
	d=$tmp/tls
	{
		sniproxyd_head 1 10000
		echo 'keypair "bench" {'
		echo "	certificate \"$d/$1.crt\""
		echo "	key \"$d/$1.key\""
		echo '}'
		echo "listen on 127.0.0.1 port $pport {"
		if [ "${2:-}" = one ]; then
			printf '\tdefault terminate tls keypair "bench" '
			printf 'forward to <%s>\n}\n' "${names%% *}"
		else
			for n in $names; do
				printf '\tmatch tls sni "%s.example.com" ' "$n"
				printf 'terminate tls keypair "bench" '
				printf 'forward to <%s>\n' "$n"
			done
			printf '\tdefault terminate tls keypair "bench" '
			printf 'forward to <default>\n}\n'
		fi
	} >"$d/sniproxyd-$1${2:-}.conf"
	echo "$daemon" -d -f "$d/sniproxyd-$1${2:-}.conf"
}

tconf_sniproxyd1() {
	tconf_sniproxyd "$1" one
}

tconf_haproxy() {
	d=$tmp/tls
	{
		haproxy_global
		printf 'frontend bench\n'
		printf '\tbind 127.0.0.1:%d ssl crt %s\n' "$pport" "$d/$1.pem"
		for n in $names; do
			printf '\tuse_backend %s if { ssl_fc_sni -i %s }\n' \
			    "$n" "$n.example.com"
		done
		haproxy_backends
	} >"$d/haproxy-$1.cfg"
	echo haproxy -db -f "$d/haproxy-$1.cfg"
}

# nginx's stream module, the same routes by the name the client sent.
tconf_nginx() {
	d=$tmp/tls
	mkdir -p "$d/nginx-$1"
	{
		nginx_head "$d/nginx-$1" ssl_server_name
		echo "		listen 127.0.0.1:$pport ssl;"
		echo "		ssl_certificate $d/$1.crt;"
		echo "		ssl_certificate_key $d/$1.key;"
		# nginx before 1.23.4 leaves TLS 1.3 out by default.
		echo '		ssl_protocols TLSv1.2 TLSv1.3;'
		echo '		proxy_connect_timeout 5s;'
		echo '		proxy_timeout 10m;'
		# shellcheck disable=SC2016
		echo '		proxy_pass $route;'
		echo '	}'
		echo '}'
	} >"$d/nginx-$1.conf"
	echo nginx -p "$d/nginx-$1" -e "$d/nginx-$1/error.log" \
	    -c "$d/nginx-$1.conf" -g "'daemon off;'"
}

tconf_hitch() {
	d=$tmp/tls
	{
		echo "frontend = \"[127.0.0.1]:$pport\""
		echo "backend = \"[127.0.0.1]:$((port0 + 1))\""
		echo "pem-file = \"$d/$1.pem\""
		echo 'workers = 1'
		echo 'backlog = 4096'
		echo 'daemon = off'
		echo 'log-level = 1'
		echo "ocsp-dir = \"$d\""
		[ "$(id -u)" = 0 ] && echo 'user = "nobody"'
	} >"$d/hitch-$1.conf"
	echo hitch --config="$d/hitch-$1.conf"
}

# Makes the key of type $1 and a certificate for it in $tmp/tls: the
# key, the certificate, and both in one file for haproxy and hitch.
keypair() {
	case $1 in
	ec)
		newkey="ec -pkeyopt ec_paramgen_curve:P-256" ;;
	rsa)
		newkey=rsa:2048 ;;
	esac
	san=
	for n in $names; do
		san="$san,DNS:$n.example.com"
	done
	san="${san#,},DNS:$other"
	d=$tmp/tls
	mkdir -p "$d"
	# shellcheck disable=SC2086
	timeout 60 openssl req -x509 -newkey $newkey -nodes -days 7 \
	    -subj "/CN=${names%% *}.example.com" \
	    -addext "subjectAltName=$san" \
	    -keyout "$d/$1.key" -out "$d/$1.crt" >>"$tmp/openssl.log" 2>&1 &&
	    chmod 600 "$d/$1.key" &&
	    cat "$d/$1.key" "$d/$1.crt" >"$d/$1.pem"
}

# --- running them --------------------------------------------------------

# Starts system $1 with the command $2 and waits until the client $3
# finds that it routes every name right.
launch() {
	eval "exec $2" >"$tmp/$1.log" 2>&1 &
	sys_pid=$!
	if ! "$3" "$1" -m probe -T 10 >"$tmp/probe.out" 2>"$tmp/probe.log"
	then
		say "$1 does not route right:"
		sed 's/^/    /' "$tmp/probe.log" "$tmp/$1.log" | tail -20 >&2
		stop_tree "$sys_pid"
		sys_pid=
		return 1
	fi
}

start_system() {
	sys_pid=
	[ "$1" = direct ] && return 0
	launch "$1" "$(conf_"$1")" lg || return 1
	record "$1" misroutes "$(field misroutes "$(tail -1 "$tmp/probe.out")")"
}

# Starts system $1 terminating TLS with the key type $2, and notes the
# TLS version and cipher it agreed on.
start_tls() {
	sys_pid=
	launch "$1" "$(tconf_"$1" "$2")" tlg || return 1
	p=$(tail -1 "$tmp/probe.out")
	record "$1" "$2_misroutes" "$(field misroutes "$p")"
	printf '%s %s %s\n' "$1" "$(field version "$p")" \
	    "$(field cipher "$p")" >>"$tmp/tlsversions"
}

stop_system() {
	[ -n "$sys_pid" ] && stop_tree "$sys_pid"
	sys_pid=
}

sys_pids() {
	[ -n "$sys_pid" ] && tree "$sys_pid"
}

# Runs the load generator $1 with $3... for system $2 and prints its
# line, with the proxy's CPU ticks over the run appended.
measure() {
	client=$1
	sys=$2
	shift 2
	pids=$(sys_pids)
	# shellcheck disable=SC2086
	c0=$(cpu_ticks $pids)
	line=$("$client" "$sys" "$@" 2>>"$tmp/loadgen.log" | tail -1)
	# shellcheck disable=SC2086
	c1=$(cpu_ticks $pids)
	printf '%s ticks=%d\n' "$line" $((c1 - c0))
}

bench_rate() {
	r=$(measure lg "$1" -m rate -c "$conc" -w "$warm" -d "$rate_secs")
	record "$1" rate "$(field rate "$r")"
	record "$1" p50 "$(field p50_ms "$r")"
	record "$1" p99 "$(field p99_ms "$r")"
	record "$1" errors "$(field errors "$r")"
	record "$1" misroutes "$(field misroutes "$r")"
	handled=$(field handled "$r")
	ticks=$(field ticks "$r")
	if [ "$1" != direct ] && [ "${handled:-0}" -gt 0 ]; then
		record "$1" cpu_us "$(awk -v t="$ticks" -v n="$handled" \
		    -v hz="$hz" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
	fi
}

bench_stream() {
	r=$(measure lg "$1" -m stream -n "$2" -w "$warm" -d "$stream_secs")
	record "$1" "s$2_gbps" "$(field gbps "$r")"
	record "$1" errors "$(field errors "$r")"
	record "$1" misroutes "$(field misroutes "$r")"
	bytes=$(field total_bytes "$r")
	ticks=$(field ticks "$r")
	if [ "$1" != direct ] && [ "${ticks:-0}" -gt 0 ]; then
		record "$1" "s$2_gbcpu" "$(awk -v t="$ticks" -v b="$bytes" \
		    -v hz="$hz" 'BEGIN { printf "%.3f", b / (t / hz) / 1e9 }')"
	fi
}

# Part 4, system $1 with the key type $2: handshakes per second and the
# proxy's CPU time per handshake, failed ones included.
bench_tls() {
	r=$(measure tlg "$1" -m rate -c "$conc" -j "$tls_jobs" -w "$warm" \
	    -d "$tls_secs")
	record "$1" "$2_procs" "$(sys_pids | grep -c .)"
	record "$1" "$2_rate" "$(field rate "$r")"
	record "$1" "$2_p50" "$(field p50_ms "$r")"
	record "$1" "$2_p99" "$(field p99_ms "$r")"
	record "$1" "$2_errors" "$(field errors "$r")"
	record "$1" "$2_misroutes" "$(field misroutes "$r")"
	handled=$(field handled "$r")
	ticks=$(field ticks "$r")
	if [ "${handled:-0}" -gt 0 ]; then
		record "$1" "$2_cpu_us" "$(awk -v t="$ticks" -v n="$handled" \
		    -v hz="$hz" 'BEGIN { printf "%.2f", t * 1e6 / hz / n }')"
		record "$1" "$2_client_us" "$(awk -v n="$handled" \
		    -v c="$(field cpu_s "$r")" \
		    'BEGIN { printf "%.2f", c * 1e6 / n }')"
	fi
}

# Part 4b, system $1 terminating TLS: one stream, backend to client.
bench_tls_stream() {
	r=$(measure tlg "$1" -m stream -n 1 -w "$warm" -d "$tstream_secs")
	record "$1" ts_gbps "$(field gbps "$r")"
	record "$1" ts_errors "$(field errors "$r")"
	record "$1" ts_misroutes "$(field misroutes "$r")"
	bytes=$(field total_bytes "$r")
	ticks=$(field ticks "$r")
	if [ "${ticks:-0}" -gt 0 ]; then
		record "$1" ts_gbcpu "$(awk -v t="$ticks" -v b="$bytes" \
		    -v hz="$hz" 'BEGIN { printf "%.3f", b / (t / hz) / 1e9 }')"
	fi
}

bench_idle() {
	k=$idle_k
	# select(2) cannot watch a descriptor at FD_SETSIZE (1024) or above.
	case $1:$sslh in
	sslh:*select)
		[ "$k" -gt 450 ] && k=450 ;;
	esac
	pids=$(sys_pids)
	sleep 1
	# shellcheck disable=SC2086
	m0=$(rss_kb $pids)
	s0=$(slab_kb)
	o0=$(overflows)
	# Emptied first: the job's own redirection may come after the first
	# look for "ready", which must not find the last system's.
	: >"$tmp/idle.out"
	# Not through lg: $! has to be the load generator itself.
	# shellcheck disable=SC2046
	"$loadgen" -H "$hello" -p "$pport" $(routes "$1") -m idle -k "$k" \
	    -d 120 >>"$tmp/idle.out" 2>>"$tmp/loadgen.log" &
	lpid=$!
	n=300
	while ! grep -q '^ready' "$tmp/idle.out" && alive "$lpid" &&
	    [ "$n" -gt 0 ]; do
		tick
		n=$((n - 1))
	done
	sleep 1
	pids=$(sys_pids)
	# shellcheck disable=SC2086
	m1=$(rss_kb $pids)
	s1=$(slab_kb)
	kill -TERM "$lpid" 2>/dev/null
	wait_gone 50 "$lpid" || kill -KILL "$lpid" 2>/dev/null
	wait "$lpid" 2>/dev/null
	r=$(tail -1 "$tmp/idle.out")
	est=$(field established "$r")
	if [ "${est:-0}" -lt "$k" ]; then
		say "$1: $est of $k idle connections held when measured;" \
		    "listen queue overflows meanwhile:" \
		    "$(($(overflows) - ${o0:-0}))"
	fi
	record "$1" errors "$(field errors "$r")"
	record "$1" misroutes "$(field misroutes "$r")"
	record "$1" idle_k "${est:-0}"
	[ "${est:-0}" -gt 0 ] || return 0
	record "$1" slab_conn "$(awk -v a="$s0" -v b="$s1" -v k="$est" \
	    'BEGIN { printf "%.2f", (b - a) / k }')"
	[ "$1" = direct ] && return 0
	record "$1" procs "$(printf '%s\n' "$pids" | grep -c .)"
	record "$1" rss_idle "$m0"
	record "$1" rss_conn "$(awk -v a="$m0" -v b="$m1" -v k="$est" \
	    'BEGIN { printf "%.2f", (b - a) / k }')"
}

# sniproxyd for the hold: prefork $1, listening on the addresses $2.
conf_hold() {
	d=$tmp/hold
	mkdir -p "$d"
	{
		sniproxyd_head "$1" $((hold + 1000))
		for a in $2; do
			sniproxyd_listen "$a"
		done
	} >"$d/sniproxyd.conf"
	echo "$daemon" -d -f "$d/sniproxyd.conf"
}

# sniproxyd holds $hold idle connections: a client process holds at
# most 12500 (or what its file limit allows), one address at most
# 25000 (the ephemeral ports of one client address are about 28000),
# and a worker holds two descriptors for each of its connections, those
# of a rule (four rules an address) shared among the rule's workers.
bench_hold() {
	per=12500
	[ "$per" -gt $((nofile - 100)) ] && per=$((nofile - 100))
	jobs=$(((hold + per - 1) / per))
	naddr=$(((hold + 24999) / 25000))
	pf=$(((hold + 2 * naddr * (nofile - 300) - 1) /
	    (2 * naddr * (nofile - 300))))
	[ "$pf" -gt 32 ] && pf=32
	addrs=
	i=1
	while [ "$i" -le "$naddr" ]; do
		addrs="$addrs 127.0.0.$i"
		i=$((i + 1))
	done
	say "hold: sniproxyd, $hold connections, prefork $pf," \
	    "$jobs client processes"
	launch sniproxyd "$(conf_hold "$pf" "$addrs")" lg || return 0
	sleep 1
	# shellcheck disable=SC2046
	m0=$(rss_kb $(sys_pids))
	set --
	j=1
	while [ "$j" -le "$jobs" ]; do
		k=$((hold / jobs))
		[ "$j" = "$jobs" ] && k=$((hold - (jobs - 1) * (hold / jobs)))
		a=127.0.0.$(((j - 1) % naddr + 1))
		: >"$tmp/hold.$j"
		# shellcheck disable=SC2046
		"$loadgen" -a "$a" -H "$hello" -p "$pport" \
		    $(routes sniproxyd) -m idle -k "$k" -d 300 \
		    >>"$tmp/hold.$j" 2>>"$tmp/loadgen.log" &
		set -- "$@" "$!"
		j=$((j + 1))
	done
	n=1500
	while [ "$n" -gt 0 ] &&
	    [ "$(cat "$tmp"/hold.* | grep -c '^ready')" -lt "$jobs" ]; do
		for p in "$@"; do
			alive "$p" || n=0
		done
		tick
		n=$((n - 1))
	done
	sleep 1
	pids=$(sys_pids)
	hold_procs=$(printf '%s\n' "$pids" | grep -c .)
	# shellcheck disable=SC2086
	m1=$(rss_kb $pids)
	sleep "$hold_secs"
	# shellcheck disable=SC2046
	m2=$(rss_kb $(sys_pids))
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		wait_gone 50 "$p" || kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	stop_system
	hold_held=0
	hold_errors=0
	j=1
	while [ "$j" -le "$jobs" ]; do
		r=$(tail -1 "$tmp/hold.$j")
		hold_held=$((hold_held + $(field established "$r")))
		hold_errors=$((hold_errors + $(field errors "$r") + \
		    $(field misroutes "$r")))
		j=$((j + 1))
	done
	hold_jobs=$jobs
	hold_naddr=$naddr
	hold_prefork=$pf
	hold_rss_conn=$(awk -v a="$m0" -v b="$m1" -v k="$hold_held" \
	    'BEGIN { if (k > 0) printf "%.2f", (b - a) / k }')
	hold_growth=$((m2 - m1))
}

# The hold, as a section of the report.
hold_report() {
	[ -n "${hold_held:-}" ] || return 0
	echo
	echo "### 5. sniproxyd alone: $hold idle connections held"
	echo
	echo "With a file limit of $nofile descriptors a process, the" \
	    "clients are $hold_jobs processes connecting to $hold_naddr" \
	    "listening addresses of sniproxyd, four rules each, and each" \
	    "rule's connections are shared among its $hold_prefork" \
	    "worker(s), two descriptors a connection. The RSS change is" \
	    "that of all sniproxyd processes while the connections stay" \
	    "open."
	echo
	echo "| conns held | procs | prefork | client processes" \
	    "| RSS KiB/conn | RSS change over $hold_secs s, KiB" \
	    "| errors and misroutes |"
	echo "|--:|--:|--:|--:|--:|--:|--:|"
	echo "| $hold_held | $hold_procs | $hold_prefork | $hold_jobs" \
	    "| $hold_rss_conn | $hold_growth | $hold_errors |"
}

# --- part 6: system calls per connection ------------------------------

# The backends, answering with $1 bytes (0: the name line alone).
start_backends() {
	for pid in $backend_pids; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in $backend_pids; do
		wait_gone 10 "$pid" || kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	backend_pids=
	i=1
	for n in $names default; do
		if [ "$1" -gt 0 ]; then
			"$backend" -n "$n" -p $((port0 + i)) -s "$1" \
			    2>>"$tmp/backend.log" &
		else
			"$backend" -n "$n" -p $((port0 + i)) \
			    2>>"$tmp/backend.log" &
		fi
		backend_pids="$backend_pids $!"
		i=$((i + 1))
	done
	lg direct -m probe -T 10 >/dev/null 2>"$tmp/probe.log"
}

# --- part 7: QUIC --------------------------------------------------------

qport=$((port0 + 5))

conf_quic() {
	d=$tmp/quicd
	mkdir -p "$d"
	{
		sniproxyd_head 1 $((q_flows + 100))
		echo "table <quic> { 127.0.0.1 port $qport }"
		echo "listen on 127.0.0.1 port $pport udp {"
		printf '\ttimeout idle 1m\n\tdefault forward to <quic>\n}\n'
	} >"$d/sniproxyd.conf"
	echo "$daemon" -d -f "$d/sniproxyd.conf"
}

# The QUIC load generator for system $1.
qg() {
	if [ "$1" = direct ]; then
		p=$qport
	else
		p=$pport
	fi
	shift
	"$quicgen" -I "$initial" -p "$p" "$@"
}

# Part 7, system $1, $2 flows of $3 datagrams in flight each: echoed
# datagrams per second, and the proxy's CPU per MB it relayed, both
# ways.
bench_quic() {
	r=$(measure qg "$1" -f "$2" -W "$3" -w 0 -d "$q_secs")
	bytes=$(field bytes "$r")
	ticks=$(field ticks "$r")
	printf '%s %s %s %s %s %s\n' "$1" "$2" "$(field rate "$r")" \
	    "$(field lost "$r")" "${bytes:-0}" "${ticks:-0}" >>"$tmp/quic.dat"
}

run_quic() {
	"$quicgen" -s -p "$qport" 2>>"$tmp/quicgen.log" &
	qserver=$!
	for s in $systems; do
		case $s in
		direct|sniproxyd) ;;
		*) continue ;;
		esac
		say "QUIC: $s"
		sys_pid=
		if [ "$s" = sniproxyd ]; then
			eval "exec $(conf_quic)" >"$tmp/quic.log" 2>&1 &
			sys_pid=$!
		fi
		# A refused Initial fails at once: the daemon may still be
		# starting its processes.
		n=100
		until qg "$s" -w 0 -d 1 >/dev/null 2>>"$tmp/quicgen.log"; do
			n=$((n - 1))
			tick
			if [ "$n" -eq 0 ]; then
				say "$s does not relay QUIC:"
				tail -n 5 "$tmp/quicgen.log" "$tmp/quic.log" >&2
				stop_system
				continue 2
			fi
		done
		bench_quic "$s" 1 32
		bench_quic "$s" "$q_flows" 4
		stop_system
	done
	kill -TERM "$qserver" 2>/dev/null
	wait "$qserver" 2>/dev/null
}

quic_report() {
	[ -s "$tmp/quic.dat" ] || return 0
	echo "## QUIC datagram relay, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	machine
	printf -- '- one run; each flow opens with the RFC 9001 client '
	printf 'Initial, then keeps 1200-byte datagrams in flight that '
	printf 'the server sends back (one flow: 32 in flight; %d flows: ' \
	    "$q_flows"
	printf '4 each), %s s measured; sniproxyd: ' "$q_secs"
	printf 'prefork 1, one rule, so one worker; CPU per MB counts '
	printf 'the bytes relayed both ways, lost datagrams left out\n'
	echo
	echo "| flows | system | datagrams/s echoed | vs direct |" \
	    "lost | proxy CPU ms/MB |"
	echo "|---|---|---|---|---|---|"
	awk -v hz="$hz" '
	{
		key = $2
		if ($1 == "direct")
			direct[key] = $3
		sys[NR] = $1; fl[NR] = $2; rate[NR] = $3; lost[NR] = $4
		bytes[NR] = $5; ticks[NR] = $6
	}
	END {
		for (i = 1; i <= NR; i++) {
			vs = "-"
			if (sys[i] != "direct" && direct[fl[i]] > 0)
				vs = sprintf("%.2f", rate[i] / direct[fl[i]])
			cpu = "-"
			if (sys[i] != "direct" && bytes[i] > 0)
				cpu = sprintf("%.2f",
				    ticks[i] * 1e9 / hz / bytes[i] / 2)
			printf "| %d | %s | %d | %s | %d | %s |\n", fl[i],
			    sys[i], rate[i], vs, lost[i], cpu
		}
	}' "$tmp/quic.dat"
}

traced() {
	awk '/^TracerPid:/ { exit $2 == 0 }' "/proc/$1/status" 2>/dev/null
}

# Traces every process and thread of system $1, and any it starts
# meanwhile, each to a file of its own, over $sc_conns connections, and
# adds to $tmp/syscalls one line for each process kind, call and error:
# system, kind, call, errno or "-", count (tab-separated), and a line
# "system, #conns, connections made".  strace attaches once the system
# routes right, so its start-up is not counted.
bench_syscalls() {
	scs=$1
	start_system "$scs" || return 0
	d=$tmp/strace.$scs
	mkdir -p "$d"
	pids=$(sys_pids)
	set --
	for p in $pids; do
		set -- "$@" -p "$p"
	done
	strace -qq -f -ff -o "$d/t" "$@" 2>>"$tmp/strace.log" &
	spid=$!
	n=50
	for p in $pids; do
		while [ "$n" -gt 0 ] && alive "$spid" && ! traced "$p"; do
			tick
			n=$((n - 1))
		done
	done
	if [ "$n" -eq 0 ] || ! alive "$spid"; then
		say "$scs: strace could not attach: $(tail -3 "$tmp/strace.log")"
		kill -TERM "$spid" 2>/dev/null
		wait "$spid" 2>/dev/null
		stop_system
		return 0
	fi
	r=$(lg "$scs" -m rate -c "$sc_conc" -N "$sc_conns" -w 0 \
	    -d "$sc_secs" 2>>"$tmp/loadgen.log" | tail -1)
	# Named while they still run: a title may be all that tells them.
	for f in "$d"/t.*; do
		p=${f##*.}
		printf '%s\t%s\n' "$p" \
		    "$(cat "/proc/$p/comm" 2>/dev/null || echo gone)"
	done >"$d/kinds"
	kill -TERM "$spid" 2>/dev/null
	wait_gone 50 "$spid" || kill -KILL "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	stop_system
	errs=$(($(field errors "$r") + $(field misroutes "$r")))
	[ "$errs" -gt 0 ] && say "$scs: $errs failed connections under strace"
	printf '%s\t#conns\t%s\n' "$scs" "$(field handled "$r")" \
	    >>"$tmp/syscalls"
	awk -v sys="$scs" -v kinds="$d/kinds" '
	BEGIN {
		FS = "\t"
		while ((getline l < kinds) > 0) {
			split(l, a, "\t")
			kind[a[1]] = a[2]
		}
		FS = " "
	}
	FNR == 1 {
		n = split(FILENAME, a, ".")
		k = kind[a[n]]
	}
	# Signals, exits, and the second half of a call split in two.
	/^(\+\+\+|---|<\.\.\.)/ {
		next
	}
	match($0, /^[a-z0-9_]+\(/) {
		call = substr($0, 1, RLENGTH - 1)
		e = "-"
		if (match($0, / = -1 [A-Z0-9]+/))
			e = substr($0, RSTART + 6, RLENGTH - 6)
		c[k "\t" call "\t" e]++
	}
	END {
		for (x in c)
			printf "%s\t%s\t%d\n", sys, x, c[x]
	}' "$d"/t.* >>"$tmp/syscalls"
	rm -rf "$d"
}

# Part 6 as a section of the report.
syscalls_report() {
	[ -s "$tmp/syscalls" ] || return 0
	echo "## System calls per connection," \
	    "$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo
	machine
	printf -- '- %d connections, %d at once, each the hello of ' \
	    "$sc_conns" "$sc_conc"
	printf 'part 1 (%s, %d B as captured, with the route'"'"'s name) ' \
	    "${hello#"$top"/}" "$(wc -c <"$hello")"
	printf 'and a %d B answer, ' "$sc_size"
	printf 'passed through by SNI\n'
	printf -- '- strace -f -ff attached to every process of the proxy '
	printf 'once it routes right, so start-up is not counted; strace '
	printf 'slows every call, so these are counts, not times\n'
	printf -- '- a process kind is its name in /proc/PID/comm; every '
	printf 'figure is divided by all the connections of the run, so the '
	printf 'kinds add up to the total (a route worker sees a quarter of '
	printf 'them); "x haproxy" divides by haproxy'"'"'s total; a call '
	printf 'that failed is counted with its error in brackets\n'
	echo
	awk -F '\t' -v order="$sc_systems" '
	function add(s, k, c, e, n) {
		if (!((s, k, c) in per)) {
			calls[s, k, ++nc[s, k]] = c
			per[s, k, c] = 0
		}
		per[s, k, c] += n
		tot[s, k] += n
		if (e == "-")
			return
		if (!((s, k, c, e) in errn))
			errl[s, k, c] = errl[s, k, c] " " e
		errn[s, k, c, e] += n
	}
	$2 == "#conns" {
		conns[$1] = $3
		next
	}
	{
		if (!(($1, $2) in tot))
			kinds[$1, ++nk[$1]] = $2
		add($1, $2, $3, $4, $5)
		add($1, "all", $3, $4, $5)
	}
	function f(x, s) {
		return sprintf("%.2f", x / conns[s])
	}
	function errs(s, k, c,    n, a, i, out) {
		n = split(errl[s, k, c], a, " ")
		for (i = 1; i <= n; i++)
			out = out (i > 1 ? ", " : "") a[i] " " \
			    f(errn[s, k, c, a[i]], s)
		return n == 0 ? "" : " (" out ")"
	}
	# The 8 most frequent calls of kind k of system s.
	function top(s, k,    i, j, n, t, v, out) {
		n = nc[s, k]
		for (i = 1; i <= n; i++)
			v[i] = calls[s, k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && \
			    per[s, k, v[j - 1]] < per[s, k, v[j]]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		for (i = 1; i <= n && i <= 8; i++)
			out = out (i > 1 ? ", " : "") v[i] " " \
			    f(per[s, k, v[i]], s) errs(s, k, v[i])
		return out
	}
	function row(s, k,    ref) {
		ref = "-"
		if (conns["haproxy"] > 0 && tot["haproxy", "all"] > 0)
			ref = sprintf("%.2f", tot[s, k] / conns[s] / \
			    (tot["haproxy", "all"] / conns["haproxy"]))
		printf "| %s | %s | %s | %s | %s |\n", s, k,
		    f(tot[s, k], s), ref, top(s, k)
	}
	END {
		print "| system | process | calls/conn | x haproxy " \
		    "| most frequent calls per connection |"
		print "|---|---|--:|--:|---|"
		ns = split(order, sy, " ")
		for (h = 1; h <= ns; h++) {
			s = sy[h]
			if (conns[s] + 0 == 0)
				continue
			# The kinds by their count, largest first.
			n = nk[s]
			for (i = 1; i <= n; i++)
				v[i] = kinds[s, i]
			for (i = 2; i <= n; i++)
				for (j = i; j > 1 && \
				    tot[s, v[j - 1]] < tot[s, v[j]]; j--) {
					t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
				}
			if (n > 1)
				for (i = 1; i <= n; i++)
					row(s, v[i])
			row(s, "all")
		}
	}' "$tmp/syscalls"
}

# --- the report --------------------------------------------------------

# Parts 1 to 3 with $1 "pass", parts 4 and 4b with "tls".
report() {
	awk -v part="$1" -v systems="$systems" -v psystems="$psystems" \
	    -v tsystems="$tsystems" -v keytypes="$keytypes" \
	    -v rounds="$rounds" -v k="$idle_k" '
	function median(key,    n, i, j, t, v) {
		n = cnt[key]
		if (n == 0)
			return ""
		for (i = 1; i <= n; i++)
			v[i] = val[key, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
				t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
			}
		if (n % 2)
			return v[(n + 1) / 2]
		return (v[n / 2] + v[n / 2 + 1]) / 2
	}
	function fmt(x, f) {
		return x == "" ? "-" : sprintf(f, x)
	}
	function ratio(x, ref) {
		if (x == "" || ref == "" || ref == 0)
			return "-"
		return sprintf("%.2f", x / ref)
	}
	# A figure, then its ratio to haproxy and, when d, to d ("direct"
	# or "nginx").
	function cell(s, m, f, d,    x, out) {
		x = med[s, m]
		out = " " fmt(x, f) " | " ratio(x, med["haproxy", m])
		if (d)
			out = out " | " ratio(x, med[d, m])
		return out " |"
	}
	{
		key = $2 SUBSEP $3
		if ($4 == "")
			next
		# Summed, and summed over the parts reported for the notes:
		# those of part 4 and 4b have a prefix.
		p = $3 ~ /_/ ? "tls" : "pass"
		if ($3 ~ /(^|_)errors$/) {
			sum[key] += $4
			sum[$2, p "_errors"] += $4
			next
		}
		if ($3 ~ /(^|_)misroutes$/) {
			sum[key] += $4
			sum[$2, p "_misroutes"] += $4
			next
		}
		val[key, ++cnt[key]] = $4 + 0
	}
	END {
		ns = split(psystems, sy, " ")
		split("procs rate p50 p99 cpu_us s1_gbps s1_gbcpu s4_gbps " \
		    "s4_gbcpu idle_k rss_idle rss_conn slab_conn", ms, " ")
		for (i = 1; i <= ns; i++)
			for (j in ms)
				med[sy[i], ms[j]] = median(sy[i] SUBSEP ms[j])
		nt = split(tsystems, ty, " ")
		nk = split(keytypes, kt, " ")
		split("procs rate p50 p99 cpu_us client_us", ms, " ")
		for (i = 1; i <= nt; i++) {
			for (h = 1; h <= nk; h++)
				for (j in ms) {
					m = kt[h] "_" ms[j]
					med[ty[i], m] = median(ty[i] SUBSEP m)
				}
			med[ty[i], "ts_gbps"] = median(ty[i] SUBSEP "ts_gbps")
			med[ty[i], "ts_gbcpu"] = \
			    median(ty[i] SUBSEP "ts_gbcpu")
		}
		keyname["ec"] = "ECDSA P-256"
		keyname["rsa"] = "RSA-2048"
		if (part == "pass" && ns == 0)
			print "Parts 1 to 3: none of the systems chosen."
		else if (part == "pass")
			passthrough()
		else if (nt == 0)
			print "Not measured: none of sniproxyd, haproxy, " \
			    "nginx and hitch among the systems chosen."
		else
			termination()
		ns = split(systems, sy, " ")
		for (i = 1; i <= ns; i++) {
			s = sy[i]
			e = sum[s, part "_errors"]
			r = sum[s, part "_misroutes"]
			if (e + r == 0)
				continue
			if (!noted++)
				print ""
			printf "- %s: %d failed connections and %d misroutes " \
			    "over all parts and rounds; they are not data " \
			    "points\n", s, e, r
		}
	}
	# A row of part 4: system s with the key type k.
	function termrow(s, k,    m) {
		m = k "_"
		printf "| %s | %s | %s |%s%s%s%s %s | %d | %d |\n", s,
		    keyname[k], fmt(med[s, m "procs"], "%d"),
		    cell(s, m "rate", "%.0f", "nginx"),
		    cell(s, m "p50", "%.2f", "nginx"),
		    cell(s, m "p99", "%.2f", "nginx"),
		    cell(s, m "cpu_us", "%.1f", "nginx"),
		    fmt(med[s, m "client_us"], "%.1f"),
		    sum[s, m "errors"], sum[s, m "misroutes"]
	}
	# Parts 4 and 4b, the rows of each key type together.
	function termination(    h, i, s) {
		print "### 4. TLS termination (full handshake, request, " \
		    "answer, close)"
		print ""
		print "| system | key | procs | handshakes/s | x haproxy " \
		    "| x nginx | p50 ms | x haproxy | x nginx " \
		    "| p99 ms | x haproxy | x nginx " \
		    "| proxy CPU us/handshake | x haproxy | x nginx " \
		    "| client CPU us/handshake | errors | misroutes |"
		print "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:" \
		    "|--:|--:|--:|--:|--:|--:|"
		for (h = 1; h <= nk; h++)
			for (i = 1; i <= nt; i++)
				termrow(ty[i], kt[h])
		print ""
		print "### 4b. TLS termination, one stream (backend to " \
		    "client)"
		print ""
		print "| system | Gbit/s | x haproxy | x nginx " \
		    "| GB per proxy CPU-s | x haproxy | x nginx " \
		    "| errors | misroutes |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= nt; i++) {
			s = ty[i]
			printf "| %s |%s%s %d | %d |\n", s,
			    cell(s, "ts_gbps", "%.2f", "nginx"),
			    cell(s, "ts_gbcpu", "%.2f", "nginx"),
			    sum[s, "ts_errors"], sum[s, "ts_misroutes"]
		}
	}
	# Parts 1 to 3.
	function passthrough(    i, s, mib) {
		print "### 1. Connection rate (hello, answer, close)"
		print ""
		print "| system | procs | conn/s | x haproxy | x direct " \
		    "| p50 ms | x haproxy | x direct " \
		    "| p99 ms | x haproxy | x direct " \
		    "| proxy CPU us/conn | x haproxy | errors | misroutes |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:" \
		    "|--:|--:|"
		for (i = 1; i <= ns; i++) {
			s = sy[i]
			printf "| %s | %s |%s%s%s%s %d | %d |\n", s,
			    fmt(med[s, "procs"], "%d"),
			    cell(s, "rate", "%.0f", "direct"),
			    cell(s, "p50", "%.2f", "direct"),
			    cell(s, "p99", "%.2f", "direct"),
			    cell(s, "cpu_us", "%.1f", 0),
			    sum[s, "errors"], sum[s, "misroutes"]
		}
		print ""
		print "### 2. Throughput (backend to client, long streams)"
		print ""
		print "| system | 1 stream Gbit/s | x haproxy | x direct " \
		    "| GB per proxy CPU-s | x haproxy " \
		    "| 4 streams Gbit/s | x haproxy | x direct " \
		    "| GB per proxy CPU-s | x haproxy |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= ns; i++) {
			s = sy[i]
			printf "| %s |%s%s%s%s\n", s,
			    cell(s, "s1_gbps", "%.2f", "direct"),
			    cell(s, "s1_gbcpu", "%.2f", 0),
			    cell(s, "s4_gbps", "%.2f", "direct"),
			    cell(s, "s4_gbcpu", "%.2f", 0)
		}
		print ""
		print "### 3. Idle established connections"
		print ""
		print "| system | conns held | RSS before MiB " \
		    "| RSS KiB/conn | x haproxy " \
		    "| kernel slab KiB/conn (whole host) | x haproxy " \
		    "| x direct |"
		print "|---|--:|--:|--:|--:|--:|--:|--:|"
		for (i = 1; i <= ns; i++) {
			s = sy[i]
			mib = med[s, "rss_idle"] == "" ? "" : \
			    med[s, "rss_idle"] / 1024
			printf "| %s | %s | %s |%s%s\n", s,
			    fmt(med[s, "idle_k"], "%d"), fmt(mib, "%.1f"),
			    cell(s, "rss_conn", "%.2f", 0),
			    cell(s, "slab_conn", "%.2f", "direct")
		}
	}' "$tmp/results"
}

machine() {
	cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	mem=$(awk '/^MemTotal:/ { printf "%.1f GiB", $2 / 1048576 }' \
	    /proc/meminfo)
	printf -- '- machine: %s, %s cores, %s memory, %s %s\n' "$cpu" \
	    "$ncpu" "$mem" "$(uname -s)" "$(uname -r)"
	for s in $systems; do
		case $s in
		haproxy)
			v=$(haproxy -v 2>&1 | awk 'NR == 1 { print $3 }') ;;
		nginx)
			v=$(nginx -v 2>&1 | sed 's/.*nginx\///') ;;
		sslh)
			v="$(basename "$sslh") $("$sslh" -V 2>&1 |
			    awk '{ print $2; exit }')" ;;
		sniproxy)
			v=$(sniproxy -V 2>&1 | awk '{ print $2; exit }') ;;
		hitch)
			v=$(hitch -V 2>&1 | awk '{ print $2; exit }') ;;
		sniproxyd)
			v=$version ;;
		*)
			continue ;;
		esac
		printf '%s %s\n' "$s" "$v"
	done | awk '{ v = v (NR > 1 ? "; " : "") $0 }
	    END { print "- versions: " v }'
}

params() {
	printf -- '- %s mode, %d round(s), interleaved; medians over rounds\n' \
	    "$([ -n "$quick" ] && echo quick || echo full)" "$rounds"
	printf -- '- part 1: concurrency %d, %s s warm-up + %s s measured; ' \
	    "$conc" "$warm" "$rate_secs"
	printf 'part 2: %s s + %s s; part 3: %d connections asked' \
	    "$warm" "$stream_secs" "$idle_k"
	printf '; parts 1 and 2 from %d client address(es)' "$sources"
	[ -n "$naccept" ] && printf '; sniproxyd accept %d' "$naccept"
	case " $systems :$sslh" in
	*" sslh "*:*select)
		printf ' (sslh-select: 450, its select(2) limit)' ;;
	esac
	echo
	shared
}

# What parts 4 and 4b ran with.
tparams() {
	printf -- '- %s mode, %d round(s), interleaved; medians over rounds\n' \
	    "$([ -n "$quick" ] && echo quick || echo full)" "$rounds"
	if [ -n "$tsystems" ]; then
		printf -- '- part 4: concurrency %d, %d client processes, ' \
		    "$conc" "$tls_jobs"
		printf '%s s + %s s per key type; ' "$warm" "$tls_secs"
		printf 'the client offers TLS 1.3 with X25519 only, and no '
		printf 'session to resume; its own CPU per handshake, '
		printf 'next to the proxy'"'"'s, shows where the rate is '
		printf 'bound by the client\n'
		case " $tsystems " in
		*" sniproxyd1 "*)
			printf -- '- part 4, sniproxyd1: one rule, so one '
			printf 'worker, sends every name to the first backend, '
			printf 'as hitch does; sniproxyd has a rule and a '
			printf 'worker for each of the four routes\n' ;;
		esac
		v=$(negotiated)
		[ -n "$v" ] && printf -- '- part 4 agreed on: %s\n' "$v"
		printf -- '- part 4b: one stream, %s s + %s s, ' "$warm" \
		    "$tstream_secs"
		printf 'with the ECDSA key, to the first backend; '
		printf 'the client reads each record as it comes\n'
	fi
	shared
}

shared() {
	printf -- '- load generator, backends and proxy share the machine '
	printf '(load average %s before the run); ' "$load0"
	printf 'proxy CPU is utime+stime of all its processes\n'
	printf -- '- ratios: "x haproxy", "x nginx" and "x direct" divide '
	printf 'the figure by haproxy'"'"'s, nginx'"'"'s and direct'"'"'s; '
	printf 'lower is better for latency, CPU and memory\n'
}

# The TLS version and cipher each system agreed on, said once if all
# agree.
negotiated() {
	sort -u "$tmp/tlsversions" | awk '
	{
		line[NR] = $0
		if (!(($2 " " $3) in seen))
			n++
		seen[$2 " " $3] = 1
		one = $2 " " $3
	}
	END {
		if (n == 1) {
			print one ", every system"
			exit
		}
		for (i = 1; i <= NR; i++)
			out = out (i > 1 ? "; " : "") line[i]
		print out
	}'
}

# What the report file $out has before parts 4, 6 and 7 and the notes.
old_head() {
	[ -r "$out" ] &&
	    awk '/^## (TLS termination|System calls|QUIC|Notes)/ { exit } 1' \
	    "$out"
}

# The section of the report file that begins with the heading $1.
old_section() {
	[ -r "$out" ] && awk -v h="$1" '/^## / { on = index($0, h) == 1 } on' \
	    "$out"
}

# One blank line between paragraphs, none at either end.
squeeze() {
	awk 'NF == 0 { b++; next } { if (n++ && b) print ""; b = 0; print }'
}

# --- main ------------------------------------------------------------------

for f in "$loadgen" "$backend" "$quicgen" "$daemon"; do
	[ -x "$f" ] || die "$f: no such executable (build it first)"
done
[ -r "$hello" ] || die "$hello: missing"

# ulimit -n is not POSIX, but every sh that runs this has it.
# shellcheck disable=SC3045
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null
# shellcheck disable=SC3045
nofile=$(ulimit -n)
[ "$nofile" = unlimited ] && nofile=1048576
# A proxy holds two descriptors per connection.
maxk=$(((nofile - 200) / 2 / 100 * 100))
if [ "$idle_k" -gt "$maxk" ]; then
	say "file limit $nofile: part 3 holds $maxk connections, not $idle_k"
	idle_k=$maxk
fi

need=
for s in $systems; do
	case $s in
	haproxy|nginx|sniproxy|hitch)
		command -v "$s" >/dev/null 2>&1 || need="$need $s" ;;
	sslh)
		command -v sslh-ev >/dev/null 2>&1 ||
		    command -v sslh-select >/dev/null 2>&1 ||
		    need="$need sslh" ;;
	esac
done
case " $systems " in
*" nginx "*)
	[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	    nginx -V 2>&1 | grep -q -- '--with-stream[^=]' ||
	    need="$need libnginx-mod-stream" ;;
esac
if [ -n "$need" ]; then
	if [ "$(id -u)" = 0 ] && [ "${BENCH_INSTALL:-1}" != 0 ]; then
		say "installing$need"
		# shellcheck disable=SC2086
		timeout 300 apt-get install -y -q $need >/dev/null 2>&1 ||
		    { timeout 300 apt-get update -q >/dev/null 2>&1 &&
		    timeout 300 apt-get install -y -q $need \
		    >/dev/null 2>&1; } ||
		    say "could not install$need"
	else
		say "missing$need: those systems are left out"
	fi
fi
sslh=$(command -v sslh-ev || command -v sslh-select || echo sslh-select)
nginx_stream=
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] &&
    nginx_stream=/usr/lib/nginx/modules/ngx_stream_module.so

avail=
for s in $systems; do
	case $s in
	direct|sniproxyd) ;;
	sslh)
		[ -x "$sslh" ] || command -v "$sslh" >/dev/null 2>&1 ||
		    { say "sslh: not installed, left out"; continue; } ;;
	haproxy|nginx|sniproxy|hitch)
		command -v "$s" >/dev/null 2>&1 ||
		    { say "$s: not installed, left out"; continue; } ;;
	*)
		die "unknown system $s" ;;
	esac
	avail="$avail $s"
done
systems=${avail# }
# Those of parts 1 to 3 (hitch only terminates TLS), and of part 4.
psystems=
tsystems=
for s in $systems; do
	case $s in
	hitch) ;;
	*) psystems="$psystems $s" ;;
	esac
	case $s in
	sniproxyd) tsystems="$tsystems sniproxyd sniproxyd1" ;;
	haproxy|nginx|hitch) tsystems="$tsystems $s" ;;
	esac
done
psystems=${psystems# }
tsystems=${tsystems# }
[ "$syscalls" = only ] || [ "$tls" = 0 ] && tsystems=
[ -n "$tlsonly" ] && psystems=
sc_systems=
if [ "$syscalls" != 0 ]; then
	for s in $systems; do
		case $s in
		sniproxyd|haproxy) sc_systems="$sc_systems $s" ;;
		esac
	done
	if [ -n "$sc_systems" ] && ! command -v strace >/dev/null 2>&1; then
		say "strace: not installed, part 6 left out"
		sc_systems=
	fi
fi
sc_systems=${sc_systems# }
if [ -n "$tsystems" ] && ! command -v openssl >/dev/null 2>&1; then
	say "openssl: not installed, part 4 left out"
	tsystems=
fi

for p in $((port0 + 1)) $((port0 + 2)) $((port0 + 3)) $((port0 + 4)) \
    "$pport"; do
	port_busy "$p" && die "127.0.0.1:$p is in use (set BENCH_PORT)"
done
if [ "$quic" != 0 ] && command -v ss >/dev/null 2>&1; then
	for p in "$pport" $((port0 + 5)); do
		[ -z "$(ss -Huln "sport = :$p" 2>/dev/null)" ] ||
		    die "udp 127.0.0.1:$p is in use (set BENCH_PORT)"
	done
fi

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

tmp=$(mktemp -d) || die "cannot make a temporary directory"
: >"$tmp/results"
: >"$tmp/tlsversions"

# Every round runs the same binary, even if the tree is rebuilt meanwhile.
version=${BENCH_VERSION:-$(git -C "$top" describe --always --dirty \
    2>/dev/null || echo unknown)}
cp "$daemon" "$tmp/sniproxyd-under-test" || die "cannot copy $daemon"
daemon=$tmp/sniproxyd-under-test

start_backends 0 ||
    die "backends do not answer: $(cat "$tmp/probe.log" "$tmp/backend.log")"
if [ -n "$tsystems" ]; then
	for k in $keytypes; do
		keypair "$k" ||
		    die "cannot make the $k keypair: $(cat "$tmp/openssl.log")"
	done
fi

load0=$(cut -d' ' -f1-3 /proc/loadavg)
ncpu=$(getconf _NPROCESSORS_ONLN)
tls_jobs=${BENCH_TLS_JOBS:-$ncpu}
# The load generator's limit, and no process without a connection.
[ "$tls_jobs" -gt 64 ] && tls_jobs=64
[ "$tls_jobs" -gt "$conc" ] && tls_jobs=$conc
if awk -v l="${load0%% *}" -v n="$ncpu" 'BEGIN { exit !(l > n / 2) }'; then
	say "load average $load0 on $ncpu cores: other work on this" \
	    "machine will skew the figures"
fi
start=$(date +%s)
round=1
while [ "$round" -le "$rounds" ]; do
	for s in $psystems; do
		say "round $round/$rounds: $s"
		start_system "$s" || continue
		bench_rate "$s"
		bench_stream "$s" 1
		bench_stream "$s" 4
		bench_idle "$s"
		stop_system
	done
	for k in $keytypes; do
		for s in $tsystems; do
			say "round $round/$rounds: $s terminating TLS ($k)"
			start_tls "$s" "$k" || continue
			bench_tls "$s" "$k"
			[ "$k" = ec ] && bench_tls_stream "$s"
			stop_system
		done
	done
	round=$((round + 1))
done
case " $systems " in
*" sniproxyd "*)
	[ "$hold" -gt 0 ] && bench_hold ;;
esac
: >"$tmp/syscalls"
if [ -n "$sc_systems" ]; then
	start_backends "$sc_size" ||
	    die "backends do not answer: $(cat "$tmp/probe.log")"
	for s in $sc_systems; do
		say "system calls: $s"
		bench_syscalls "$s"
	done
fi
: >"$tmp/quic.dat"
[ "$quic" != 0 ] && run_quic
say "done in $(($(date +%s) - start)) s"

: >"$tmp/report.md"
if [ "$syscalls" != only ] && [ "$quic" != only ] && [ -z "$tlsonly" ]; then
	{
		echo "## SNI passthrough benchmark," \
		    "$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		machine
		params
		echo
		report pass
		hold_report
	} >"$tmp/report.md"
fi
: >"$tmp/tls.md"
if [ -n "$tsystems" ] && [ "$rounds" -gt 0 ]; then
	{
		echo "## TLS termination benchmark," \
		    "$(date -u '+%Y-%m-%d %H:%M UTC')"
		echo
		machine
		tparams
		echo
		report tls
	} >"$tmp/tls.md"
fi
syscalls_report >"$tmp/syscalls.md"
quic_report >"$tmp/quic.md"
{ cat "$tmp/report.md"; echo; cat "$tmp/tls.md"; echo
    cat "$tmp/syscalls.md"; echo; cat "$tmp/quic.md"; } | squeeze
if [ -n "$out" ]; then
	{
		if [ -s "$tmp/report.md" ]; then
			echo "# Benchmark results"
			echo
			if [ -n "$quick" ]; then
				echo "A quick run of regress/bench/run.sh."
			else
				echo "The latest full run of \`make bench\`" \
				    "(regress/bench/run.sh)."
			fi
			echo
			cat "$tmp/report.md"
		else
			old_head
		fi
		echo
		if [ -s "$tmp/tls.md" ]; then
			cat "$tmp/tls.md"
		else
			old_section "## TLS termination"
		fi
		echo
		if [ -s "$tmp/syscalls.md" ]; then
			cat "$tmp/syscalls.md"
		else
			old_section "## System calls"
		fi
		echo
		if [ -s "$tmp/quic.md" ]; then
			cat "$tmp/quic.md"
		else
			old_section "## QUIC"
		fi
		echo
		old_section "## Notes"
	} | squeeze >"$tmp/out.md"
	cp "$tmp/out.md" "$out" || die "cannot write $out"
	say "report written to $out"
fi
