# Sourced by upstream/build.sh and corpus/fetch.sh: a private apt folder with
# one deb-src entry, so that `apt-get source` works without touching the
# machine's apt sources.
#
#   private_apt SUITE MIRROR KEYRING
# sets APTDIR (removed on exit; downloads go to $APTDIR/dl) and APT_OPTS
# (to pass to apt-get/apt-cache), then runs `apt-get update` on it; its log
# is $APTDIR/update.log. Returns non-zero when the update fails.
private_apt() {
    local suite=$1 mirror=$2 keyring=$3
    APTDIR=$(mktemp -d "${TMPDIR:-/tmp}/rsyslog-rs-apt.XXXXXX")
    trap 'rm -rf "$APTDIR"' EXIT
    chmod 755 "$APTDIR"
    mkdir -p "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/dl"
    cat >"$APTDIR/$suite-src.sources" <<EOF2
Types: deb-src
URIs: $mirror
Suites: $suite
Components: main
Signed-By: $keyring
EOF2
    # Let apt's unprivileged _apt downloader write into our private folder
    # (avoids the "Download is performed unsandboxed" warning when root).
    if [ "$(id -u)" = 0 ] && id _apt >/dev/null 2>&1; then
        chown _apt "$APTDIR/lists/partial" "$APTDIR/cache/archives/partial" "$APTDIR/dl"
    fi
    APT_OPTS=(
        -o "Dir::Etc::SourceList=/dev/null"
        -o "Dir::Etc::SourceParts=$APTDIR"
        -o "Dir::State::Lists=$APTDIR/lists"
        -o "Dir::Cache=$APTDIR/cache"
    )
    apt-get -q "${APT_OPTS[@]}" update >"$APTDIR/update.log" 2>&1
}
