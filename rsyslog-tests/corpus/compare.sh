#!/usr/bin/env bash
# Reads capture files with the C impcap and with ours, both in rsyslog
# 8.2504's rsyslogd (built by upstream/build.sh), and diffs what they write.
#
#   compare.sh [-o DIR] FILE.pcap...
#
# Each file becomes one input with tag "f<N>"; every packet is written as
#   f<N><TAB>%$!impcap%<TAB>%$!data%
# to DIR/c.out and DIR/rs.out (sorted by file, packet order kept).
# Exit 0 when they are identical, 1 when they differ (the diff is printed),
# 2 on a harness error. A crash of the C daemon is reported as such.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

out=""
if [[ ${1:-} == -o ]]; then
    out=$2
    shift 2
fi
[[ $# -gt 0 ]] || { sed -n '2,12p' "$0" >&2; exit 2; }
eval "$("$root/rsyslog-tests/upstream/build.sh" --print-env)"
(cd "$root" && cargo build --release -q -p impcap) >&2
ours="$root/target/release/libimpcap.so"
theirs="$RSYSLOG_TREE/contrib/impcap/.libs/impcap.so"
[[ -n $out ]] || out=$(mktemp -d /tmp/impcap-compare.XXXXXX)
mkdir -p "$out"

run() { # which module-path
    local which=$1 mod=$2 d="$out/$1"
    rm -rf "$d"
    mkdir -p "$d"
    {
        echo "global(workDirectory=\"$d\")"
        echo "module(load=\"$mod\")"
        echo 'template(name="t" type="string" string="%syslogtag%\t%$!impcap%\t%$!data%\n")'
        local i=0 f
        for f in "${files[@]}"; do
            echo "input(type=\"impcap\" file=\"$f\" tag=\"f$i\")"
            i=$((i + 1))
        done
        echo "if \$inputname == \"impcap\" then { action(type=\"omfile\" file=\"$d/raw\" template=\"t\") stop }"
        echo "action(type=\"omfile\" file=\"$d/internal\")"
    } >"$d/rsyslog.conf"
    : >"$d/raw"
    "$RSYSLOGD" -n -f "$d/rsyslog.conf" -i "$d/pid" -M "$RSYSLOG_MODDIR" >"$d/stderr" 2>&1 &
    local pid=$! last=-1 n same=0
    # Files are read in well under a second; wait until the output stops growing.
    while :; do
        sleep 0.5
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" || echo "compare.sh: $which rsyslogd exited with status $? (crash?)" >&2
            break
        fi
        n=$(stat -c %s "$d/raw")
        if [[ $n == "$last" ]]; then
            same=$((same + 1))
            [[ $same -ge 3 ]] && break
        else
            same=0
            last=$n
        fi
    done
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    # Group by file (stable, so packet order within a file is kept).
    sort -s -t$'\t' -k1,1 "$d/raw" >"$out/$which.out"
}

files=()
for f in "$@"; do files+=("$(realpath "$f")"); done
run c "$theirs"
run rs "$ours"
for i in "${!files[@]}"; do echo "f$i ${files[$i]}"; done >"$out/files"
if diff -u "$out/c.out" "$out/rs.out" >"$out/diff"; then
    echo "identical: $(wc -l <"$out/c.out") packets from $# files ($out)"
else
    cat "$out/diff"
    echo "DIFFERENT: see $out/diff (file index in $out/files)"
    exit 1
fi
