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
# Real peers for the cases that play other programs against sniproxyd:
# OpenSSH, OpenVPN, HAProxy, nginx, and small Python servers and clients
# for what no packaged program does (a line echo that records a PROXY
# header, a client bound to another loopback address).  A case sources
# this file after lib.sh:
#
#	. "$TOP/regress/peers.sh"
#
# Each peer lives in $T/b/NAME (port NAME, pid_of NAME), as the backends
# of lib.sh do, and is stopped with the case.  A peer whose program is
# not installed skips the case.  Only addresses of 127.0.0.0/8 (all of
# them on the loopback interface of Linux) and ::1 are used; other
# addresses appear only inside PROXY headers.

# need PROGRAM ...: skips the case unless every program is installed.
# System daemons live in sbin, which an unprivileged PATH may lack.
need() {
	for _n in "$@"; do
		command -v "$_n" >/dev/null 2>&1 && continue
		[ -x "/usr/sbin/$_n" ] && continue
		[ -x "/sbin/$_n" ] && continue
		skip "$_n is not installed"
	done
}

# The absolute path of PROGRAM (sshd re-executes itself by it).
prog() {
	for _d in /usr/sbin /sbin /usr/bin /bin; do
		if [ -x "$_d/$1" ]; then
			echo "$_d/$1"
			return 0
		fi
	done
	command -v "$1" 2>/dev/null || skip "$1 is not installed"
}

peer_dir() {
	mkdir -p "$T/b/$1" || fail "cannot make $T/b/$1"
	echo "$T/b/$1"
}

# peer_wait NAME PORT...: waits for the peer's ports, or fails with its
# log.
peer_wait() {
	_pw=$1
	shift
	for _pp in "$@"; do
		if ! wait_listen "$_pp" 10; then
			sed 's/^/    /' "$T/b/$_pw/log" >&2 2>/dev/null
			fail "$_pw does not listen on $_pp"
		fi
	done
}

# --- certificates ---------------------------------------------------------

# cert_make NAME CN [SAN] [ISSUER]: a key ($T/pki/NAME.key) and a
# certificate ($T/pki/NAME.pem) for CN, signed by the run's CA, or
# self-signed with ISSUER "self"; SAN is the subjectAltName value
# (DNS:CN by default), EKU serverAuth unless CERT_EKU says otherwise.
cert_make() {
	_cd=$T/pki
	mkdir -p "$_cd" || fail "cannot make $_cd"
	_san=${3:-DNS:$2}
	printf '%s\n' "basicConstraints = critical, CA:FALSE" \
	    "keyUsage = critical, digitalSignature" \
	    "extendedKeyUsage = ${CERT_EKU:-serverAuth}" \
	    "subjectAltName = $_san" >"$_cd/$1.ext"
	{
		openssl req -new -newkey ec \
		    -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
		    -subj "/CN=$2" -keyout "$_cd/$1.key" -out "$_cd/$1.csr" &&
		if [ "${4:-}" = self ]; then
			openssl x509 -req -sha256 -days 2 -in "$_cd/$1.csr" \
			    -key "$_cd/$1.key" -extfile "$_cd/$1.ext" \
			    -out "$_cd/$1.pem"
		else
			openssl x509 -req -sha256 -days 2 \
			    -set_serial "$(od -An -N4 -tu4 /dev/urandom |
			    tr -d ' ')" -in "$_cd/$1.csr" -CA "$PKI/ca.pem" \
			    -CAkey "$PKI/ca.key" -extfile "$_cd/$1.ext" \
			    -out "$_cd/$1.pem"
		fi &&
		chmod 600 "$_cd/$1.key"
	} >>"$_cd/log" 2>&1 || fail "openssl cannot make $1: $(tail -n 3 \
	    "$_cd/log")"
}

# tls_server NAME CERT KEY [s_server options]: an openssl s_server with
# the given certificate on a free port of 127.0.0.1, answering every
# request as lib.sh's backend does ("backend NAME").
tls_server() {
	_b=$(peer_dir "$1")
	_body="backend $1"
	printf '%s\r\n' "HTTP/1.0 200 OK" "Content-Type: text/plain" \
	    "Content-Length: $((${#_body} + 1))" "Connection: close" "" \
	    >"$_b/whoami"
	printf '%s\n' "$_body" >>"$_b/whoami"
	_p=$(free_port) || exit 1
	_c=$2
	_k=$3
	shift 3
	(cd "$_b" && exec openssl s_server -quiet -HTTP "$@" \
	    -accept "127.0.0.1:$_p" -cert "$_c" -key "$_k") \
	    </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	peer_wait "$(basename "$_b")" "$_p"
}

# --- Python servers and clients -------------------------------------------

# The program behind py_server and py_client, written once per case.
peer_py() {
	need python3
	[ -f "$T/peer.py" ] && return 0
	cat >"$T/peer.py" <<'EOF' || fail "cannot write $T/peer.py"
import os, select, socket, ssl, sys, threading, time

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"

def opts(argv):
    o, i = {}, 0
    while i < len(argv):
        k = argv[i].lstrip("-")
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            o[k] = argv[i + 1]
            i += 2
        else:
            o[k] = True
            i += 1
    return o

def recv_exact(s, n):
    b = b""
    while len(b) < n:
        d = s.recv(n - len(b))
        if not d:
            raise EOFError("eof after %d of %d bytes" % (len(b), n))
        b += d
    return b

def tlvs(data, prefix=""):
    out, i = [], 0
    while i + 3 <= len(data):
        t, l = data[i], int.from_bytes(data[i + 1:i + 3], "big")
        v = data[i + 3:i + 3 + l]
        i += 3 + l
        if t == 0x01:
            out.append("alpn=" + v.decode("latin-1"))
        elif t == 0x02:
            out.append("authority=" + v.decode("latin-1"))
        elif t == 0x20 and len(v) >= 5:
            out.append("ssl=client:%d,verify:%d" % (v[0],
                int.from_bytes(v[1:5], "big")))
            out += tlvs(v[5:], "ssl_")
        elif t == 0x21:
            out.append(prefix + "version=" + v.decode("latin-1"))
        elif t == 0x23:
            out.append(prefix + "cipher=" + v.decode("latin-1"))
        else:
            out.append("%stlv%02x=%s" % (prefix, t, v.hex()))
    return out

def proxy_header(s):
    """Reads a PROXY header if one is there: a description of it."""
    first, limit = b"", time.monotonic() + 5
    # Until the bytes there tell a header from anything else.
    while len(first) < 12 and (V2SIG.startswith(first) or
            b"PROXY ".startswith(first[:6])):
        r, _, _ = select.select([s], [], [], limit - time.monotonic())
        if not r:
            break
        more = s.recv(16, socket.MSG_PEEK)
        if len(more) == len(first):
            time.sleep(0.01)
        first = more
        if not first or time.monotonic() > limit:
            break
    if first.startswith(b"PROXY "):
        line = b""
        while not line.endswith(b"\r\n") and len(line) < 108:
            line += recv_exact(s, 1)
        f = line.decode("latin-1").split()
        d = ["proxy=v1", "family=" + f[1]]
        if len(f) == 6:
            d += ["src=%s:%s" % (f[2], f[4]), "dst=%s:%s" % (f[3], f[5])]
        return d
    if len(first) >= 12 and first[:12] == V2SIG:
        h = recv_exact(s, 16)
        body = recv_exact(s, int.from_bytes(h[14:16], "big"))
        d = ["proxy=v2", "cmd=%d" % (h[12] & 15), "family=%02x" % h[13]]
        if h[13] in (0x11, 0x12) and len(body) >= 12:
            d += ["src=%s:%d" % (socket.inet_ntop(socket.AF_INET,
                body[0:4]), int.from_bytes(body[8:10], "big")),
                "dst=%s:%d" % (socket.inet_ntop(socket.AF_INET,
                body[4:8]), int.from_bytes(body[10:12], "big"))]
            body = body[12:]
        elif h[13] in (0x21, 0x22) and len(body) >= 36:
            d += ["src=[%s]:%d" % (socket.inet_ntop(socket.AF_INET6,
                body[0:16]), int.from_bytes(body[32:34], "big")),
                "dst=[%s]:%d" % (socket.inet_ntop(socket.AF_INET6,
                body[16:32]), int.from_bytes(body[34:36], "big"))]
            body = body[36:]
        return d + tlvs(body)
    return ["proxy=none"]

def record(path, words):
    with open(path, "a") as f:
        f.write(" ".join(words) + "\n")

def serve_one(c, peer, o):
    name, out = o["name"], os.path.join(o["dir"], "conns")
    c.settimeout(float(o.get("timeout", 30)))
    words = ["peer=%s:%d" % peer[:2]]
    try:
        if "proxy" in o:
            words += proxy_header(c)
        if "tls" in o:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(o["cert"], o["key"])
            c = ctx.wrap_socket(c, server_side=True)
            words.append("tls=" + c.version())
        f = c.makefile("rb")
        if "http" in o:
            req = f.readline().decode("latin-1").strip()
            host = "-"
            while True:
                l = f.readline()
                if l in (b"\r\n", b"\n", b""):
                    break
                k, _, v = l.decode("latin-1").partition(":")
                if k.strip().lower() == "host":
                    host = v.strip()
            words += ["request=" + req.replace(" ", "_"), "host=" + host]
            record(out, words)
            body = ("backend %s\n" % name).encode()
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n"
                % len(body) + body)
            return
        record(out, words)
        for l in f:
            c.sendall(name.encode() + b": " + l.rstrip(b"\r\n") + b"\n")
    except Exception as e:
        record(out, words + ["error=" + str(e).replace(" ", "_")])
    finally:
        try:
            c.close()
        except Exception:
            pass

def server(o):
    fam = socket.AF_INET6 if ":" in o["addr"] else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((o["addr"], int(o["port"])))
    s.listen(64)
    while True:
        c, peer = s.accept()
        threading.Thread(target=serve_one, args=(c, peer, o),
            daemon=True).start()

def client(o):
    t0 = time.monotonic()
    limit = float(o.get("timeout", 10))
    addr = o.get("addr", "127.0.0.1")
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(limit)
    if "src" in o:
        s.bind((o["src"], 0))
    s.connect((addr, int(o["port"])))
    print("local %s:%d" % s.getsockname()[:2], file=sys.stderr)
    if "tls" in o:
        ctx = ssl.create_default_context(cafile=o["ca"])
        if "alpn" in o:
            ctx.set_alpn_protocols(o["alpn"].split(","))
        s = ctx.wrap_socket(s, server_hostname=o["sni"])
        if "alpn" in o:
            print("alpn %s" % s.selected_alpn_protocol(), file=sys.stderr)
        print("tls %s subject %s" % (s.version(),
            dict(x[0] for x in s.getpeercert()["subject"])["commonName"]),
            file=sys.stderr)
    f = s.makefile("rb")
    if "banner" in o:
        l = f.readline().decode("latin-1").rstrip("\r\n")
        print("banner after %d ms: %s" % ((time.monotonic() - t0) * 1000,
            l), file=sys.stderr)
        print(l)
        sys.stdout.flush()
    if "hex" in o:
        s.sendall(bytes.fromhex(o["hex"]))
    for k in ("send", "then"):
        if k not in o:
            continue
        if k == "then":
            time.sleep(float(o.get("pause", 0.5)))
        s.sendall(o[k].encode().decode("unicode_escape").encode("latin-1"))
    n = int(o.get("lines", 1 if "send" in o else 0))
    for _ in range(n):
        l = f.readline()
        if not l:
            print("eof after %d ms" % ((time.monotonic() - t0) * 1000),
                file=sys.stderr)
            sys.exit(3)
        print(l.decode("latin-1").rstrip("\r\n"))
        sys.stdout.flush()
    if "expect-eof" in o:
        try:
            rest = f.read()
        except (ConnectionResetError, ssl.SSLError):
            rest = b""
        if rest:
            print("unexpected bytes: %r" % rest[:64], file=sys.stderr)
            sys.exit(4)
    if "drain" in o:
        n = 0
        try:
            while True:
                d = s.recv(4096)
                if not d:
                    break
                n += len(d)
        except (ConnectionResetError, ssl.SSLError):
            pass
        print("eof after %d bytes" % n, file=sys.stderr)
    print("done after %d ms" % ((time.monotonic() - t0) * 1000),
        file=sys.stderr)

o = opts(sys.argv[2:])
{"server": server, "client": client}[sys.argv[1]](o)
EOF
}

# py_server NAME [ADDR] [options]: a Python server on a free port of
# ADDR (127.0.0.1 by default) that writes a line per connection to
# $T/b/NAME/conns, with the PROXY header it read (--proxy: "proxy=v1"
# or "proxy=v2" and "src=ADDR:PORT", its TLVs, or "proxy=none"), then
# answers each line it receives with "NAME: line", or with --http one
# request with "backend NAME" (and records the request and its Host).
# With --tls --cert F --key F it speaks TLS after the header.
py_server() {
	peer_py
	_b=$(peer_dir "$1")
	_n=$1
	shift
	_a=127.0.0.1
	case ${1:-} in
	--*|'')	;;
	*)	_a=$1; shift ;;
	esac
	_p=$(free_port) || exit 1
	: >"$_b/conns"
	python3 "$T/peer.py" server --name "$_n" --dir "$_b" --addr "$_a" \
	    --port "$_p" "$@" </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	peer_wait "$_n" "$_p"
}

# py_client [options]: the Python client.  --port P [--addr A]
# [--src A] [--tls --sni NAME --ca FILE [--alpn P1,P2]] [--banner]
# [--send TEXT (with \n, \r, \xHH escapes)] [--then TEXT, sent --pause
# S (0.5) later] [--hex HEX] [--lines N] [--expect-eof: then EOF and
# nothing more] [--drain: read whatever comes until EOF] [--timeout S].
# Prints the lines it received; its diagnostics (local address, TLS
# version and subject, times) go to standard error.
py_client() {
	peer_py
	timeout 30 python3 "$T/peer.py" client "$@"
}

# conns NAME: what the Python server NAME recorded, one connection a
# line.
conns() {
	cat "$T/b/$1/conns" 2>/dev/null
}

# wait_conns NAME N [SECONDS]: waits (default 5 s) until NAME has
# recorded N connections.
wait_conns() {
	_n=$((${3:-5} * 10))
	while [ "$(conns "$1" | wc -l)" -lt "$2" ]; do
		[ "$_n" -gt 0 ] ||
		    fail "$1 recorded $(conns "$1" | wc -l) connections," \
		    "not $2, within ${3:-5} s"
		tick
		_n=$((_n - 1))
	done
}

# --- QUIC (ngtcp2) ---------------------------------------------------------

# Sockets bound to UDP port $1, in either family.
udp_bound() {
	cat /proc/net/udp /proc/net/udp6 2>/dev/null | awk \
	    -v port="$(hexport "$1")" '
	$1 ~ /^[0-9]+:$/ {
		split($2, a, ":")
		if (a[2] == port)
			n++
	}
	END { print n + 0 }'
}

# udp_wait PORT WHO: fails unless a UDP socket is bound to PORT within
# 10 s.
udp_wait() {
	_n=100
	until [ "$(udp_bound "$1")" -gt 0 ]; do
		[ "$_n" -gt 0 ] || fail "$2 does not listen on udp $1"
		tick
		_n=$((_n - 1))
	done
}

# quic_server NAME [ADDR]: an ngtcp2 HTTP/3 server on a free UDP port of
# 127.0.0.1 (or ADDR), with a certificate of its own for NAME.$DOMAIN,
# serving /whoami with "backend NAME".
quic_server() {
	_b=$(peer_dir "$1")
	cert_make "quic-$1" "$1.$DOMAIN"
	mkdir -p "$_b/htdocs" || fail "cannot make $_b/htdocs"
	echo "backend $1" >"$_b/htdocs/whoami"
	_p=$(free_port) || exit 1
	"$(prog gtlsserver)" -q -d "$_b/htdocs" "${2:-127.0.0.1}" "$_p" \
	    "$T/pki/quic-$1.key" "$T/pki/quic-$1.pem" </dev/null \
	    >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	udp_wait "$_p" "$1"
}

# quic_fetch NAME PORT [ADDR]: GET /whoami over HTTP/3 from NAME at
# 127.0.0.1 (or ADDR) PORT, printing the body; QUIC_OPTS are more
# options for the client.  The client sends the name it connects to as
# SNI, so the name resolves to the address through a hosts file of the
# case's own, seen only in a private mount namespace.
quic_fetch() {
	_qa=${3:-127.0.0.1}
	grep -qw "$1" "$T/hosts" 2>/dev/null ||
	    printf '%s %s\n' "$_qa" "$1" >>"$T/hosts" ||
	    fail "cannot write $T/hosts"
	_d=$T/dl.$1.$$
	rm -rf "$_d"
	mkdir -p "$_d" || fail "cannot make $_d"
	# shellcheck disable=SC2016
	timeout 15 unshare -m sh -c 'mount --bind "$1" /etc/hosts &&
	    exec "$2" -q --exit-on-all-streams-close --timeout=5s \
	    --download="$3" $6 "$4" "$5" "https://$4:$5/whoami"' sh \
	    "$T/hosts" "$(prog gtlsclient)" "$_d" "$1" "$2" \
	    "${QUIC_OPTS:-}" >"$_d.log" 2>&1 || return 1
	cat "$_d/whoami"
}

# --- OpenSSH --------------------------------------------------------------

# sshd_start NAME: a private sshd on a free port of 127.0.0.1, with a
# host key, a client key and an authorized_keys of its own in $T/b/NAME,
# for the user who runs the case.  ssh_run NAME PORT COMMAND... runs a
# command there through PORT; the host key must be the one made here.
sshd_start() {
	need sshd ssh ssh-keygen
	_b=$(peer_dir "$1")
	if ! ssh-keygen -q -t ed25519 -N '' -C "host $1" -f "$_b/host_key" ||
	    ! ssh-keygen -q -t ed25519 -N '' -C "client $1" \
	    -f "$_b/client_key"; then
		fail "ssh-keygen failed"
	fi
	cp "$_b/client_key.pub" "$_b/authorized_keys" || fail "cp failed"
	echo "sshd-$1 $(cut -d' ' -f1,2 "$_b/host_key.pub")" \
	    >"$_b/known_hosts"
	_p=$(free_port) || exit 1
	# sshd refuses to start as root without its privilege separation
	# directory.
	if is_root && [ ! -d /run/sshd ]; then
		if ! mkdir -p /run/sshd || ! chmod 755 /run/sshd; then
			fail "cannot make /run/sshd"
		fi
	fi
	printf '%s\n' "Port $_p" "ListenAddress 127.0.0.1" \
	    "HostKey $_b/host_key" "PidFile $_b/sshd.pid" \
	    "AuthorizedKeysFile $_b/authorized_keys" "StrictModes no" \
	    "PubkeyAuthentication yes" "PasswordAuthentication no" \
	    "KbdInteractiveAuthentication no" "UsePAM no" \
	    "PermitRootLogin prohibit-password" "AllowUsers $(id -un)" \
	    "LogLevel VERBOSE" "MaxStartups 50" \
	    >"$_b/sshd_config" || fail "cannot write $_b/sshd_config"
	"$(prog sshd)" -D -e -f "$_b/sshd_config" </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	peer_wait "$1" "$_p"
}

# ssh_opts NAME: the options of an ssh client of sshd NAME that trusts
# only its host key and never asks anything.
ssh_opts() {
	_b=$T/b/$1
	echo "-F /dev/null -i $_b/client_key -o IdentitiesOnly=yes" \
	    "-o UserKnownHostsFile=$_b/known_hosts" \
	    "-o GlobalKnownHostsFile=/dev/null -o HostKeyAlias=sshd-$1" \
	    "-o StrictHostKeyChecking=yes -o BatchMode=yes" \
	    "-o ConnectTimeout=10 -o ServerAliveInterval=5" \
	    "-o ServerAliveCountMax=2 -o LogLevel=ERROR"
}

# ssh_run NAME PORT COMMAND: COMMAND on sshd NAME, reached through
# 127.0.0.1 port PORT.
ssh_run() {
	_sn=$1
	_sp=$2
	shift 2
	# shellcheck disable=SC2046
	timeout 30 ssh $(ssh_opts "$_sn") -p "$_sp" "$(id -un)@127.0.0.1" "$@"
}

# --- OpenVPN --------------------------------------------------------------

# ovpn_pki: a server and a client certificate of the run's CA for
# OpenVPN ($T/pki/ovpn-server.*, $T/pki/ovpn-client.*).
ovpn_pki() {
	[ -f "$T/pki/ovpn-client.pem" ] && return 0
	cert_make ovpn-server "vpn.$DOMAIN"
	CERT_EKU=clientAuth cert_make ovpn-client "client.$DOMAIN" \
	    "DNS:client.$DOMAIN"
}

# ovpn_server NAME [openvpn options]: an openvpn in tcp-server,
# point-to-point TLS mode, without a tun device, on a free port of
# 127.0.0.1.  ovpn_client NAME PORT [openvpn options] connects an
# openvpn tcp-client to PORT; ovpn_up NAME waits until it is up.
ovpn_server() {
	need openvpn
	ovpn_pki
	_b=$(peer_dir "$1")
	_p=$(free_port) || exit 1
	shift
	"$(prog openvpn)" --dev null --proto tcp-server --local 127.0.0.1 \
	    --lport "$_p" --tls-server --dh none --ca "$PKI/ca.pem" \
	    --cert "$T/pki/ovpn-server.pem" --key "$T/pki/ovpn-server.key" \
	    --verb 3 --ping 1 --ping-exit 20 "$@" \
	    </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	echo "$_p" >"$_b/port"
	peer_wait "$(basename "$_b")" "$_p"
}

ovpn_client() {
	need openvpn
	ovpn_pki
	_b=$(peer_dir "$1")
	_p=$2
	shift 2
	"$(prog openvpn)" --dev null --proto tcp-client \
	    --remote 127.0.0.1 "$_p" --nobind --tls-client \
	    --ca "$PKI/ca.pem" --cert "$T/pki/ovpn-client.pem" \
	    --key "$T/pki/ovpn-client.key" --remote-cert-tls server \
	    --verify-x509-name "vpn.$DOMAIN" name \
	    --connect-retry-max 1 --ping 1 --ping-exit 20 --verb 3 "$@" \
	    </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
}

# ovpn_up NAME [SECONDS]: waits (default 15 s) until openvpn NAME says
# its tunnel is up.
ovpn_up() {
	_n=$((${2:-15} * 10))
	until grep -q 'Initialization Sequence Completed' \
	    "$T/b/$1/log" 2>/dev/null; do
		if [ "$_n" -le 0 ]; then
			sed 's/^/    /' "$T/b/$1/log" | tail -n 15 >&2
			fail "openvpn $1 not up within ${2:-15} s"
		fi
		tick
		_n=$((_n - 1))
	done
}

# --- HAProxy and nginx ----------------------------------------------------

# haproxy_start NAME PORT...: HAProxy in the foreground with the
# configuration read from standard input after a global and defaults
# section of this file's, which log every connection, in the format of
# HAPROXY_LOG (with the AUTHORITY TLV of a PROXY v2 header it read), to
# $T/b/NAME/log; waits for every PORT.
HAPROXY_LOG='conn client=%ci:%cp frontend=%f backend=%b server=%si:%sp'
HAPROXY_LOG="$HAPROXY_LOG authority=%[fc_pp_authority] bytes=%B term=%ts"

haproxy_start() {
	need haproxy
	_b=$(peer_dir "$1")
	_hn=$1
	shift
	{
		printf '%s\n' "global" "	log stdout format raw local0" \
		    "	maxconn 200" "defaults" "	mode tcp" \
		    "	log global" "	option dontlognull" \
		    "	log-format \"$HAPROXY_LOG\"" \
		    "	timeout connect 5s" "	timeout client 30s" \
		    "	timeout server 30s"
		cat
	} >"$_b/haproxy.cfg" || fail "cannot write $_b/haproxy.cfg"
	timeout 10 "$(prog haproxy)" -c -f "$_b/haproxy.cfg" \
	    >"$_b/check" 2>&1 ||
	    fail "haproxy rejects its configuration: $(cat "$_b/check")"
	"$(prog haproxy)" -db -f "$_b/haproxy.cfg" </dev/null \
	    >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	peer_wait "$_hn" "$@"
}

# nginx_start NAME PORT...: nginx in the foreground with its prefix in
# $T/b/NAME and the configuration read from standard input after a main
# section of this file's; the stream module is loaded when it is a
# module of its own.  Waits for every PORT.
nginx_start() {
	need nginx
	_b=$(peer_dir "$1")
	_nn=$1
	shift
	mkdir -p "$_b/logs" "$_b/tmp" || fail "cannot make $_b/logs"
	{
		for _m in /usr/lib/nginx/modules/ngx_stream_module.so \
		    /usr/lib64/nginx/modules/ngx_stream_module.so; do
			[ -f "$_m" ] && echo "load_module $_m;" && break
		done
		is_root && echo "user root;"
		printf '%s\n' "worker_processes 1;" "pid $_b/nginx.pid;" \
		    "error_log $_b/logs/error.log info;" \
		    "events { worker_connections 64; }"
		cat
	} >"$_b/nginx.conf" || fail "cannot write $_b/nginx.conf"
	timeout 10 "$(prog nginx)" -t -p "$_b" -c "$_b/nginx.conf" \
	    >"$_b/check" 2>&1 ||
	    fail "nginx rejects its configuration: $(cat "$_b/check")"
	"$(prog nginx)" -p "$_b" -c "$_b/nginx.conf" -g 'daemon off;' \
	    </dev/null >"$_b/log" 2>&1 &
	echo "$!" >"$_b/pid"
	track "$!"
	peer_wait "$_nn" "$@"
}

# nginx_temp NAME: the temporary directories of an http block, in the
# prefix of nginx NAME.
nginx_temp() {
	for _t in client_body proxy fastcgi uwsgi scgi; do
		echo "${_t}_temp_path $T/b/$1/tmp/$_t;"
	done
}

# wait_file_has FILE REGEX [SECONDS]: waits (default 5 s) for a line of
# FILE matching the extended regular expression.
wait_file_has() {
	_n=$((${3:-5} * 10))
	until grep -Eq -- "$2" "$1" 2>/dev/null; do
		if [ "$_n" -le 0 ]; then
			fail "no line matching /$2/ in $(basename "$1")" \
			    "within ${3:-5} s: $(tail -n 5 "$1" 2>/dev/null |
			    tr '\n' '|')"
		fi
		tick
		_n=$((_n - 1))
	done
}

# The process titled "route TABLE" (the first, with prefork 1 the only)
# below the running daemon.
worker_of() {
	procs_titled "$DAEMON_PID" "route $1" | head -n 1
}

accept_pid() {
	procs_titled "$DAEMON_PID" accept | head -n 1
}

# expect_log_n REGEX N [SECONDS]: waits (default 5 s) until N log lines
# match, and fails if there are more or fewer.
expect_log_n() {
	_n=$((${3:-5} * 10))
	while [ "$(log_count "$1")" -lt "$2" ] && [ "$_n" -gt 0 ]; do
		tick
		_n=$((_n - 1))
	done
	assert_eq "$2" "$(log_count "$1")" "log lines matching /$1/"
}

# keypair_conf NAME CERT KEY: a keypair block for the configuration,
# with copies of the files beside it, where the parent process, chrooted
# to that directory, reads them again on a reload.
keypair_conf() {
	mkdir -p "$T/etc" || fail "cannot make $T/etc"
	if ! cp "$2" "$T/etc/$1.pem" || ! cp "$3" "$T/etc/$1.key"; then
		fail "cannot copy the keypair $1"
	fi
	chmod 600 "$T/etc/$1.key"
	printf 'keypair "%s" {\n\tcertificate "%s"\n\tkey "%s"\n}\n' \
	    "$1" "$T/etc/$1.pem" "$T/etc/$1.key"
}

# subject_of NAME PORT [s_client options]: the subject of the
# certificate that 127.0.0.1:PORT presents for the server name NAME, or
# with NAME "" to a client that asks for none.
subject_of() {
	_sn=$1
	_sp=$2
	shift 2
	if [ -n "$_sn" ]; then
		set -- -servername "$_sn" "$@"
	else
		set -- -noservername "$@"
	fi
	timeout 10 openssl s_client -connect "127.0.0.1:$_sp" "$@" \
	    </dev/null 2>/dev/null | sed -n 's/^subject=//p' | head -n 1
}

# conn_from CLIENT LISTENER RULE CLASS BACKEND REASON: conn_line for
# any client, CLIENT a regular expression for its address and port.
conn_from() {
	printf '^%s on %s rule %s %s to %s %s %s$' "$1" "$2" "$3" "$4" "$5" \
	    'up [0-9]+ down [0-9]+ time [0-9]+\.[0-9]{3} end' "$6"
}
