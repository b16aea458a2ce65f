#!/usr/bin/env bash
# Seeds fuzz/corpus/decompress_frame with a few small inputs for the
# decompress_frame target: plaintexts the target compresses itself (zlib and
# zstd, with and without the end marker, octet-counted and LF framing) and
# raw zlib/zstd streams (Python's zlib, the zstd command). The corpus is not
# committed.
#
#   fuzz/seed-decompress.sh [CORPUS_DIR]    (default: fuzz/corpus/decompress_frame)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus/decompress_frame}
mkdir -p "$out"
command -v zstd >/dev/null || { echo "seed-decompress.sh: needs the zstd command" >&2; exit 1; }
python3 - "$out" <<'PY'
import hashlib, os, subprocess, sys, zlib
out = sys.argv[1]

# The 24-byte header of fuzz_targets/decompress_frame.rs (Setup::parse).
ZSTD, COMPRESS, END, TRUNC, OCTET, NOLF, ADDTL, DISCARD = 1, 2, 4, 8, 16, 32, 64, 128
MUTATE, SPLIT, INTERRUPT, NOFINISH = 1, 2, 4, 8
def header(a, ratio=0, per_receive=0, budget=0, addtl=0, max_line=255, max_frame=199,
           level_window=0x36, chunks=(255, 255, 255, 255), slices=(255, 255), flush=0,
           trunc=0, muts=((0, 0), (0, 0)), b=0):
    h = bytes([a, ratio, per_receive, budget, addtl, max_line, max_frame, level_window])
    h += bytes(chunks) + bytes(slices) + bytes([flush]) + trunc.to_bytes(2, 'little')
    for off, x in muts:
        h += off.to_bytes(2, 'little') + bytes([x])
    h += bytes([b])
    assert len(h) == 24
    return h

lines = b''.join(b'<13>app: message number %d with some text\n' % i for i in range(20))
octet = b''.join(b'%d %s' % (len(m), m) for m in (b'<13>app: one', b'<13>app: two\nlines', b'<13>app: three'))
nul = b'<13>app: a\x00<13>app: b\x00'

def zlib_stream(data, parts=2, level=6, end=True):
    c = zlib.compressobj(level)
    step = max(1, len(data) // parts)
    w = b''
    for i in range(0, len(data), step):
        w += c.compress(data[i:i + step]) + c.flush(zlib.Z_SYNC_FLUSH)
    return w + (c.flush() if end else b'')

def zstd_stream(data, level=3):
    return subprocess.run(['zstd', '-q', '-c', '-%d' % level], input=data, capture_output=True, check=True).stdout

seeds = [
    # plaintexts the target compresses
    header(COMPRESS | END) + lines,
    header(COMPRESS | END, chunks=(3, 10, 255, 1), slices=(7, 255), flush=4) + lines,
    header(COMPRESS) + lines,
    header(COMPRESS | END | OCTET) + octet,
    header(COMPRESS | END | NOLF | ADDTL) + nul,
    header(COMPRESS | END | ZSTD) + lines,
    header(COMPRESS | END | ZSTD, chunks=(0, 5, 255, 2), slices=(0, 254), flush=3, level_window=0x02) + lines,
    header(COMPRESS | ZSTD | OCTET) + octet,
    header(COMPRESS | END | ZSTD | TRUNC, trunc=3) + lines,
    header(COMPRESS | END, muts=((40, 0x5a), (0, 0)), b=MUTATE) + lines,
    header(COMPRESS | END, ratio=1, per_receive=3, max_line=20) + lines,
    header(COMPRESS | END | ZSTD, ratio=4, per_receive=6, budget=3) + lines,
    header(COMPRESS | END | ZSTD, budget=2, b=SPLIT | INTERRUPT) + lines,
    # raw streams
    header(0) + zlib_stream(lines),
    header(0, chunks=(1, 2, 3, 4), slices=(0, 1)) + zlib_stream(lines, parts=5, level=9),
    header(0) + zlib_stream(lines, end=False),
    header(0) + zlib_stream(lines) + b'<13>app: after the end\n',
    header(OCTET) + zlib_stream(octet),
    header(0) + zlib_stream(b'\0' * 100000, level=9),
    header(ZSTD) + zstd_stream(lines),
    header(ZSTD, chunks=(1, 2, 3, 4), slices=(0, 1)) + zstd_stream(lines, level=19),
    header(ZSTD | OCTET) + zstd_stream(octet),
    header(ZSTD) + zstd_stream(b'\0' * 100000),
    header(ZSTD) + zstd_stream(lines) + zstd_stream(lines),
    header(0) + lines,
]
new = 0
for s in seeds:
    name = os.path.join(out, hashlib.sha1(s).hexdigest())
    if not os.path.exists(name):
        with open(name, 'wb') as f:
            f.write(s)
        new += 1
print(f"seed-decompress.sh: {len(seeds)} seeds, {new} new in {out}")
PY
