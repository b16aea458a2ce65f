#!/usr/bin/env bash
# Seeds fuzz/corpus/decode_packet with the frames of the real captures that
# rsyslog-tests/corpus/fetch.sh caches (Ethernet link type only), one file
# per distinct frame, named by its SHA-1. The corpus is not committed.
#
#   fuzz/seed.sh [CORPUS_DIR]    (default: the folder fetch.sh prints)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:-$("$here/../rsyslog-tests/corpus/fetch.sh")}
out=$here/corpus/decode_packet
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# libpcap-format copies (editcap turns pcapng into pcap; files mixing link
# types, or unreadable ones, are skipped).
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    editcap -F pcap "$f" "$tmp/$n.pcap" >/dev/null 2>&1 || rm -f "$tmp/$n.pcap"
done < <(find "$src" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0)
python3 - "$out" "$tmp"/*.pcap <<'PY'
import hashlib, os, struct, sys
out, files = sys.argv[1], sys.argv[2:]
new = frames = 0
for path in files:
    with open(path, 'rb') as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            continue
        magic = hdr[:4]
        if magic in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1'):
            end = '<'
        elif magic in (b'\xa1\xb2\xc3\xd4', b'\xa1\xb2\x3c\x4d'):
            end = '>'
        else:
            continue
        if struct.unpack(end + 'I', hdr[20:24])[0] & 0x0fffffff != 1:  # LINKTYPE_ETHERNET
            continue
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                break
            caplen = struct.unpack(end + 'I', rec[8:12])[0]
            data = f.read(caplen)
            if len(data) < caplen:
                break
            frames += 1
            name = os.path.join(out, hashlib.sha1(data).hexdigest())
            if not os.path.exists(name):
                with open(name, 'wb') as o:
                    o.write(data)
                new += 1
print(f"seed.sh: {frames} Ethernet frames from {len(files)} captures, {new} new seeds in {out}")
PY
