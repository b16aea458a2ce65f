#!/usr/bin/env bash
# impcap throughput: our impcap and the C impcap read the same capture of
# at least a million real packets in ONE rsyslogd (8.2504, upstream/build.sh),
# each writing `%$!impcap%` with omfile; prints packets per second for both,
# the ratio ours/C, RSS and CPU seconds per thread.
#
#   impcap.sh [-n MIN_PACKETS] [-r RUNS] [-o DIR] [--order c,rs|rs,c] [--perf]
#
# How it measures (details in impcap_bench.py):
# - the capture: every Ethernet frame of the corpus captures (fetch.sh),
#   repeated until MIN_PACKETS (default 1000000); cached under
#   ${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}/bench/.
# - one daemon, two inputs: `input(type="impcap")` is the C module,
#   `input(type="rsimpcap")` ours (a copy named rsimpcap.so). Each is bound
#   to its own ruleset with its own, identically configured LinkedList
#   queue and omfile action, so each module's messages go through the same
#   path and neither waits behind the other's.
# - the modules run one after the other (default: C first): each reads a
#   named pipe that gets the capture only at its turn (impcap opens its file
#   at activation). The C module's pipe stays open at the end, so it
#   blocks instead of busy-spinning at end-of-file while ours runs; ours
#   is closed at the end (our module flushes its last batch at EOF, then
#   sleeps).
# - a module's time: from feeding its pipe until its output file stops
#   growing with all N lines in it (size polled every 5 ms). This is end to
#   end: decode, message, queue, template and omfile.
# - RSS of rsyslogd sampled during each phase; CPU seconds per thread from
#   /proc/<pid>/task/*/stat between start and end of each phase.
# - -r RUNS (default 3) repeats the daemon run, alternating which module
#   goes first, and ends with the median ratio (the machine may be shared).
# --perf records each phase with `perf record -g` into DIR/perf.*.data.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

min=1000000 out="" order="c,rs" perf="" runs=3
while [[ $# -gt 0 ]]; do
    case $1 in
    -n) min=$2; shift 2 ;;
    -o) out=$2; shift 2 ;;
    -r) runs=$2; shift 2 ;;
    --order) order=$2; shift 2 ;;
    --perf) perf=1; shift ;;
    *) sed -n '2,33p' "$0" >&2; exit 2 ;;
    esac
done

eval "$("$root/rsyslog-tests/upstream/build.sh" --print-env)"
(cd "$root" && cargo build --release -q -p impcap) >&2
theirs="$RSYSLOG_TREE/contrib/impcap/.libs/impcap.so"
[[ -f $theirs ]] || { echo "impcap.sh: no C impcap at $theirs" >&2; exit 2; }

corpus=$("$root/rsyslog-tests/corpus/fetch.sh")
cache=${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}/bench
mkdir -p "$cache"
pcap=$cache/impcap-$min-v1.pcap
if [[ ! -f $pcap ]]; then
    # Classic-pcap copies (pcapng through editcap), Ethernet frames only.
    conv=$(mktemp -d)
    trap 'rm -rf "$conv"' EXIT
    n=0
    while IFS= read -r f; do
        n=$((n + 1))
        editcap -F pcap "$f" "$conv/$n.pcap" >/dev/null 2>&1 || rm -f "$conv/$n.pcap"
    done < <(find "$corpus" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) | LC_ALL=C sort)
    python3 "$here/impcap_bench.py" mkcap "$pcap" "$min" $(ls "$conv"/*.pcap | sort -V)
    rm -rf "$conv"
fi

[[ -n $out ]] || out=$(mktemp -d /tmp/impcap-bench.XXXXXX)
mkdir -p "$out"
cp "$root/target/release/libimpcap.so" "$out/rsimpcap.so"
queue='queue.type="LinkedList" queue.size="20000" queue.dequeueBatchSize="1024" queue.workerThreads="1"'
cat >"$out/rsyslog.conf" <<EOF
global(workDirectory="$out")
module(load="$theirs")
module(load="$out/rsimpcap.so")
template(name="t" type="string" string="%\$!impcap%\n")
ruleset(name="c" $queue) { action(type="omfile" file="$out/c.out" template="t") }
ruleset(name="rs" $queue) { action(type="omfile" file="$out/rs.out" template="t") }
input(type="impcap" file="$out/c.fifo" ruleset="c")
input(type="rsimpcap" file="$out/rs.fifo" ruleset="rs")
action(type="omfile" file="$out/internal")
EOF

echo "capture: $pcap ($(stat -c %s "$pcap") bytes); machine: $(nproc) CPUs"
results=()
for ((run = 1; run <= runs; run++)); do
    rm -f "$out"/{c,rs}.{out,fifo} "$out"/perf.*.data "$out/internal"
    mkfifo "$out/c.fifo" "$out/rs.fifo"
    : >"$out/c.out"
    : >"$out/rs.out"
    echo "== run $run/$runs, order $order, load $(cut -d' ' -f1-3 /proc/loadavg)"
    BENCH_PERF=${perf:+$out/perf} python3 "$here/impcap_bench.py" run "$out" "$pcap" "$order" \
        "$RSYSLOGD" -n -f "$out/rsyslog.conf" -i "$out/pid" -M "$RSYSLOG_MODDIR" | tee "$out/report"
    r=$(sed -n 's/^RESULT //p' "$out/report")
    [[ -n $r ]] && results+=("$r")
    if grep -qi 'impcap' "$out/internal" 2>/dev/null; then
        echo "impcap.sh: the modules logged (see $out/internal):" >&2
        grep -i impcap "$out/internal" | head -5 >&2
    fi
    # Alternate which module goes first.
    order=$(echo "$order" | awk -F, '{ for (i = NF; i > 0; i--) printf "%s%s", $i, (i > 1 ? "," : "\n") }')
done
if [[ ${#results[@]} -gt 0 ]]; then
    printf '%s\n' "${results[@]}" | python3 -c '
import statistics, sys
rows = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
c = statistics.median(r[0] for r in rows)
o = statistics.median(r[1] for r in rows)
ratios = sorted(r[1] / r[0] for r in rows)
print(f"== median of {len(rows)} run(s): C {c:.0f} packets/s, ours {o:.0f} packets/s, "
      f"ratio ours/C {statistics.median(ratios):.2f}x (min {ratios[0]:.2f}x, max {ratios[-1]:.2f}x)")'
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); files in $out"
if [[ -n $perf ]]; then
    for m in c rs; do
        f="$out/perf.$m.data"
        [[ -f $f ]] || continue
        echo "== perf: top symbols while $m ran (self time, all threads) =="
        perf report -i "$f" --no-children -g none --sort comm,dso,symbol --percent-limit 1.5 --stdio 2>/dev/null |
            grep -v '^#' | grep -v '^$' | grep '%' | head -30
    done
fi
