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
# Which private keys are in the memory of which processes.
#
# usage: python3 keyscan.py KEY.pem ... -- PID ...
#
# For each EC key: every full base64 line of its PEM body, its DER as
# PKCS#8 and as SEC1, and its private scalar in both byte orders (a
# bignum's words are little-endian here).  For each process, read
# through /proc, one line: "PID scanned=BYTES keys=N,N,..." with the
# numbers (from 1, in the order given) of the keys found, or "none".

import subprocess
import sys


def der(path, cmd):
    return subprocess.run(["openssl", cmd, "-in", path, "-outform", "DER"],
                          capture_output=True, check=True).stdout


def scalar(path):
    out = subprocess.run(["openssl", "ec", "-in", path, "-noout", "-text"],
                         capture_output=True, text=True, check=True).stdout
    h, on = "", False
    for l in out.splitlines():
        if l.startswith("priv:"):
            on = True
            continue
        if l.startswith("pub:"):
            on = False
        if on:
            h += l.strip().replace(":", "")
    # 33 bytes when a leading zero keeps the number positive.
    return bytes.fromhex(h)[-32:]


def needles(path):
    n = [l.encode() for l in open(path).read().splitlines()
         if len(l) == 64 and not l.startswith("-----")]
    raw = scalar(path)
    return n + [der(path, "pkey"), der(path, "ec"), raw, raw[::-1]]


def regions(pid):
    with open("/proc/%s/maps" % pid) as maps, \
            open("/proc/%s/mem" % pid, "rb", 0) as mem:
        for line in maps:
            f = line.split()
            if f[1][0] != "r" or (len(f) > 5 and f[5] in ("[vvar]",
                    "[vsyscall]", "[vvar_vclock]")):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            # A sanitizer's shadow memory is reserved by the terabyte
            # and never holds program data: skip such reservations.
            if hi - lo > (1 << 30):
                continue
            try:
                mem.seek(lo)
                yield mem.read(hi - lo)
            except (OSError, ValueError, OverflowError, MemoryError):
                continue


def main():
    sep = sys.argv.index("--")
    keys = [needles(k) for k in sys.argv[1:sep]]
    for pid in sys.argv[sep + 1:]:
        found, scanned = set(), 0
        for data in regions(pid):
            scanned += len(data)
            for i, ns in enumerate(keys):
                if i + 1 not in found and any(x in data for x in ns):
                    found.add(i + 1)
        print("%s scanned=%d keys=%s" % (pid, scanned,
              ",".join(str(i) for i in sorted(found)) or "none"))


main()
