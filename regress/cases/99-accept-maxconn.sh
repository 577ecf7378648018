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
# maxconn holds over all the accept processes together: one address,
# whose connections all reach one accept process, may take every place,
# and then another address, which reaches the other, gets none.
# 127.0.0.1 and 127.0.0.2 hash to different accept processes of two.
#
# client:	python3 holding four idle TCP connections from 127.0.0.1,
#		then trying one from 127.0.0.2; curl with SNI "ok" from
#		127.0.0.2 once they are gone
# sniproxyd:	accept 2, maxconn 4, maxconn per source 100, timeout
#		inspect 30s, match tls sni "ok"
# servers:	openssl s_server "ok"
# expect:	all four from 127.0.0.1 stay open (each accept process's
#		half of the limit would have refused two); the one from
#		127.0.0.2 is closed at once and "maxconn reached" is
#		logged; once the four close, curl from 127.0.0.2 is
#		answered

# shellcheck source=regress/hostile.sh
. "$TOP/regress/hostile.sh"

hostile_start 30s "accept 2" "maxconn 4" <<EOF
maxconn per source 100
match tls sni "ok.$DOMAIN" forward to <ok>
EOF
assert_eq 2 "$(procs_titled "$DAEMON_PID" accept | wc -w)" \
    "accept processes"

cat >"$T/hold.py" <<'EOF'
import os, socket, sys, time
port, state = int(sys.argv[1]), sys.argv[2]
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(0.5)
    return s
def closed(s):
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
held = [conn("127.0.0.1") for i in range(4)]
time.sleep(0.5)
open4 = sum(1 for s in held if not closed(s))
other = conn("127.0.0.2")
other.settimeout(5)
with open(state + ".tmp", "w") as f:
    f.write("%d %d\n" % (open4, closed(other)))
os.rename(state + ".tmp", state)
for s in held + [other]:
    s.close()
EOF
python3 "$T/hold.py" "$P" "$T/state" >"$T/hold.out" 2>&1 &
holder=$!
track "$holder"
wait_ready "$T/state" "$holder" "$T/hold.out" "the clients" \
    "the clients did not connect in 30 s"
read -r open4 closed <"$T/state"
assert_eq 4 "$open4" "connections from 127.0.0.1 left open"
assert_eq 1 "$closed" "the one from 127.0.0.2 closed at once"
wait "$holder" || fail "the clients failed: $(cat "$T/hold.out")"
expect_log "maxconn reached, closing new connections"

n=50
until body=$(FETCH_OPTS="--interface 127.0.0.2" fetch "ok.$DOMAIN" "$P" \
    2>/dev/null); do
	[ "$n" -gt 0 ] || fail "curl from 127.0.0.2 not answered in 5 s" \
	    "once the four closed"
	tick
	n=$((n - 1))
done
assert_eq "backend ok" "$body" "answer from 127.0.0.2"
