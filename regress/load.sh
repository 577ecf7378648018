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
# More functions for the cases on reload, certificate rotation,
# sniproxyctl, balancing and health checks, which source this file
# after lib.sh:
#
#	. "$TOP/regress/load.sh"
#
# Plain backends and the clients that count, hold or stream through
# sniproxyd are one python3 program, loadpeer.py, written into the case's
# directory.  Every wait is bounded here too.

SNIPROXYCTL=${SNIPROXYCTL:-$(dirname "$SNIPROXYD")/sniproxyctl}
PEER=$T/loadpeer.py

command -v python3 >/dev/null 2>&1 ||
    skip "python3 is needed for the plain backends and the clients"
[ -x "$SNIPROXYCTL" ] ||
    fail "$SNIPROXYCTL: no such executable (run make first)"

# sniproxyctl on the case's control socket (conf() sets it).
ctl() {
	"$SNIPROXYCTL" -s "$T/control.sock" "$@"
}

# later MESSAGE: a failure that need not stop the case, so that what
# follows is checked too; the case ends with check_later, which fails
# with every such message.
later() {
	printf '%s\n' "$*" >>"$T/later"
	printf 'FAIL: %s\n' "$*" >&2
}

check_later() {
	[ -s "$T/later" ] || return 0
	fail "$(cat "$T/later")"
}

# The daemon's parent process, which SIGHUP reloads.
priv_pid() {
	echo "$DAEMON_PID"
}

# poll SECONDS COMMAND...: runs COMMAND every tenth of a second until it
# succeeds; fails after SECONDS.
poll() {
	_pn=$(($1 * 10))
	shift
	until "$@"; do
		[ "$_pn" -gt 0 ] || return 1
		tick
		_pn=$((_pn - 1))
	done
	return 0
}

cat >"$PEER" <<'EOF'
# Plain backends and clients for the sniproxyd integration tests.
#
# server NAME ADDR PORT [echo|pong|nope]
#	Greets every connection with "backend NAME\n".  echo: then sends
#	back every byte.  pong, nope: line by line, answers "PING" with
#	"PONG\r\n" (pong) or "NOPE\r\n" (nope) and echoes other lines.
# conns ADDR PORT COUNT [SRC,SRC,...]
#	COUNT connections one after the other, each from the next source
#	address; each sends "hello\n", reads the greeting and the echo and
#	closes.  Prints "SRC NAME" per connection, or "SRC FAIL why".
# hold ADDR PORT STOPFILE
#	One connection: prints "backend NAME", then every 0.2 s a line
#	that must come back unchanged, until STOPFILE exists.
# stream ADDR PORT STOPFILE [SNI CAFILE]
#	One connection (TLS when SNI is given): prints "backend NAME", then
#	16 KiB of pseudo-random bytes 20 times a second, each of which
#	must come back byte for byte, until STOPFILE exists.
# tlsonce ADDR PORT SNI CAFILE
#	One TLS connection, verified against CAFILE: sends a line, reads
#	the greeting and the echo; prints "NAME SERIAL".
# tlsloop ADDR PORT SNI CAFILE RATE STOPFILE
#	RATE TLS handshakes a second, verified against CAFILE, each sends a
#	line and reads the greeting and the echo; prints "MS ok SERIAL
#	DECIMAL" (the serial in hexadecimal and in decimal) or "MS FAIL
#	from ADDR:PORT why" per handshake, MS the time it started.
# The clients exit 0 only when every exchange went as expected.

import os
import random
import socket
import ssl
import sys
import threading
import time


def log(*args):
    print(*args, flush=True)


class Conn:
    def __init__(self, sock):
        self.s = sock
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed by the peer")
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return ln.decode(errors="replace")

    def exactly(self, n):
        while len(self.buf) < n:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("closed by the peer after %d of %d bytes"
                               % (len(self.buf), n))
            self.buf += d
        r, self.buf = self.buf[:n], self.buf[n:]
        return r


def dial(addr, port, src=None, sni=None, ca=None, timeout=5.0, where=None):
    s = socket.create_connection((addr, int(port)), timeout=timeout,
                                 source_address=(src, 0) if src else None)
    if where is not None:
        where.append("%s:%d" % s.getsockname()[:2])
    if sni:
        ctx = ssl.create_default_context(cafile=ca)
        s = ctx.wrap_socket(s, server_hostname=sni)
    return s


def greeting(c):
    g = c.line()
    if not g.startswith("backend "):
        raise ValueError("no greeting: %r" % g)
    return g[8:]


def server(name, addr, port, mode="echo"):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    ls = socket.socket(fam, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, int(port)))
    ls.listen(512)
    answer = b"PONG\r\n" if mode == "pong" else b"NOPE\r\n"

    def serve(c):
        try:
            c.sendall(b"backend " + name.encode() + b"\n")
            buf = b""
            while True:
                d = c.recv(65536)
                if not d:
                    break
                if mode == "echo":
                    c.sendall(d)
                    continue
                buf += d
                while b"\n" in buf:
                    ln, buf = buf.split(b"\n", 1)
                    if ln.rstrip(b"\r") == b"PING":
                        c.sendall(answer)
                    else:
                        c.sendall(ln + b"\n")
        except OSError:
            pass
        finally:
            c.close()

    while True:
        try:
            c, _ = ls.accept()
        except OSError:
            time.sleep(0.01)
            continue
        threading.Thread(target=serve, args=(c,), daemon=True).start()


def conns(addr, port, count, sources=""):
    srcs = [s for s in sources.split(",") if s] or [None]
    for i in range(int(count)):
        src = srcs[i % len(srcs)]
        try:
            s = dial(addr, port, src)
            c = Conn(s)
            s.sendall(b"hello\n")
            name = greeting(c)
            if c.line() != "hello":
                raise ValueError("no echo")
            s.close()
            log(src or addr, name)
        except (OSError, EOFError, ValueError) as e:
            log(src or addr, "FAIL", repr(e))
    return 0


def hold(addr, port, stop):
    try:
        s = dial(addr, port)
        c = Conn(s)
        s.sendall(b"hello\n")
        log("backend", greeting(c))
        if c.line() != "hello":
            raise ValueError("no echo")
        n = 0
        while not os.path.exists(stop):
            n += 1
            s.sendall(b"tick %d\n" % n)
            if c.line() != "tick %d" % n:
                raise ValueError("tick %d came back wrong" % n)
            time.sleep(0.2)
        s.close()
        log("done", n)
        return 0
    except (OSError, EOFError, ValueError) as e:
        log("FAIL", repr(e))
        return 1


def stream(addr, port, stop, sni=None, ca=None):
    rnd = random.Random(port)
    total = 0
    try:
        s = dial(addr, port, sni=sni, ca=ca)
        c = Conn(s)
        s.sendall(b"stream\n")
        log("backend", greeting(c))
        if c.line() != "stream":
            raise ValueError("no echo")
        while not os.path.exists(stop):
            chunk = rnd.randbytes(16384)
            s.sendall(chunk)
            if c.exactly(len(chunk)) != chunk:
                raise ValueError("bytes %d to %d came back changed"
                                 % (total, total + len(chunk)))
            total += len(chunk)
            time.sleep(0.05)
        if sni:
            s = s.unwrap()
        s.close()
        log("done", total)
        return 0
    except (OSError, EOFError, ValueError) as e:
        log("FAIL after", total, "bytes:", repr(e))
        return 1


def tls_exchange(addr, port, sni, ca, where=None):
    s = dial(addr, port, sni=sni, ca=ca, where=where)
    serial = "%X" % int(s.getpeercert()["serialNumber"], 16)
    c = Conn(s)
    s.sendall(b"hi\n")
    name = greeting(c)
    if c.line() != "hi":
        raise ValueError("no echo")
    # A close_notify first, so that the relay sees a clean end.
    s = s.unwrap()
    s.close()
    return name, serial


def tlsonce(addr, port, sni, ca):
    try:
        log(*tls_exchange(addr, port, sni, ca))
        return 0
    except (OSError, EOFError, ValueError) as e:
        log("FAIL", repr(e))
        return 1


def tlsloop(addr, port, sni, ca, rate, stop):
    period = 1.0 / float(rate)
    bad = 0
    nxt = time.time()
    while not os.path.exists(stop):
        t0 = time.time()
        where = []
        try:
            name, serial = tls_exchange(addr, port, sni, ca, where)
            log(int(t0 * 1000), "ok", serial, int(serial, 16))
        except (OSError, EOFError, ValueError) as e:
            bad += 1
            log(int(t0 * 1000), "FAIL", "from", where[0] if where else "-",
                repr(e))
        nxt += period
        time.sleep(max(0.0, nxt - time.time()))
    return 1 if bad else 0


if __name__ == "__main__":
    cmds = {"server": server, "conns": conns, "hold": hold,
            "stream": stream, "tlsonce": tlsonce, "tlsloop": tlsloop}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit("usage: loadpeer.py server|conns|hold|stream|tlsonce|tlsloop"
                 " ...")
    sys.exit(cmds[sys.argv[1]](*sys.argv[2:]) or 0)
EOF
[ -s "$PEER" ] || fail "cannot write $PEER"

# plain_backend NAME [MODE [ADDR]]: a loadpeer.py server on a free port of
# ADDR (127.0.0.1 by default) that greets with "backend NAME"; MODE echo
# (the default), pong or nope as loadpeer.py says.  port NAME and pid_of
# NAME work as for the backends of lib.sh.
plain_backend() {
	_b=$T/b/$1
	mkdir -p "$_b" || fail "cannot make $_b"
	_p=$(free_port) || exit 1
	echo "$_p" >"$_b/port"
	echo "${2:-echo}" >"$_b/mode"
	echo "${3:-127.0.0.1}" >"$_b/addr"
	plain_backend_start "$1"
}

# Starts (again) the server of NAME, on the same port as before.
plain_backend_start() {
	_b=$T/b/$1
	_p=$(cat "$_b/port")
	python3 "$PEER" server "$1" "$(cat "$_b/addr")" "$_p" \
	    "$(cat "$_b/mode")" </dev/null >>"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	wait_listen "$_p" 5 || fail "backend $1 does not listen on port $_p:" \
	    "$(cat "$_b/log")"
}

not_listening() {
	! listening "$1"
}

# Kills the server of NAME, and with it every connection it had.
plain_backend_kill() {
	kill -KILL "$(pid_of "$1")" 2>/dev/null
	wait_exit "$(pid_of "$1")" 5
	_p=$(port "$1")
	poll 5 not_listening "$_p" ||
	    fail "backend $1 still listens on port $_p"
}

# The plain backends a, b and c of <pool>, and P, a free port for
# sniproxyd to listen on.
pool_servers() {
	plain_backend a
	plain_backend b
	plain_backend c
	# shellcheck disable=SC2034
	P=$(free_port)
}

# pool_start PREFORK OPTIONS [LAST]: starts sniproxyd with PREFORK
# workers, listening on 127.0.0.1 port P, where the default rule
# forwards to <pool> (a, b and c) with OPTIONS; LAST follows c in the
# table, e.g. "backup".
pool_start() {
	conf <<EOF2
prefork $1
table <pool> { 127.0.0.1 port $(port a), 127.0.0.1 port $(port b), \
	127.0.0.1 port $(port c)${3:+ $3} }

listen on 127.0.0.1 port $P {
	default forward to <pool>${2:+ $2}
}
EOF2
	start_daemon "$P"
}

# conns PORT COUNT [SRC,...]: COUNT connections to 127.0.0.1:PORT; the
# lines of loadpeer.py go to $T/conns.out.
conns() {
	timeout 120 python3 "$PEER" conns 127.0.0.1 "$1" "$2" "${3:-}" \
	    >"$T/conns.out" 2>&1 || fail "conns: $(tail -n 3 "$T/conns.out")"
	[ "$(wc -l <"$T/conns.out")" -eq "$2" ] ||
	    fail "conns: $2 connections wanted: $(tail -n 3 "$T/conns.out")"
}

# How many connections of the last conns() backend $1 answered.
conns_to() {
	awk -v b="$1" '$2 == b { n++ } END { print n + 0 }' "$T/conns.out"
}

# Fails unless every connection of the last conns() was answered.
conns_all_ok() {
	_bad=$(grep -c ' FAIL ' "$T/conns.out")
	[ "$_bad" -eq 0 ] || fail "$_bad of $(wc -l <"$T/conns.out")" \
	    "connections failed, e.g. $(grep ' FAIL ' "$T/conns.out" |
	    head -n 1)"
}

# in_range WHAT N LO HI: fails unless LO <= N <= HI.
in_range() {
	if [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
		fail "$1: $2, not within $3..$4"
	fi
}

# hold_open NAME PORT: a loadpeer.py hold client in the background, its
# output in $T/h/NAME/out; hold_backend NAME waits for its greeting and
# sets HELD to the backend that answered, hold_stop NAME ends it cleanly
# and fails if the connection broke on the way.
hold_open() {
	_h=$T/h/$1
	mkdir -p "$_h" || fail "cannot make $_h"
	rm -f "$_h/stop"
	: >"$_h/out"
	python3 "$PEER" hold 127.0.0.1 "$2" "$_h/stop" </dev/null \
	    >"$_h/out" 2>&1 &
	echo "$!" >"$_h/pid"
	track "$!"
}

hold_backend() {
	_h=$T/h/$1
	poll 5 grep -Eq '^(backend |FAIL)' "$_h/out" ||
	    fail "hold client $1 got no greeting in 5 s"
	grep -q '^FAIL' "$_h/out" && fail "hold client $1: $(cat "$_h/out")"
	# shellcheck disable=SC2034
	HELD=$(sed -n 's/^backend //p' "$_h/out" | head -n 1)
}

hold_stop() {
	_h=$T/h/$1
	: >"$_h/stop"
	wait_exit "$(cat "$_h/pid")" 5 ||
	    fail "hold client $1 broke: $(tail -n 2 "$_h/out")"
}

# stream_open NAME PORT [SNI]: a loadpeer.py stream client in the
# background, over TLS with SNI and the run's CA when SNI is given; it
# waits for the greeting and sets STREAMED to the backend that answered.
# stream_stop NAME ends it, fails unless every byte came back, and sets
# STREAMED to the number of bytes that did.
stream_open() {
	_s=$T/st/$1
	mkdir -p "$_s" || fail "cannot make $_s"
	rm -f "$_s/stop"
	: >"$_s/out"
	if [ -n "${3:-}" ]; then
		python3 "$PEER" stream 127.0.0.1 "$2" "$_s/stop" "$3" \
		    "$PKI/ca.pem" </dev/null >"$_s/out" 2>&1 &
	else
		python3 "$PEER" stream 127.0.0.1 "$2" "$_s/stop" \
		    </dev/null >"$_s/out" 2>&1 &
	fi
	echo "$!" >"$_s/pid"
	track "$!"
	poll 5 grep -Eq '^(backend |FAIL)' "$_s/out" ||
	    fail "stream $1 got no greeting in 5 s"
	grep -q '^FAIL' "$_s/out" && fail "stream $1: $(cat "$_s/out")"
	# shellcheck disable=SC2034
	STREAMED=$(sed -n 's/^backend //p' "$_s/out" | head -n 1)
}

stream_stop() {
	_s=$T/st/$1
	: >"$_s/stop"
	wait_exit "$(cat "$_s/pid")" 10 ||
	    fail "stream $1 was cut or changed: $(tail -n 2 "$_s/out")"
	# shellcheck disable=SC2034
	STREAMED=$(sed -n 's/^done //p' "$_s/out")
}

# A pair of files for certificate NUMBER, signed by the run's CA, with
# that serial and subject CN=cert-NUMBER.example.com, for every name of
# the run: $T/pairs/NUMBER/{cert,key}.pem.
pair_make() {
	_d=$T/pairs/$1
	mkdir -p "$_d" || fail "cannot make $_d"
	{
		openssl req -new -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
		    -subj "/CN=cert-$1.$DOMAIN" -keyout "$_d/key.pem" \
		    -out "$_d/csr.pem" &&
		openssl x509 -req -sha256 -days 2 -set_serial "$1" \
		    -in "$_d/csr.pem" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" \
		    -extfile "$PKI/leaf.ext" -out "$_d/cert.pem" &&
		chmod 600 "$_d/key.pem"
	} >"$_d/log" 2>&1 || fail "cannot make certificate $1: $(cat "$_d/log")"
}

# The serial a certificate number has in what openssl prints.
serial_of() {
	printf '%X\n' "$1"
}

# certbot_install NAME NUMBER [abs]: lays out $LE/archive/NAME and
# $LE/live/NAME ($LE is $T/etc unless set) as a Let's Encrypt client
# does, with pair NUMBER; the links are relative, as certbot makes them,
# or with "abs" absolute, as other clients and many admins make them.
# certbot_renew NAME NUMBER [abs]: a renewal to pair NUMBER: new files
# in archive/, then each link of live/ switched by renaming a new link
# over it, in the order certbot uses (cert, privkey, chain, fullchain).
certbot_install() {
	_le=${LE:-$T/etc}
	mkdir -p "$_le/archive/$1" "$_le/live/$1" ||
	    fail "cannot make the certbot directories"
	chmod 700 "$_le/archive" "$_le/live"
	certbot_files "$1" "$2"
	for _k in cert privkey chain fullchain; do
		ln -s "$(certbot_target "$1" "$_k$2" "${3:-}")" \
		    "$_le/live/$1/$_k.pem" || fail "cannot link live/$1/$_k.pem"
	done
}

certbot_target() {
	if [ "$3" = abs ]; then
		echo "${LE:-$T/etc}/archive/$1/$2.pem"
	else
		echo "../../archive/$1/$2.pem"
	fi
}

certbot_files() {
	_a=${LE:-$T/etc}/archive/$1
	_d=$T/pairs/$2
	if ! cp "$_d/cert.pem" "$_a/cert$2.pem" ||
	    ! cp "$PKI/ca.pem" "$_a/chain$2.pem" ||
	    ! cat "$_d/cert.pem" "$PKI/ca.pem" >"$_a/fullchain$2.pem" ||
	    ! (umask 077 && cp "$_d/key.pem" "$_a/privkey$2.pem"); then
		fail "cannot write archive/$1 files of pair $2"
	fi
}

certbot_renew() {
	certbot_files "$1" "$2"
	for _k in cert privkey chain fullchain; do
		_l=${LE:-$T/etc}/live/$1/$_k.pem
		if ! ln -s "$(certbot_target "$1" "$_k$2" "${3:-}")" \
		    "$_l.new" || ! mv -f "$_l.new" "$_l"; then
			fail "cannot switch $_l"
		fi
	done
}

# served_serial SNI PORT: the serial of the certificate sniproxyd shows
# to a client asking for SNI, in hexadecimal, or nothing.
served_serial() {
	timeout 5 openssl s_client -connect "127.0.0.1:$2" -servername "$1" \
	    -showcerts </dev/null 2>/dev/null |
	    openssl x509 -noout -serial 2>/dev/null | sed -n 's/^serial=//p'
}

# wait_serial SNI PORT SERIAL MS: polls until the certificate served for
# SNI has SERIAL, for at most MS milliseconds from now; prints how long
# it took, or fails.
wait_serial() {
	_w0=$(now_ms)
	while :; do
		_got=$(served_serial "$1" "$2")
		_el=$(($(now_ms) - _w0))
		[ "$_got" = "$3" ] && break
		[ "$_el" -le "$4" ] ||
		    fail "certificate $3 not served $4 ms after it was due," \
		    "still $_got"
		sleep 0.05
	done
	echo "$_el"
}

# site_keypair NUMBER: pair NUMBER installed as keypair "site", in
# $K/site.crt and $K/site.key.
site_keypair() {
	pair_make "$1"
	K=$T/etc/keys
	if ! mkdir -p "$K" || ! cp "$T/pairs/$1/cert.pem" "$K/site.crt" ||
	    ! cp "$T/pairs/$1/key.pem" "$K/site.key"; then
		fail "cannot install pair $1"
	fi
}

# three_routes PREFORK: servers web (openssl s_server), echo (its -rev)
# and app (plain), and sniproxyd on port P with PREFORK workers a route:
# web and echo passed through by name, app terminated with keypair
# "site", the run's certificate.
three_routes() {
	backend web
	backend_rev echo
	plain_backend app
	P=$(free_port)
	if ! mkdir -p "$T/etc" || ! cp "$PKI/leaf.pem" "$T/etc/site.crt" ||
	    ! cp "$PKI/leaf.key" "$T/etc/site.key"; then
		fail "cannot copy the keypair into $T/etc"
	fi
	conf <<EOF2
prefork $1
keypair "site" {
	certificate "$T/etc/site.crt"
	key "$T/etc/site.key"
}
table <web> { 127.0.0.1 port $(port web) }
table <echo> { 127.0.0.1 port $(port echo) }
table <app> { 127.0.0.1 port $(port app) }

listen on 127.0.0.1 port $P {
	match tls sni "web.$DOMAIN" forward to <web>
	match tls sni "echo.$DOMAIN" forward to <echo>
	match tls sni "app.$DOMAIN" terminate tls keypair "site" \\
	    forward to <app>
}
EOF2
	start_daemon "$P"
}

# tls_loops PORT SNI RATE: two loadpeer.py tlsloop clients in the
# background, RATE handshakes a second each; tls_loops_stop ends them
# and gathers what they printed in $T/loop.out.
tls_loops() {
	for _l in 1 2; do
		python3 "$PEER" tlsloop 127.0.0.1 "$1" "$2" "$PKI/ca.pem" \
		    "$3" "$T/loop.stop" </dev/null >"$T/loop$_l.out" 2>&1 &
		echo "$!" >"$T/loop$_l.pid"
		track "$!"
	done
}

tls_loops_stop() {
	: >"$T/loop.stop"
	for _l in 1 2; do
		wait_exit "$(cat "$T/loop$_l.pid")" 10
	done
	cat "$T/loop1.out" "$T/loop2.out" >"$T/loop.out"
}

# client_local_ports PORT: the local ports of the connections
# established to PORT, as the client ends see them.
client_local_ports() {
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk \
	    -v port="$(hexport "$1")" '
	$1 ~ /^[0-9]+:$/ && $4 == "01" {
		split($3, r, ":")
		split($2, l, ":")
		if (r[2] == port)
			print l[2]
	}' | while read -r _h; do
		printf '%d\n' "0x$_h"
	done
}
