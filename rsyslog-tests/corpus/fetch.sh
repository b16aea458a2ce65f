#!/usr/bin/env bash
# Fetches real packet captures from Debian 12 source packages into a cache,
# once, and prints the cache folder on stdout.
#
#   fetch.sh            fetch if needed; prints the corpus folder
#
# Captures are never committed: they come from the upstream tarballs of
# tcpdump (tests/), wireshark (test/captures/), python-dpkt (examples/data/)
# and tcpflow (tests/), fetched by `apt-get source --tar-only` through a
# private deb-src list (the machine's apt sources are not touched).
#
# Environment: RSYSLOG_RS_CACHE (default $HOME/.cache/rsyslog-rs)
set -euo pipefail

SUITE=bookworm
MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# package -> folders inside its tarball that hold captures
declare -A DIRS=(
    [tcpdump]="tests"
    [wireshark]="test/captures"
    [python-dpkt]="examples/data"
    [tcpflow]="tests"
)
CACHE=${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}
CORPUS=$CACHE/corpus
STAMP=$CORPUS/.fetched-v1

say() { printf '[fetch.sh] %s\n' "$*" >&2; }
die() { printf '[fetch.sh] ERROR: %s\n' "$*" >&2; exit 1; }

if [[ -e $STAMP ]]; then
    echo "$CORPUS"
    exit 0
fi
mkdir -p "$CORPUS"
# shellcheck source=../private-apt.sh
. "$(dirname "$0")/../private-apt.sh"
say "apt-get update of a private deb-src list ($SUITE)"
private_apt "$SUITE" "$MIRROR" "$KEYRING" ||
    { tail -n 20 "$APTDIR/update.log" >&2; die "apt-get update failed"; }
for pkg in "${!DIRS[@]}"; do
    say "apt-get source --tar-only $pkg"
    (cd "$APTDIR/dl" && apt-get -q "${APT_OPTS[@]}" source --tar-only --download-only "$pkg") \
        >"$APTDIR/$pkg.log" 2>&1 </dev/null ||
        { tail -n 20 "$APTDIR/$pkg.log" >&2; die "apt-get source $pkg failed"; }
    tarball=$(ls "$APTDIR"/dl/"${pkg}"_*.orig.tar.* | head -n 1)
    rm -rf "$CORPUS/$pkg"
    mkdir -p "$CORPUS/$pkg"
    for d in ${DIRS[$pkg]}; do
        # Keep only capture files (pcap, pcapng, possibly compressed).
        tar -xf "$tarball" -C "$CORPUS/$pkg" --strip-components=1 --wildcards \
            "*/$d/*.pcap" "*/$d/*.pcapng" "*/$d/*.cap" "*/$d/*.pcap.gz" "*/$d/*.pcapng.gz" \
            2>/dev/null || true
    done
    n=$(find "$CORPUS/$pkg" -type f | wc -l)
    [[ $n -gt 0 ]] || die "no captures found in $tarball"
    say "$pkg: $n captures"
    rm -f "$APTDIR"/dl/*
done
# libpcap reads gzip-compressed captures only on some builds: unpack them.
find "$CORPUS" -name '*.gz' -exec gunzip -f {} + 2>/dev/null || true
touch "$STAMP"
echo "$CORPUS"
