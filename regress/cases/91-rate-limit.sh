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
# maxconn rate: a client address that opens connections faster than the
# rate is refused, each refusal logged with its address for fail2ban,
# while another address is served.
#
# client:	a Python program opening 10 silent connections one after the
#		other from 127.0.0.1, each given 0.5 s to be closed by
#		sniproxyd; then curl with SNI "ok" from 127.0.0.2 and from
#		127.0.0.1
# sniproxyd:	maxconn rate 5/30 on the listener, timeout inspect 30s,
#		match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	the first 5 held, the last 5 closed at once without a byte;
#		5 connection lines "end rate-limit" for 127.0.0.1, each
#		matched by the fail2ban filter of etc/examples; curl from
#		127.0.0.2 answered, curl from 127.0.0.1 refused; the same
#		sniproxyd processes from start to end

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

hostile_start 30s <<EOF2
maxconn rate 5/30
match tls sni "ok.$DOMAIN" forward to <ok>
EOF2

cat >"$T/rate.py" <<'EOF2'
import socket, sys

port = int(sys.argv[1])

def closed(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(1) == b""
    except socket.timeout:
        return False
    except OSError:
        return True

held, verdicts = [], []
for i in range(10):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    if closed(s, 0.5):
        verdicts.append("refused")
        s.close()
    else:
        verdicts.append("held")
        held.append(s)
print(" ".join(verdicts))
for s in held:
    s.close()
EOF2
out=$(timeout 30 python3 "$T/rate.py" "$P" 2>&1) || fail "the client: $out"
assert_eq "held held held held held refused refused refused refused refused" \
    "$out" "connections from 127.0.0.1"

L=127\\.0\\.0\\.1:$P
expect_log "^127\\.0\\.0\\.1:[0-9]+ on $L rule none unknown to - .* end rate-limit$"
n=50
while [ "$(log_count "end rate-limit$")" -lt 5 ]; do
	[ "$n" -gt 0 ] || fail "$(log_count "end rate-limit$") of 5 refusals logged"
	tick
	n=$((n - 1))
done
expect_log "maxconn rate reached"

# The filter's own expression, with what fail2ban puts around it.
log_since_mark | grep 'end rate-limit$' >"$T/refused.log"
python3 - "$TOP/etc/examples/fail2ban/filter.d/sniproxyd.conf" \
    "$T/refused.log" >"$T/f2b.out" 2>&1 <<'EOF2' ||
import configparser, re, sys

cp = configparser.RawConfigParser()
cp.read(sys.argv[1])
d = cp["Definition"]
rx = d["failregex"].replace("%(__prefix_line)s", "")
rx = rx.replace("%(sniproxyd_reasons)s", d["sniproxyd_reasons"])
rx = rx.replace("<ADDR>", r"(?P<addr>[0-9.]+|\[[0-9a-fA-F:.]+\])")
n = 0
for line in open(sys.argv[2]):
    m = re.match(rx, line.rstrip("\n"))
    if not m or m.group("addr") != "127.0.0.1":
        sys.exit("not matched: " + line)
    n += 1
print(n)
EOF2
    fail "the fail2ban filter: $(cat "$T/f2b.out")"
[ "$(cat "$T/f2b.out")" -ge 5 ] ||
    fail "the fail2ban filter matched $(cat "$T/f2b.out") lines"

body=$(FETCH_OPTS="--interface 127.0.0.2" fetch "ok.$DOMAIN" "$P") ||
    fail "curl from 127.0.0.2 failed"
assert_eq "backend ok" "$body" "answer to 127.0.0.2"
if body=$(fetch "ok.$DOMAIN" "$P" 2>"$T/curl.err"); then
	fail "curl from 127.0.0.1 got an answer over the rate: $body"
fi
same_procs "$before"
