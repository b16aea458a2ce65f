#!/usr/bin/env bash
# Regenerate imtcp-plain.list: every upstream rsyslog 8.2504 testbench script
# that `make check` runs (tests/Makefile.am TESTS), that loads imtcp, and that
# needs neither TLS nor compression nor a feature our build.sh tree lacks.
# With --tls: imtcp-tls.list instead, the same derivation but keeping only the
# TLS scripts (step 4's TLS rule inverted), plus the TLS scripts that load
# imtcp but that Makefile.am does not list (minus TLS_NOT_RUNNABLE below).
#
#   find-imtcp-tests.sh [--tls] [--explain]   print the list on stdout
#   find-imtcp-tests.sh [--tls] --write       (re)write imtcp-plain.list
#                                             (imtcp-tls.list) next to this script
#
# --explain prints, on stderr, every imtcp-loading script that was left out
# and why. Needs the tree built by build.sh (it reads the tree's
# tests/Makefile.am, tests/*.sh, config.status and the built plugins).
#
# Derivation:
#  1. tests/Makefile.am is parsed for `TESTS =`/`TESTS +=` blocks, keeping the
#     automake conditionals (if/else/endif) each name sits under.
#  2. A name is kept if every conditional is true in our build (config.status
#     of the tree), except ENABLE_DEFAULT_TESTS, which build.sh switches off
#     only so that a plain `make check` stays short: it counts as true.
#  3. "Loads imtcp": the script, or a script it sources (`. $srcdir/X.sh`,
#     `source ${srcdir:-.}/X.sh`, other than diag.sh), or a testsuites/ file
#     it names, contains plugins/imtcp/ (module(load=...) or legacy $ModLoad),
#     or calls diag.sh's setvar_RS_HOSTNAME (which starts an imtcp instance).
#  4. Left out: TLS (tls, gtls, ossl, openssl, mbedtls, streamdriver, anon
#     auth modes, x509), compression (compression.mode, zlib, gzip, zip level,
#     zstd, omfwd's @@(zN)), and any module (../plugins/X/.libs/X,
#     ../contrib/X/.libs/X) whose .so the tree did not build.
# shellcheck disable=SC2013  # names and paths here never contain spaces
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WRITE=0 EXPLAIN=0 TLS=0 ALL=0 HOST=8.2504
while [ $# -gt 0 ]; do
    case $1 in
        --write) WRITE=1 ;;
        --explain) EXPLAIN=1 ;;
        --tls) TLS=1 ;;
        --all) ALL=1 ;;
        --host) HOST=$2; shift ;;
        -h|--help) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

eval "$("$HERE/build.sh" --host "$HOST" --print-env 2>/dev/null)"
TREE=$RSYSLOG_TREE
T=$TREE/tests
cd "$T"

# Conditionals that are true in the built tree.
ENABLED=" ENABLE_DEFAULT_TESTS $(grep -oE 'S\["[A-Z0-9_]+_TRUE"\]=""' "$TREE/config.status" |
    sed -E 's/S\["([A-Z0-9_]+)_TRUE"\]=""/\1/' | tr '\n' ' ') "

# name<TAB>cond,cond,... ('!' = else branch), one line per listing.
listed() {
    awk '
    function conds(   i, s) { s = ""; for (i = 1; i <= n; i++) s = s (i > 1 ? "," : "") st[i]; return s }
    /^if[ \t]/      { n++; st[n] = $2; next }
    /^else([ \t]|$)/ { st[n] = "!" st[n]; next }
    /^endif([ \t]|$)/ { n--; next }
    /^TESTS[ \t]*\+?=/ { intests = 1; sub(/^TESTS[ \t]*\+?=/, "") }
    intests {
        line = $0; cont = (line ~ /\\[ \t]*$/); sub(/\\[ \t]*$/, "", line)
        k = split(line, w, /[ \t]+/)
        for (j = 1; j <= k; j++) if (w[j] ~ /\.sh$/) print w[j] "\t" conds()
        if (!cont) intests = 0
    }' Makefile.am
}

# Text of a script plus what it sources and the testsuites/ files it names.
text_of() {
    local f=$1 s
    cat "$f"
    for s in $(grep -oE '^[[:space:]]*(\.|source)[[:space:]]+"?\$\{?srcdir[^/]*/[A-Za-z0-9_.-]+\.sh' "$f" |
               sed -E 's#.*/##' | grep -v '^diag\.sh$' | sort -u); do
        [ -f "$s" ] && [ "$s" != "$f" ] && text_of "$s"
    done
    for s in $(grep -oE 'testsuites/[A-Za-z0-9_.-]+' "$f" | sort -u); do
        [ -f "$s" ] && cat "$s"
    done
    return 0
}

cond_ok() {   # cond,cond,... -> 0 if all true in our build
    local c IFS=,
    for c in $1; do
        case $c in
            '!'*) [[ $ENABLED == *" ${c#!} "* ]] && return 1 ;;
            *) [[ $ENABLED != *" $c "* ]] && return 1 ;;
        esac
    done
    return 0
}

is_tls() {   # NAME TEXT
    grep -qiE 'tls|ossl|openssl|mbedtls|streamdriver|x509|authmode' <<<"$1
$2"
}

# TLS scripts outside Makefile.am's TESTS that are not runnable here
# (--tls only; reasons in imtcp-tls-findings.md): sndrcv_ossl_cert_chain.sh
# needs testsuites/certchain/, which the 8.2504 tarball does not ship.
TLS_NOT_RUNNABLE=" sndrcv_ossl_cert_chain.sh "

# missing_parts NAME TEXT: the modules (../plugins/X/.libs/X, ../contrib/X/.libs/X)
# and TLS libraries (the mbedtls netstream driver, named by the script or set
# as a driver in TEXT; a wolfSSL build of the ossl driver, named by the script)
# that script NAME needs and the tree did not build; empty if none.
missing_parts() {
    local m miss=
    for m in $(grep -oE '\.\./(plugins|contrib)/[A-Za-z0-9_]+/\.libs/[A-Za-z0-9_]+' <<<"$2" | sort -u); do
        [ -f "$TREE/${m#../}.so" ] || miss="$miss ${m##*/}"
    done
    if { [[ $1 == *mbedtls* ]] || grep -qiE '=[[:space:]]*"?mbedtls' <<<"$2"; } &&
        [ ! -f "$TREE/runtime/.libs/lmnsd_mbedtls.so" ]; then
        miss="$miss lmnsd_mbedtls"
    fi
    if [[ $1 == *wolfssl* ]] && ! grep -q 'S\["ENABLE_WOLFSSL_TRUE"\]=""' "$TREE/config.status"; then
        miss="$miss wolfssl"
    fi
    printf '%s' "$miss"
}

why() { [ "$EXPLAIN" = 1 ] && printf '  %-50s %s\n' "$1" "$2" >&2; return 0; }

declare -A seen=()
out=()
while IFS=$'\t' read -r name conds; do
    [ -n "${seen[$name]:-}" ] && continue
    [ -f "$name" ] || continue
    txt=$(text_of "$name")
    if ! grep -qE 'plugins/imtcp/|setvar_RS_HOSTNAME' <<<"$txt"; then
        continue
    fi
    if ! cond_ok "$conds"; then
        # The same name may be listed again under other conditionals.
        why "$name" "conditional off in our build: $conds"
        continue
    fi
    seen[$name]=1
    if [ "$ALL" = 1 ]; then
        :
    elif is_tls "$name" "$txt"; then
        [ "$TLS" = 0 ] && { why "$name" "TLS"; continue; }
    elif [ "$TLS" = 1 ]; then
        why "$name" "not TLS"; continue
    fi
    if [ "$ALL" = 0 ] && grep -qiE 'compression|zlib|gzip|zstd|ziplevel|@@\(z[0-9]' <<<"$name
$txt"; then
        why "$name" "compression"; continue
    fi
    miss=$(missing_parts "$name" "$txt")
    if [ -n "$miss" ]; then why "$name" "not built:$miss"; continue; fi
    out+=("$name")
done < <(listed)

# imtcp-loading scripts that Makefile.am does not list in TESTS at all
# (with --tls its TLS ones are taken, unless listed in TLS_NOT_RUNNABLE).
if [ "$EXPLAIN" = 1 ] || [ "$TLS" = 1 ] || [ "$ALL" = 1 ]; then
    declare -A inlist=()
    while IFS=$'\t' read -r name _; do inlist[$name]=1; done < <(listed)
    for f in *.sh; do
        [ -n "${inlist[$f]:-}" ] && continue
        [ "$f" = diag.sh ] && continue
        grep -qE 'plugins/imtcp/|setvar_RS_HOSTNAME' "$f" || continue
        if [ "$ALL" = 1 ]; then
            miss=$(missing_parts "$f" "$(text_of "$f")")
            if [ -n "$miss" ]; then why "$f" "not in Makefile.am TESTS; not built:$miss"; else out+=("$f"); fi
        elif [ "$TLS" = 1 ] && is_tls "$f" "$(text_of "$f")"; then
            if [[ $TLS_NOT_RUNNABLE == *" $f "* ]]; then
                why "$f" "not in Makefile.am TESTS; TLS but not runnable here"
            else
                out+=("$f")
            fi
        else
            why "$f" "not in Makefile.am TESTS"
        fi
    done
fi

emit() {
    if [ "$ALL" = 1 ]; then
        cat <<EOF
# rsyslog testbench scripts of the $HOST tree that load imtcp (plain, TLS, stream
# compression, YAML configs), run by
#   run.sh --host $HOST --module imtcp --list imtcp-$HOST.list
# Generated by find-imtcp-tests.sh --host $HOST --all --write: tests/Makefile.am
# TESTS entries whose automake conditionals are on in our build
# (ENABLE_DEFAULT_TESTS counted as on) that load imtcp as for imtcp-plain.list,
# plus the scripts that load imtcp but are not in Makefile.am's TESTS; minus
# scripts that load a module the tree did not build or need the mbedtls
# netstream driver or a wolfSSL build of the ossl driver (build.sh builds
# neither). ${#out[@]} scripts.
EOF
        printf '%s\n' "${out[@]}" | sort
        return
    fi
    if [ "$TLS" = 1 ]; then
        cat <<EOF
# Upstream rsyslog 8.2504 testbench scripts that load imtcp with the gtls or
# ossl stream driver and need neither compression nor a feature our build.sh
# tree lacks; run by
#   run.sh --module imtcp --list imtcp-tls.list
# Generated by find-imtcp-tests.sh --tls --write: the imtcp-plain.list
# derivation with its TLS rule inverted, plus the TLS scripts that load imtcp
# but are not in Makefile.am's TESTS (minus TLS_NOT_RUNNABLE there). C
# baseline and the driver texts each script checks: imtcp-tls-findings.md.
# ${#out[@]} scripts.
EOF
        printf '%s\n' "${out[@]}" | sort
        return
    fi
    cat <<EOF
# Upstream rsyslog 8.2504 testbench scripts that load imtcp and need neither
# TLS nor compression nor a feature our build.sh tree lacks; run by
#   run.sh --module imtcp --list imtcp-plain.list
# Generated by find-imtcp-tests.sh --write (see its header for the exact
# derivation): tests/Makefile.am TESTS entries whose automake conditionals are
# on in our build (ENABLE_DEFAULT_TESTS counted as on), that load imtcp
# directly, via legacy \$ModLoad, via a sourced script or testsuites/ file, or
# via diag.sh's setvar_RS_HOSTNAME; minus TLS, compression and scripts that
# load a module the tree did not build. -vg/-vgthread scripts run under
# valgrind. ${#out[@]} scripts.
EOF
    printf '%s\n' "${out[@]}" | sort
}

LIST=imtcp-plain.list
[ "$TLS" = 1 ] && LIST=imtcp-tls.list
[ "$ALL" = 1 ] && LIST=imtcp-$HOST.list
if [ "$WRITE" = 1 ]; then
    emit >"$HERE/$LIST"
    echo "wrote ${#out[@]} names to $HERE/$LIST" >&2
else
    emit
fi
