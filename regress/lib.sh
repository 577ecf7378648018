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
# Functions for the integration tests, sourced by regress/run.sh and by
# every case, which run.sh starts in a shell of its own with:
#
#	T		the case's own directory, also the current directory
#	PKI		the CA and server certificate of the whole run
#	SNIPROXYD	the daemon, an absolute path
#	TLSPEER		regress/tlspeer, an absolute path
#	TOP		the top of the tree
#	VALGRIND	if set, the valgrind command line start_daemon runs
#			the daemon under (make check-valgrind)
#
# and, as positional parameters, the case's name ($0), T ($1), PKI ($2),
# this file ($3) and the case file ($4).
#
# A case names its backends, writes the daemon's configuration, starts
# it, plays a client and asserts what came back and what the log says.
# fail and skip end the case; whatever it started is stopped on the way
# out.  Every wait here is bounded, and only 127.0.0.1 and ::1 are used.

LIB_PIDS=
DAEMON_PID=
DAEMON_LOG=${T:-.}/sniproxyd.log
CONF=${T:-.}/etc/sniproxyd.conf
# The name every certificate of the run answers to, below example.com.
DOMAIN=example.com
# Process titles start with it.
PROGNAME=$(basename "${SNIPROXYD:-sniproxyd}")

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy

# Ends the case.  run.sh prints the reason next to "not ok".
fail() {
	printf '%s\n' "$*" >>"$T/reason"
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}

skip() {
	printf '%s\n' "$*" >"$T/reason"
	exit 77
}

# A case whose load is sized for the daemon at native speed says so.
skip_under_valgrind() {
	[ -z "${VALGRIND:-}" ] || skip "under valgrind: $*"
}

# A case that measures memory, or reads all of it, says so of a build
# with AddressSanitizer, whose allocator and shadow are of another size.
skip_if_sanitized() {
	! grep -aq __asan_init "$SNIPROXYD" 2>/dev/null ||
	    skip "sanitized build: $*"
}

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# A tenth of a second, or a whole one where sleep(1) takes no fraction.
tick() {
	sleep 0.1 2>/dev/null || sleep 1
}

now_ms() {
	_t=$(date +%s%3N)
	case $_t in
	*N)	echo $(($(date +%s) * 1000)) ;;
	*)	echo "$_t" ;;
	esac
}

# pid, parent pid and state of every process, one per line.
proc_table() {
	cat /proc/[0-9]*/stat 2>/dev/null |
	    awk '{ pid = $1; sub(/^.*\) /, ""); print pid, $2, $1 }'
}

# A process that has exited but is not reaped yet counts as gone.
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	case $(sed -e 's/^.*) //' "/proc/$1/stat" 2>/dev/null) in
	''|Z*|X*)	return 1 ;;
	esac
	return 0
}

# Waits at most $2 seconds for process $1 to be gone.
wait_gone() {
	_n=$(($2 * 10))
	while alive "$1"; do
		[ "$_n" -gt 0 ] || return 1
		tick
		_n=$((_n - 1))
	done
	return 0
}

# The processes below $1.
descendants() {
	proc_table | awk -v root="$1" -f "$TOP/regress/proctree.awk"
}

children() {
	proc_table | awk -v root="$1" '$2 == root && $3 != "Z" { print $1 }'
}

# What ps(1) shows for a process: sniproxyd sets it with setproctitle,
# which adds a space at the end when the title is exactly as long as the
# program's original first argument.
title() {
	tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | head -n 1 |
	    sed -e 's/ *$//'
}

# What a sniproxyd process is, from its title after the program's name:
# "priv", "accept" or "route TABLE".  Under valgrind the title is
# valgrind's own, and the kernel's name for the process tells instead.
role() {
	_t=$(title "$1")
	case $_t in
	"$PROGNAME: "*)	echo "${_t#"$PROGNAME: "}" ;;
	*)	[ -n "${VALGRIND:-}" ] && cat "/proc/$1/comm" 2>/dev/null ;;
	esac
}

# The processes below the parent process $1 whose role is $2.
procs_titled() {
	for _p in $(children "$1"); do
		[ "$(role "$_p")" = "$2" ] && echo "$_p"
	done
}

hexport() {
	printf '%04X' "$1"
}

# Sockets in /proc/net/tcp{,6}: "local" or "remote" port $2 in state $3
# (0A listening, 01 established, anything for any state).
sockets() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v side="$1" \
	    -v port="$(hexport "$2")" -v st="$3" '
	$1 ~ /^[0-9]+:$/ {
		split(side == "local" ? $2 : $3, a, ":")
		if (a[2] == port && (st == "any" || $4 == st))
			n++
	}
	END { print n + 0 }'
}

listening() {
	[ "$(sockets local "$1" 0A)" -gt 0 ]
}

# Connections established to port $1 (counted at their client end).
established_to() {
	sockets remote "$1" 01
}

# A port that no socket uses, below the ephemeral range, and not handed
# out before in this case.  Both families are checked.
free_port() {
	read -r _lo _hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null ||
	    { _lo=32768; _hi=60999; }
	if [ "$_lo" -gt 12000 ]; then
		_base=10000
		_span=$((_lo - 10000))
	else
		_base=$((_hi + 1))
		_span=$((65535 - _hi))
	fi
	_tries=200
	while [ "$_tries" -gt 0 ]; do
		_r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
		_p=$((_base + _r % _span))
		_tries=$((_tries - 1))
		grep -qx "$_p" "$T/ports" 2>/dev/null && continue
		[ "$(sockets local "$_p" any)" -eq 0 ] || continue
		echo "$_p" >>"$T/ports"
		echo "$_p"
		return 0
	done
	fail "no free port found"
}

# Waits at most $2 seconds (default 5) until something listens on $1.
wait_listen() {
	_n=$((${2:-5} * 10))
	until listening "$1"; do
		[ "$_n" -gt 0 ] || return 1
		tick
		_n=$((_n - 1))
	done
	return 0
}

# Makes the throwaway CA and one server certificate for every name the
# cases use (and ::1, 127.0.0.1) in $1.  run.sh calls it once per run.
pki_make() {
	_d=$1
	mkdir -p "$_d" || return 1
	_san="DNS:$DOMAIN, DNS:*.$DOMAIN, DNS:*.w.$DOMAIN, DNS:*.b.w.$DOMAIN"
	printf '%s\n' "basicConstraints = critical, CA:FALSE" \
	    "keyUsage = critical, digitalSignature" \
	    "extendedKeyUsage = serverAuth" \
	    "subjectAltName = $_san, IP:127.0.0.1, IP:::1" \
	    >"$_d/leaf.ext" || return 1
	{
		openssl req -x509 -new -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
		    -days 2 -subj "/CN=sniproxyd regress CA" \
		    -addext "basicConstraints = critical, CA:TRUE" \
		    -addext "keyUsage = critical, keyCertSign, cRLSign" \
		    -keyout "$_d/ca.key" -out "$_d/ca.pem" &&
		openssl req -new -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
		    -subj "/CN=$DOMAIN" -keyout "$_d/leaf.key" \
		    -out "$_d/leaf.csr" &&
		openssl x509 -req -sha256 -days 2 -set_serial 2 \
		    -in "$_d/leaf.csr" -CA "$_d/ca.pem" -CAkey "$_d/ca.key" \
		    -extfile "$_d/leaf.ext" -out "$_d/leaf.pem" &&
		chmod 600 "$_d/ca.key" "$_d/leaf.key"
	} >"$_d/log" 2>&1
}

# Remembers a background process for the cleanup.
track() {
	LIB_PIDS="$LIB_PIDS $1"
}

port() {
	cat "$T/b/$1/port" 2>/dev/null || fail "no backend named $1"
}

pid_of() {
	cat "$T/b/$1/pid" 2>/dev/null || fail "no backend named $1"
}

# backend NAME [ADDR]: an openssl s_server on a free port of ADDR
# (127.0.0.1 by default) that answers GET /whoami with "backend NAME".
# port NAME prints its port.
backend() {
	_b=$T/b/$1
	_a=${2:-127.0.0.1}
	mkdir -p "$_b" || fail "cannot make $_b"
	_body="backend $1"
	printf '%s\r\n' "HTTP/1.0 200 OK" "Content-Type: text/plain" \
	    "Content-Length: $((${#_body} + 1))" "Connection: close" "" \
	    >"$_b/whoami" || fail "cannot write $_b/whoami"
	printf '%s\n' "$_body" >>"$_b/whoami" || fail "cannot write $_b/whoami"
	backend_start "$1" "$_a" -HTTP
}

# backend_rev NAME [ADDR]: an openssl s_server that sends every line it
# receives back reversed, for as long as the connection lasts.
backend_rev() {
	mkdir -p "$T/b/$1" || fail "cannot make $T/b/$1"
	backend_start "$1" "${2:-127.0.0.1}" -rev
}

backend_start() {
	_b=$T/b/$1
	_p=$(free_port) || exit 1
	case $2 in
	*:*)	_acc="[$2]:$_p" ;;
	*)	_acc="$2:$_p" ;;
	esac
	shift 2
	(cd "$_b" && exec openssl s_server -quiet "$@" -accept "$_acc" \
	    -cert "$PKI/leaf.pem" -key "$PKI/leaf.key") \
	    </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	if ! wait_listen "$_p" 5; then
		sed 's/^/    /' "$_b/log" >&2
		fail "backend $(basename "$_b") does not listen on $_acc"
	fi
}

need_tlspeer() {
	[ -x "$TLSPEER" ] || fail "$TLSPEER is missing: build it with" \
	    "cc -std=c99 -D_GNU_SOURCE -o regress/tlspeer regress/tlspeer.c" \
	    "\$(pkg-config --cflags --libs libtls libbsd-overlay)"
}

# tlspeer_server NAME [tlspeer options]: one tlspeer server on a free
# port, serving one connection with the run's certificate.
tlspeer_server() {
	need_tlspeer
	_b=$T/b/$1
	mkdir -p "$_b" || fail "cannot make $_b"
	_p=$(free_port) || exit 1
	shift
	"$TLSPEER" server -p "$_p" -c "$PKI/leaf.pem" -k "$PKI/leaf.key" \
	    "$@" </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	wait_listen "$_p" 5 || fail "tlspeer server does not listen on $_p"
}

# wait_exit PID SECONDS: waits for a child of this shell, bounded, and
# returns its exit status (124 when it had to be killed).
wait_exit() {
	if ! wait_gone "$1" "$2"; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# conf: the configuration, read from standard input, after the options
# every case shares: as root an unprivileged user and an empty chroot,
# always a log line per connection, and unless the case sets its own, a
# short shutdown grace, a control socket of the case's and, under
# valgrind, one accept process.  The file
# lives alone in its directory, the one the parent process chroots to.
conf() {
	mkdir -p "$T/etc" || fail "cannot make $T/etc"
	cat >"$T/conf.body" || fail "cannot write the configuration"
	{
		if is_root; then
			echo "user \"$(unpriv_user)\""
			echo "chroot \"$(empty_dir)\""
		fi
		echo "log connections"
		grep -q '^timeout shutdown' "$T/conf.body" ||
		    echo "timeout shutdown 1s"
		grep -q '^control socket' "$T/conf.body" ||
		    echo "control socket \"$T/control.sock\""
		# Under valgrind every process costs seconds to start: one
		# accept process is enough where the case wants no other.
		[ -z "${VALGRIND:-}" ] || grep -q '^accept ' "$T/conf.body" ||
		    echo "accept 1"
		cat "$T/conf.body"
	} >"$CONF" || fail "cannot write $CONF"
	rm -f "$T/conf.body"
}

# The user the network-facing processes become: nobody, or a user made
# for the purpose where there is none.
unpriv_user() {
	if id nobody >/dev/null 2>&1; then
		echo nobody
		return
	fi
	if ! id _sniproxyd >/dev/null 2>&1; then
		useradd -r -M -d /nonexistent -s /usr/sbin/nologin \
		    _sniproxyd >/dev/null 2>&1 ||
		    fail "no user nobody and cannot create _sniproxyd"
	fi
	echo _sniproxyd
}

# The user and chroot lines a configuration needs to start as root,
# where the defaults (_sniproxyd, /var/empty) may not exist; nothing
# when not root.  Global options may come last, which keeps the line
# numbers of what is above.
root_prelude() {
	if is_root; then
		echo "user \"$(unpriv_user)\""
		echo "chroot \"$(empty_dir)\""
	fi
}

# An empty directory owned by root, mode 755, as sniproxyd requires.
empty_dir() {
	if [ ! -d "$T/empty" ]; then
		if ! mkdir "$T/empty" || ! chown 0:0 "$T/empty" ||
		    ! chmod 755 "$T/empty"; then
			fail "cannot make $T/empty"
		fi
	fi
	echo "$T/empty"
}

# rule_at TEXT: where the first line of the configuration holding TEXT
# is, as the log names a rule ("FILE:LINE").
rule_at() {
	_l=$(grep -n -F -- "$1" "$CONF" | grep -v '^[0-9]*:[[:space:]]*#' |
	    head -n 1 | cut -d: -f1)
	[ -n "$_l" ] || fail "no line with '$1' in the configuration"
	echo "$CONF:$_l"
}

# A string as a literal part of an extended regular expression.
re() {
	printf '%s' "$1" | sed -e 's/[][\.*^$+?(){}|]/\\&/g'
}

# The same as a regular expression.
rule_re() {
	_r=$(rule_at "$1") || exit 1
	re "$_r"
}

# The class of a TLS connection with SNI $1, as a regular expression;
# more fields of the hello may follow the name.
tls_sni() {
	printf 'tls sni=%s( [a-z]+=[^ ]*)*' "$(re "$1")"
}

# How a fetch ends: s_server closes its socket as soon as it has sent
# the answer, and when curl's last bytes (its close_notify) reach it
# after that, the server's kernel answers them with a reset, which ends
# the connection in sniproxyd too.  Both are a good end here.
# shellcheck disable=SC2034
FETCH_END='(eof|reset)'

# conn_line LISTENER RULE CLASS BACKEND REASON: a regular expression for
# the log line of a finished connection from 127.0.0.1 or ::1.  Every
# argument is itself a regular expression.
conn_line() {
	printf '^(127\.0\.0\.1|\[::1\]):[0-9]+ on %s rule %s %s to %s %s %s$' \
	    "$1" "$2" "$3" "$4" \
	    'up [0-9]+ down [0-9]+ time [0-9]+\.[0-9]{3} end' "$5"
}

# start_daemon [PORT ...]: checks the configuration, starts sniproxyd in
# the foreground with its log in $DAEMON_LOG and waits until it says it
# has started and listens on every PORT.
start_daemon() {
	"$SNIPROXYD" -n -f "$CONF" >"$T/check.out" 2>&1 ||
	    fail "sniproxyd -n rejects the configuration: $(cat "$T/check.out")"
	log_mark
	if [ -n "${VALGRIND:-}" ]; then
		# A file per process: each is exec'd, and valgrind opens
		# its file then, before the process chroots.
		$VALGRIND --log-file="$T/valgrind.%p.log" "$SNIPROXYD" -d \
		    -f "$CONF" </dev/null 2>>"$DAEMON_LOG" &
	else
		"$SNIPROXYD" -d -f "$CONF" </dev/null 2>>"$DAEMON_LOG" &
	fi
	DAEMON_PID=$!
	wait_started "$@"
}

# Under valgrind every child is a program started anew under it.
wait_started() {
	_ws=10
	[ -z "${VALGRIND:-}" ] || _ws=60
	wait_log 'sniproxyd .* started' "$_ws" ||
	    fail "sniproxyd did not start within $_ws s"
	for _p in "$@"; do
		wait_listen "$_p" 5 || fail "sniproxyd does not listen on $_p"
	done
}

# Stops sniproxyd with SIGTERM; returns 1 if it was still there after $1
# seconds (default 5) and had to be killed, it and every process it had
# left.
stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	_kids=$(descendants "$DAEMON_PID")
	kill -TERM "$DAEMON_PID" 2>/dev/null
	_rv=0
	if ! wait_gone "$DAEMON_PID" "${1:-5}"; then
		# shellcheck disable=SC2086
		kill -KILL "$DAEMON_PID" $_kids 2>/dev/null
		_rv=1
	fi
	for _k in $_kids; do
		if ! wait_gone "$_k" 2; then
			kill -KILL "$_k" 2>/dev/null
			_rv=1
		fi
	done
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	return $_rv
}

# Log assertions look at the lines written since the last mark, which
# start_daemon sets: a case that starts sniproxyd twice checks each run.
LOG_MARK=0
# shellcheck disable=SC2034
LOG_STAMP='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} (fatal|error|warning|info|debug) '

log_mark() {
	LOG_MARK=$(wc -l <"$DAEMON_LOG" 2>/dev/null || echo 0)
}

# The lines without the time and level sniproxyd -d puts in front.
log_since_mark() {
	tail -n "+$((LOG_MARK + 1))" "$DAEMON_LOG" 2>/dev/null |
	    sed -E "s/^$LOG_STAMP//"
}

# wait_log REGEX [SECONDS]: waits (default 5 s) for a log line.
wait_log() {
	_n=$((${2:-5} * 10))
	until log_since_mark | grep -Eq -- "$1"; do
		[ "$_n" -gt 0 ] || return 1
		if [ -n "$DAEMON_PID" ] && ! alive "$DAEMON_PID"; then
			log_since_mark | grep -Eq -- "$1"
			return
		fi
		tick
		_n=$((_n - 1))
	done
	return 0
}

log_count() {
	log_since_mark | grep -Ec -- "$1"
}

assert_eq() {
	[ "$1" = "$2" ] ||
	    fail "${3:-value}: expected '$1', got '$2'"
}

assert_log_has() {
	log_since_mark | grep -Eq -- "$1" ||
	    fail "the log has no line matching /$1/"
}

assert_log_lacks() {
	if log_since_mark | grep -Eq -- "$1"; then
		fail "the log has a line matching /$1/:" \
		    "$(log_since_mark | grep -E -- "$1" | head -n 1)"
	fi
}

# expect_log REGEX [SECONDS]: asserts a log line that may still be on
# its way, as connection lines are written when the connection ends.
expect_log() {
	wait_log "$1" "${2:-5}" ||
	    fail "no log line matching /$1/ within ${2:-5} s"
}

# expect_log_bytes REGEX N: asserts the log line, and that it counts at
# least N bytes up and N down.
expect_log_bytes() {
	expect_log "$1"
	log_since_mark | grep -E -- "$1" | awk -v n="$2" '{
		for (i = 1; i < NF; i++) {
			if ($i == "up")
				up = $(i + 1)
			if ($i == "down")
				down = $(i + 1)
		}
		if (up < n || down < n) {
			printf "up %s down %s, fewer than %d bytes\n", up,
			    down, n
			exit 1
		}
	}' >"$T/count" || fail "byte counts of the log line: $(cat "$T/count")"
}

# fetch NAME PORT [ADDR]: GET /whoami over TLS with SNI NAME from
# ADDR:PORT (127.0.0.1 by default), printing the body.  Extra curl
# options go in FETCH_OPTS.
fetch() {
	case ${3:-127.0.0.1} in
	*:*)	_ra="[$3]" ;;
	*)	_ra=${3:-127.0.0.1} ;;
	esac
	# shellcheck disable=SC2086
	curl -sS --noproxy '*' --max-time 10 --cacert "$PKI/ca.pem" \
	    --resolve "$1:$2:$_ra" ${FETCH_OPTS:-} "https://$1:$2/whoami"
}

# Connects to $1 and sends nothing for $2 seconds, in the background;
# prints nothing, sets SILENT_PID.
silent_client() {
	command -v bash >/dev/null 2>&1 ||
	    skip "bash is needed for a client that connects and stays silent"
	bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && exec sleep "$2"' \
	    silent "$1" "$2" </dev/null >"$T/silent.log" 2>&1 &
	SILENT_PID=$!
	track "$SILENT_PID"
}

# client_open NAME SNI PORT [ADDR]: a TLS connection that stays open,
# openssl s_client to PORT of 127.0.0.1 (or ADDR), reading what to send
# from a FIFO that a sleeping process holds open, and writing what it
# receives to $T/s/NAME/out.
client_open() {
	_s=$T/s/$1
	if ! mkdir -p "$_s" || ! mkfifo "$_s/in"; then
		fail "cannot make $_s/in"
	fi
	case ${4:-127.0.0.1} in
	*:*)	_c="[$4]:$3" ;;
	*)	_c="${4:-127.0.0.1}:$3" ;;
	esac
	openssl s_client -quiet -connect "$_c" -servername "$2" \
	    <"$_s/in" >"$_s/out" 2>"$_s/err" &
	echo "$!" >"$_s/pid"
	track "$!"
	sleep 600 >"$_s/in" &
	track "$!"
}

# tls_line PORT SNI TEXT [OPTION...]: TEXT as one line through openssl
# s_client to 127.0.0.1 PORT, verified with the run's CA, with more
# s_client options if given; prints the first line of the answer.  The
# client keeps its side open until the answer has come, 10 s at most,
# however slow the daemon (valgrind) is.
tls_line() {
	_tp=$1
	_ts=$2
	_tt=$3
	shift 3
	rm -f "$T/tls_line.out"
	(printf '%s\n' "$_tt"
	    _n=100
	    until [ -s "$T/tls_line.out" ] || [ "$_n" -le 0 ]; do
		tick
		_n=$((_n - 1))
	    done) | timeout 15 openssl s_client -quiet -no_ign_eof \
	    -connect "127.0.0.1:$_tp" -servername "$_ts" \
	    -CAfile "$PKI/ca.pem" -verify_return_error "$@" \
	    >"$T/tls_line.out" 2>"$T/s_client.err" || return 1
	head -n 1 "$T/tls_line.out"
}

client_pid() {
	cat "$T/s/$1/pid" 2>/dev/null || fail "no client named $1"
}

# Opening the FIFO waits for its reader, which may be gone: bounded.
# shellcheck disable=SC2016
client_send() {
	timeout 5 sh -c 'printf "%s\n" "$2" >"$1"' send "$T/s/$1/in" "$2" ||
	    fail "cannot write to client $1"
}

# client_expect NAME TEXT [SECONDS]: waits (default 5 s) until the
# client has received a line holding TEXT.
client_expect() {
	_n=$((${3:-5} * 10))
	until grep -Fq -- "$2" "$T/s/$1/out" 2>/dev/null; do
		if [ "$_n" -le 0 ]; then
			fail "client $1 did not receive '$2' within" \
			    "${3:-5} s: $(tr '\n' ' ' <"$T/s/$1/err")"
		fi
		tick
		_n=$((_n - 1))
	done
}

# in_netns CASEFILE: runs the rest of the case again, from its start,
# in a network namespace made for it, where only lo is, up; there,
# NETNS names the namespace, and the case may give lo addresses and
# routes of its own without touching the host's.  Skips when the
# namespace cannot be made.
in_netns() {
	[ -z "${NETNS:-}" ] || return 0
	is_root || skip "needs root to make a network namespace"
	command -v ip >/dev/null 2>&1 ||
	    skip "needs ip(8) to make a network namespace"
	NETNS=sniproxyd-regress-$$
	ip netns add "$NETNS" 2>"$T/netns.err" ||
	    skip "cannot make a network namespace: $(cat "$T/netns.err")"
	trap netns_cleanup EXIT
	ip netns exec "$NETNS" ip link set lo up 2>"$T/netns.err" ||
	    skip "cannot bring lo up in a network namespace:" \
	    "$(cat "$T/netns.err")"
	# shellcheck disable=SC2016
	ip netns exec "$NETNS" env NETNS="$NETNS" sh -c '
		T=$1
		PKI=$2
		. "$3"
		lib_init
		. "$4"
		exit 0' "$0" "$T" "$PKI" "$TOP/regress/lib.sh" "$1"
	exit
}

netns_cleanup() {
	_status=$?
	ip netns del "$NETNS" 2>/dev/null
	(exit "$_status")
	lib_cleanup
}

# Run at the end of every case, however it ends.
lib_cleanup() {
	_status=$?
	trap - EXIT
	trap '' INT TERM HUP
	if [ -n "$DAEMON_PID" ] && ! stop_daemon 10; then
		echo "cleanup: sniproxyd did not stop on SIGTERM and was" \
		    "killed" >>"$T/reason"
		[ "$_status" -eq 0 ] && _status=1
	fi
	for _k in $LIB_PIDS; do
		kill -TERM "$_k" 2>/dev/null
	done
	for _k in $LIB_PIDS; do
		wait_gone "$_k" 5 || kill -KILL "$_k" 2>/dev/null
		wait "$_k" 2>/dev/null
	done
	exit "$_status"
}

lib_init() {
	trap lib_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap 'exit 129' HUP
	: >"$DAEMON_LOG"
}
