#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian 12 machine
# (apt-get as root; the Rust toolchain must already be there). Idempotent:
# does nothing when everything is present.
set -euo pipefail

# rsyslog-gnutls, rsyslog-openssl: the C lmnsd_gtls/lmnsd_ossl drivers (TLS oracle and
# omfwd sender); gnutls-bin, openssl: gnutls-cli, s_client, `openssl verify` in the TLS tests;
# zstd: the command-line sender of the stream decompression tests.
PKGS=(rsyslog rsyslog-gnutls rsyslog-openssl gnutls-bin openssl zstd libpcap-dev pkg-config gcc make binutils bsdutils iproute2 ca-certificates valgrind)

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "[setup] installing: ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then
        echo "[setup] ERROR: need root for apt-get (missing: ${missing[*]})" >&2
        exit 2
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
fi
command -v cargo >/dev/null 2>&1 || { echo "[setup] ERROR: cargo not found (install the Rust toolchain)" >&2; exit 2; }
echo "[setup] ok: $(/usr/sbin/rsyslogd -v | head -1), $(cargo --version)" >&2
