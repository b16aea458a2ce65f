#!/usr/bin/env bash
# Build an rsyslog host with its upstream testbench, once, into a cache
# directory. Two hosts:
#   8.2504    rsyslog 8.2504.0 from Debian 13 "trixie"'s source package (default)
#   upstream  current upstream: the snapshot of rsyslog's main branch in
#             ../shared/upstream/ beside the checkout (8.2610.0.daily; a git
#             archive, so autoreconf runs first), or $RSYSLOG_UPSTREAM_TARBALL
#
#   build.sh [--host H]              build if needed (a second call is a no-op)
#   build.sh [--host H] --print-env  build if needed, then print `export` lines
#                         on stdout: RSYSLOGD, RSYSLOG_MODDIR, RSYSLOG_TREE
#   build.sh [--host H] --force      rebuild from scratch
#   build.sh [--host H] --tree       print the tree's path only (no build)
#
# Progress goes to stderr; stdout carries only the --print-env lines, so
#   eval "$(rsyslog-tests/upstream/build.sh --print-env)"
# works. Full logs: $CACHE/logs/. Never touches the machine's apt sources: the
# trixie deb-src entry lives in a private, temporary apt folder.
#
# Environment:
#   RSYSLOG_RS_CACHE   cache dir (default $HOME/.cache/rsyslog-rs)
#   RSYSLOG_RS_JOBS    make parallelism (default 3)
set -euo pipefail

HOST=8.2504
PRINT_ENV=0
FORCE=0
TREE_ONLY=0
while [ $# -gt 0 ]; do
    case $1 in
        --print-env) PRINT_ENV=1 ;;
        --force) FORCE=1 ;;
        --tree) TREE_ONLY=1 ;;
        --host) [ $# -ge 2 ] || { echo "--host needs 8.2504 or upstream" >&2; exit 2; }; HOST=$2; shift ;;
        --host=*) HOST=${1#--host=} ;;
        -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
        *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//' >&2; echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
HERE=$(cd "$(dirname "$0")" && pwd)

VERSION=8.2504.0
DEB_SUITE=trixie
DEB_MIRROR=http://deb.debian.org/debian
# debian-archive-keyring (Debian 12, 2023.3+deb12u1 and later) already
# contains the 13/trixie archive and release keys.
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

CONFIGURE_OPTS=(
    --enable-testbench --enable-imdiag --enable-impcap --enable-gnutls
    --enable-openssl --enable-impstats --enable-omstdout --enable-imptcp
    --enable-mmjsonparse --disable-liblogging-stdlog --disable-default-tests
)
BUILD_DEPS=(
    autoconf automake libtool pkg-config bison flex make gcc
    zlib1g-dev uuid-dev libzstd-dev libgnutls28-dev libssl-dev
    libcurl4-openssl-dev libgcrypt20-dev libestr-dev libfastjson-dev
    libpcap-dev faketime
)
UPSTREAM_TARBALL=
case $HOST in
    8.2504|2504) HOST=8.2504 ;;
    upstream)
        UPSTREAM_TARBALL=${RSYSLOG_UPSTREAM_TARBALL:-}
        if [ -z "$UPSTREAM_TARBALL" ]; then
            for f in "$HERE"/../../../shared/upstream/rsyslog-*.tar.gz; do
                [ -f "$f" ] && UPSTREAM_TARBALL=$(cd "$(dirname "$f")" && pwd)/$(basename "$f")
            done
        fi
        [ -n "$UPSTREAM_TARBALL" ] && [ -f "$UPSTREAM_TARBALL" ] ||
            { echo "[build.sh] ERROR: no upstream snapshot (../shared/upstream/rsyslog-*.tar.gz beside the checkout, or RSYSLOG_UPSTREAM_TARBALL)" >&2; exit 1; }
        # rsyslog-8.2610.0.daily-ee72adc.tar.gz -> tree rsyslog-8.2610.0.daily
        VERSION=$(basename "$UPSTREAM_TARBALL" .tar.gz)
        VERSION=${VERSION#rsyslog-}
        VERSION=${VERSION%-*}
        # impstats-push (on by default upstream) needs protobuf-c and snappy: not needed here.
        CONFIGURE_OPTS+=(--enable-imfile --enable-libzstd --disable-impstats-push)
        BUILD_DEPS+=(autoconf-archive python3)
        ;;
    *) echo "[build.sh] ERROR: --host must be 8.2504 or upstream (got '$HOST')" >&2; exit 2 ;;
esac
# Stamp content: anything that changes it forces a rebuild.
STAMP_KEY="rsyslog-rs-upstream v1 $VERSION ${CONFIGURE_OPTS[*]}"
[ -z "$UPSTREAM_TARBALL" ] || STAMP_KEY="$STAMP_KEY $(basename "$UPSTREAM_TARBALL")"

CACHE=${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}
TREE=$CACHE/rsyslog-$VERSION
STAMP=$TREE/.rsyslog-rs-built
SRCDIR=$CACHE/src
LOGDIR=$CACHE/logs/$HOST
ORIG=$SRCDIR/rsyslog_$VERSION.orig.tar.gz
JOBS=${RSYSLOG_RS_JOBS:-3}

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C

say() { printf '[build.sh %s] %s\n' "$HOST" "$*" >&2; }
die() { printf '[build.sh %s] ERROR: %s\n' "$HOST" "$*" >&2; exit 1; }

if [ "$TREE_ONLY" = 1 ]; then
    echo "$TREE"
    exit 0
fi

print_env() {
    local dirs=("$TREE/runtime/.libs" "$TREE/.libs")
    # Support plugins first; the two modules we replace (imtcp, impcap) last,
    # so a module given by plain name prefers anything listed earlier.
    local p
    for p in imdiag omstdout impstats imptcp mmjsonparse imtcp; do
        [ -d "$TREE/plugins/$p/.libs" ] && dirs+=("$TREE/plugins/$p/.libs")
    done
    [ -d "$TREE/contrib/impcap/.libs" ] && dirs+=("$TREE/contrib/impcap/.libs")
    local IFS=:
    printf 'export RSYSLOGD=%q\n' "$TREE/tools/rsyslogd"
    printf 'export RSYSLOG_MODDIR=%q\n' "${dirs[*]}"
    printf 'export RSYSLOG_TREE=%q\n' "$TREE"
}

is_built() {
    [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$STAMP_KEY" ] &&
        [ -x "$TREE/tools/rsyslogd" ] && [ -x "$TREE/tests/tcpflood" ]
}

mkdir -p "$CACHE" "$LOGDIR"

# Fast path (no lock needed: the stamp is written last, atomically).
if [ "$FORCE" = 0 ] && is_built; then
    say "rsyslog $VERSION already built in $TREE ($(sed -n 2p "$STAMP"))"
    [ "$PRINT_ENV" = 1 ] && print_env
    exit 0
fi

# Serialize concurrent builders (run.sh, the Rust testbench, CI steps).
exec 9>"$CACHE/.build-$HOST.lock"
if ! flock -n 9; then
    say "another build.sh is running; waiting for $CACHE/.build-$HOST.lock"
    flock 9
fi
if [ "$FORCE" = 0 ] && is_built; then
    say "rsyslog $VERSION was built by a concurrent build.sh in $TREE"
    [ "$PRINT_ENV" = 1 ] && print_env
    exit 0
fi

T0=$(date +%s)
SUDO=()
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    fi
fi

# ---- 1. build dependencies -------------------------------------------------
missing=()
for p in "${BUILD_DEPS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing missing build dependencies: ${missing[*]}"
    if [ "$(id -u)" != 0 ] && [ ${#SUDO[@]} = 0 ]; then
        die "not root and no passwordless sudo; install as root: apt-get install ${missing[*]}"
    fi
    say "apt-get update (machine's own sources)"
    "${SUDO[@]}" apt-get -q -o DPkg::Lock::Timeout=600 update >"$LOGDIR/apt-update.log" 2>&1 ||
        { tail -n 20 "$LOGDIR/apt-update.log" >&2; die "apt-get update failed"; }
    "${SUDO[@]}" apt-get -q -y -o DPkg::Lock::Timeout=600 --no-install-recommends install "${missing[@]}" \
        </dev/null >"$LOGDIR/apt-install.log" 2>&1 ||
        { tail -n 30 "$LOGDIR/apt-install.log" >&2; die "apt-get install failed"; }
    say "build dependencies installed"
else
    say "build dependencies present"
fi

# ---- 2. source: rsyslog_$VERSION.orig.tar.gz from trixie's deb-src --------
if [ -n "$UPSTREAM_TARBALL" ]; then
    ORIG=$UPSTREAM_TARBALL
    say "source: $ORIG"
elif [ -s "$ORIG" ]; then
    say "source tarball cached: $ORIG"
else
    [ -r "$KEYRING" ] || die "$KEYRING missing (install debian-archive-keyring)"
    mkdir -p "$SRCDIR"
    # shellcheck source=../private-apt.sh
    . "$(dirname "$0")/../private-apt.sh"
    say "apt-get update of a private deb-src list ($DEB_MIRROR $DEB_SUITE main, signed-by $KEYRING)"
    private_apt "$DEB_SUITE" "$DEB_MIRROR" "$KEYRING" ||
        { cp "$APTDIR/update.log" "$LOGDIR/apt-src-update.log"; tail -n 20 "$LOGDIR/apt-src-update.log" >&2; die "private apt-get update failed"; }
    cp "$APTDIR/update.log" "$LOGDIR/apt-src-update.log"
    if grep -qE '^(W|E): .*(NO_PUBKEY|not signed|EXPKEYSIG|InRelease.*invalid|Failed)' "$LOGDIR/apt-src-update.log"; then
        cat "$LOGDIR/apt-src-update.log" >&2
        die "signature/download problem in private apt-get update"
    fi
    # Pick the trixie source version of upstream $VERSION (e.g. 8.2504.0-1+deb13u2).
    SRCVER=$(apt-cache "${APT_OPTS[@]}" showsrc rsyslog 2>/dev/null |
        sed -n 's/^Version: //p' | grep -E "^$VERSION-" | head -n1 || true)
    [ -n "$SRCVER" ] || die "no rsyslog $VERSION-* source in $DEB_SUITE (available: $(apt-cache "${APT_OPTS[@]}" showsrc rsyslog 2>/dev/null | sed -n 's/^Version: //p' | tr '\n' ' '))"
    say "apt-get source --download-only rsyslog=$SRCVER"
    (cd "$APTDIR/dl" && apt-get -q "${APT_OPTS[@]}" source --download-only "rsyslog=$SRCVER") \
        >"$LOGDIR/apt-source.log" 2>&1 </dev/null ||
        { tail -n 20 "$LOGDIR/apt-source.log" >&2; die "apt-get source failed"; }
    [ -s "$APTDIR/dl/$(basename "$ORIG")" ] || die "apt-get source did not produce $(basename "$ORIG")"
    # apt verified the files against the signed Sources index (via the .dsc).
    cp "$APTDIR/dl/"* "$SRCDIR/"
    cp "$APTDIR/dl/$(basename "$ORIG")" "$ORIG.tmp" && mv "$ORIG.tmp" "$ORIG"
    rm -rf "$APTDIR"; trap - EXIT
    say "downloaded $(basename "$ORIG") ($(du -k "$ORIG" | cut -f1) KiB, sha256 $(sha256sum "$ORIG" | cut -c1-16)...)"
fi

# ---- 3. unpack ------------------------------------------------------------
say "unpacking into $TREE"
rm -rf "$TREE"
tar --no-same-owner -xzf "$ORIG" -C "$CACHE"
[ -d "$TREE" ] || die "unpacking $ORIG did not give $TREE"
if [ ! -x "$TREE/configure" ]; then
    # A git archive (the upstream snapshot) has no generated configure.
    say "autoreconf -fvi  (log: $LOGDIR/autoreconf.log)"
    (cd "$TREE" && autoreconf -fvi) </dev/null >"$LOGDIR/autoreconf.log" 2>&1 ||
        { tail -n 25 "$LOGDIR/autoreconf.log" >&2; die "autoreconf failed (see $LOGDIR/autoreconf.log)"; }
fi
[ -x "$TREE/configure" ] || die "unpacked tree has no configure script"

# ---- 4. configure -----------------------------------------------------------
say "configure ${CONFIGURE_OPTS[*]}  (log: $LOGDIR/configure.log)"
if ! (cd "$TREE" && ./configure "${CONFIGURE_OPTS[@]}") </dev/null >"$LOGDIR/configure.log" 2>&1; then
    tail -n 25 "$LOGDIR/configure.log" >&2
    die "configure failed (see $LOGDIR/configure.log and $TREE/config.log)"
fi

# ---- 5. make ----------------------------------------------------------------
say "make -j$JOBS  (log: $LOGDIR/make.log; typically 0.5-5 min on 2 cores)"
if ! make -C "$TREE" -j"$JOBS" </dev/null >"$LOGDIR/make.log" 2>&1; then
    grep -nE 'error|Error' "$LOGDIR/make.log" | tail -n 20 >&2 || true
    tail -n 15 "$LOGDIR/make.log" >&2
    die "make failed (see $LOGDIR/make.log)"
fi

# ---- 6. testbench helpers (tcpflood, chkseq, diagtalker, ...) -------------
say "building testbench helpers: make -C tests check TESTS=  (log: $LOGDIR/make-check-helpers.log)"
if ! make -C "$TREE/tests" -j"$JOBS" check TESTS= </dev/null >"$LOGDIR/make-check-helpers.log" 2>&1; then
    tail -n 25 "$LOGDIR/make-check-helpers.log" >&2
    die "building test helpers failed (see $LOGDIR/make-check-helpers.log)"
fi

# ---- 7. sanity --------------------------------------------------------------
for f in tools/rsyslogd runtime/.libs/lmtcpsrv.so runtime/.libs/lmnsd_ptcp.so \
         plugins/imtcp/.libs/imtcp.so plugins/imdiag/.libs/imdiag.so \
         contrib/impcap/.libs/impcap.so plugins/impstats/.libs/impstats.so \
         tests/tcpflood tests/chkseq tests/diagtalker tests/msleep; do
    [ -e "$TREE/$f" ] || die "expected build product missing: $TREE/$f"
done

T1=$(date +%s)
printf '%s\nbuilt %s in %ss\n' "$STAMP_KEY" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$((T1 - T0))" >"$STAMP.tmp"
mv "$STAMP.tmp" "$STAMP"
say "done: rsyslog $VERSION built in $TREE in $((T1 - T0))s"
[ "$PRINT_ENV" = 1 ] && print_env
exit 0
