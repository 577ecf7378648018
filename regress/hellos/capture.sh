#!/bin/sh
#
# Regenerates the captured ClientHellos in this directory.  It is not run
# by the tests, which use the committed *.bin files; run it by hand when
# a capture should be refreshed.  The files are written next to it.
#
# Needs python3, openssl, gnutls-cli (gnutls-bin), curl and chromium.
# Every client is pointed at a listener bound to 127.0.0.1 only, which
# keeps exactly the bytes the client sent up to the end of the record
# that completes its ClientHello, then hangs up.  Every name resolves to
# 127.0.0.1, so nothing leaves the host.

set -eu
cd "$(dirname "$0")"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

listener='
import os, socket, sys

out, portfile = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(60)
with open(portfile + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
c, _ = s.accept()
c.settimeout(10)

def hello_end(b):
    """End of the record completing the ClientHello, or None."""
    pos, hs = 0, b""
    while pos + 5 <= len(b):
        n = int.from_bytes(b[pos + 3:pos + 5], "big")
        if b[pos] != 22 or pos + 5 + n > len(b):
            return None
        hs += b[pos + 5:pos + 5 + n]
        pos += 5 + n
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big"):
            return pos
    return None

buf, reads = b"", 0
while hello_end(buf) is None:
    d = c.recv(65536)
    if not d:
        sys.exit("connection closed before a complete hello")
    buf += d
    reads += 1
end = hello_end(buf)
with open(out, "wb") as f:
    f.write(buf[:end])
print("%s: %d bytes in %d read(s)" % (out, end, reads))
c.close()
'

# capture NAME COMMAND...: COMMAND may use $port.
capture() {
	name=$1
	shift
	rm -f "$tmp/port"
	python3 -c "$listener" "$name.bin" "$tmp/port" &
	lpid=$!
	while [ ! -s "$tmp/port" ]; do
		kill -0 "$lpid" 2>/dev/null || exit 1
		sleep 0.1
	done
	port=$(cat "$tmp/port")
	export port
	sh -c "$*" </dev/null >/dev/null 2>&1 || true
	wait "$lpid"
}

capture openssl 'timeout 20 openssl s_client -connect 127.0.0.1:$port \
    -servername openssl.example.com -alpn h2,http/1.1'

capture openssl-nosni 'timeout 20 openssl s_client \
    -connect 127.0.0.1:$port -noservername'

capture gnutls 'timeout 20 gnutls-cli --insecure -p $port \
    --sni-hostname=gnutls.example.com --alpn=h2 --alpn=http/1.1 127.0.0.1'

capture curl 'timeout 20 curl -sk \
    --resolve curl.example.com:$port:127.0.0.1 \
    https://curl.example.com:$port/'

capture chromium 'timeout 30 chromium --headless --no-sandbox \
    --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update \
    --disable-sync --user-data-dir="'"$tmp"'/profile" \
    --host-resolver-rules="MAP chromium.example.com 127.0.0.1" \
    --dump-dom https://chromium.example.com:$port/'
