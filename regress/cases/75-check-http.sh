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
# check http, check https and check send ... expect ... with tls: a
# server whose health page stops answering 200 is down, and up again
# once it does.
#
# client:	none: the checks are the clients
# sniproxyd:	three listeners, each default forward to a table of one
#		server: <web> check http "/health" code 200 host
#		"app.example.com", <sweb> check https the same, <tweb>
#		check send "GET /health ..." expect "HTTP/1.0 200" with tls;
#		interval 300ms fall 2 rise 2
# servers:	a python3 HTTP server and a python3 HTTPS server (the run's
#		certificate) answering /health with the status written in
#		a file, 200 then 503, then 200 again; they record the
#		request line and Host header of every request
# expect:	no "is down" while they answer 200; "table <T>: server
#		ADDR is down" for each of the three within 5 s of 503,
#		"is up" within 5 s of 200 again; the requests were "GET
#		/health HTTP/1.0" with "Host: app.example.com"

cat >"$T/health.py" <<'EOF'
import http.server, ssl, sys

port, status, reqlog = int(sys.argv[1]), sys.argv[2], sys.argv[3]

class Health(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(status) as f:
            code = int(f.read().strip())
        with open(reqlog, "a") as f:
            f.write("%s host=%s\n" % (self.requestline,
                self.headers.get("Host", "-")))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Health)
if len(sys.argv) > 4:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
EOF

echo 200 >"$T/status"
WEB=$(free_port) || exit 1
python3 "$T/health.py" "$WEB" "$T/status" "$T/web.req" </dev/null \
    >"$T/web.log" 2>&1 &
track "$!"
SWEB=$(free_port) || exit 1
python3 "$T/health.py" "$SWEB" "$T/status" "$T/sweb.req" \
    "$PKI/leaf.pem" "$PKI/leaf.key" </dev/null >"$T/sweb.log" 2>&1 &
track "$!"
for p in "$WEB" "$SWEB"; do
	wait_listen "$p" 5 || fail "the health server on $p does not listen:" \
	    "$(cat "$T/web.log" "$T/sweb.log")"
done

P1=$(free_port) || exit 1
P2=$(free_port) || exit 1
P3=$(free_port) || exit 1
opts='interval 300ms fall 2 rise 2'
conf <<EOF2
table <web> { 127.0.0.1 port $WEB }
table <sweb> { 127.0.0.1 port $SWEB }
table <tweb> { 127.0.0.1 port $SWEB }
listen on 127.0.0.1 port $P1 {
	default forward to <web> check http "/health" code 200 \
	    host "app.$DOMAIN" $opts
}
listen on 127.0.0.1 port $P2 {
	default forward to <sweb> check https "/health" code 200 \
	    host "app.$DOMAIN" $opts
}
listen on 127.0.0.1 port $P3 {
	default forward to <tweb> \
	    check send "GET /health HTTP/1.0\r\n\r\n" expect "HTTP/1.0 200" \
	    with tls $opts
}
EOF2
start_daemon "$P1" "$P2" "$P3"

# The first checks of all three, however slow the check process is to
# start: under valgrind the TLS ones come seconds after the plain one.
n=0
until [ -s "$T/web.req" ] && grep -q 'host=-$' "$T/sweb.req" 2>/dev/null &&
    grep -q 'host=app' "$T/sweb.req"; do
	[ "$n" -lt 200 ] || break
	tick
	n=$((n + 1))
done
assert_log_lacks 'is down'
for f in web.req sweb.req; do
	grep -q "^GET /health HTTP/1\\.0 host=app\\.$DOMAIN\$" "$T/$f" ||
	    fail "no check request as expected in $f: $(head -n 3 "$T/$f")"
done
grep -q '^GET /health HTTP/1\.0 host=-$' "$T/sweb.req" ||
    fail "no send/expect request over TLS: $(sort -u "$T/sweb.req")"

log_mark
echo 503 >"$T/status"
for t in "web $WEB" "sweb $SWEB" "tweb $SWEB"; do
	set -- $t
	expect_log "table <$1>: server 127\\.0\\.0\\.1:$2 is down" 5
done
log_mark
echo 200 >"$T/status"
for t in "web $WEB" "sweb $SWEB" "tweb $SWEB"; do
	set -- $t
	expect_log "table <$1>: server 127\\.0\\.0\\.1:$2 is up" 5
done
