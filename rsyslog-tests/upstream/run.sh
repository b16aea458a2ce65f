#!/usr/bin/env bash
# Run upstream rsyslog testbench scripts, unmodified, with the C module of a
# host tree built by build.sh and with our Rust module swapped in at the path
# the tests load (../plugins/imtcp/.libs/imtcp.so or
# ../contrib/impcap/.libs/impcap.so).
#
#   run.sh [--host 8.2504|upstream] [--module imtcp|impcap] [--list FILE]
#          [--jobs N] [--c-only] [--retry] [TEST.sh ...]
#
# Without TEST names and without --list, the tests in foundation.list (next
# to this script) are run. Names may be given as NAME, NAME.sh or tests/NAME.sh.
#   --host     which tree (build.sh --host): 8.2504 (default) or upstream
#   --jobs N   scripts run at once (default $RSYSLOG_RS_TEST_JOBS, else 3): as
#              rsyslog's own `make -j check`, each script has its own work
#              files and ports. All scripts run with the C module first, then
#              all with ours (the swap is global to the tree).
#   --c-only   run only the C module (e.g. before ours exists); the final
#              counts then refer to the C module.
#   --retry    a test that the C module passes and ours does not is run once
#              more, alone, with both modules; it counts as passed only if
#              ours passes then, and is listed as "passed on retry"
#              (timing-dependent tests on a loaded 2-core machine).
#
# Our module: ${RSYSLOG_RS_MODULES:-<repo>/target/rsyslog}/<module>.so
# Logs:       ${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}/upstream-results/HOST/{c,ours}/NAME.log
# Timeout:    RSYSLOG_RS_TEST_TIMEOUT s per run (600); diag.sh's TEST_MAX_RUNTIME 30 s less
# Output: one line per test, a C summary line, and as the LAST line
#   "N passed, M failed[, K skipped]"   (counting ours)
# Exit: 0 ok; 1 ours fails a test the C module passes; 2 usage/setup error
#       (e.g. our .so missing).
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}
export RSYSLOG_RS_CACHE=$CACHE
TEST_TIMEOUT=${RSYSLOG_RS_TEST_TIMEOUT:-600}
# diag.sh's own watchdog (TEST_MAX_RUNTIME, also rsyslogd's $IMDiagAbortTimeout)
# should fire before our hard timeout, so a hung test still ends with
# diag.sh's diagnostics in its log.
if [ -z "${TEST_MAX_RUNTIME:-}" ]; then
    TEST_MAX_RUNTIME=$((TEST_TIMEOUT > 60 ? TEST_TIMEOUT - 30 : TEST_TIMEOUT))
fi
export TEST_MAX_RUNTIME
BACKUP_SUFFIX=rsyslog-rs-c-orig

say() { printf '[run.sh] %s\n' "$*" >&2; }
die2() { printf '[run.sh] ERROR: %s\n' "$*" >&2; exit 2; }
usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//' >&2; }

MODULE=imtcp
HOST=8.2504
JOBS=${RSYSLOG_RS_TEST_JOBS:-3}
LISTS=()
NAMES=()
C_ONLY=0
RETRY=0
while [ $# -gt 0 ]; do
    case $1 in
        --module) [ $# -ge 2 ] || die2 "--module needs an argument"; MODULE=$2; shift 2 ;;
        --module=*) MODULE=${1#--module=}; shift ;;
        --list) [ $# -ge 2 ] || die2 "--list needs an argument"; LISTS+=("$2"); shift 2 ;;
        --list=*) LISTS+=("${1#--list=}"); shift ;;
        --host) [ $# -ge 2 ] || die2 "--host needs an argument"; HOST=$2; shift 2 ;;
        --host=*) HOST=${1#--host=}; shift ;;
        --jobs) [ $# -ge 2 ] || die2 "--jobs needs an argument"; JOBS=$2; shift 2 ;;
        --jobs=*) JOBS=${1#--jobs=}; shift ;;
        --c-only) C_ONLY=1; shift ;;
        --retry) RETRY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) usage; die2 "unknown option: $1" ;;
        *) NAMES+=("$1"); shift ;;
    esac
done

[[ $JOBS =~ ^[1-9][0-9]*$ ]] || die2 "--jobs must be a positive number (got '$JOBS')"
case $MODULE in
    imtcp) MODREL=plugins/imtcp/.libs/imtcp.so ;;
    impcap) MODREL=contrib/impcap/.libs/impcap.so ;;
    *) die2 "--module must be imtcp or impcap (got '$MODULE')" ;;
esac

if [ ${#NAMES[@]} = 0 ] && [ ${#LISTS[@]} = 0 ]; then
    LISTS=("$HERE/foundation.list")
fi
for l in ${LISTS[@]+"${LISTS[@]}"}; do
    [ -r "$l" ] || die2 "list file not readable: $l"
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%%#*}
        line=$(printf '%s' "$line" | tr -d '[:space:]')
        [ -n "$line" ] && NAMES+=("$line")
    done <"$l"
done
[ ${#NAMES[@]} -gt 0 ] || die2 "no tests to run"

OURS_DIR=${RSYSLOG_RS_MODULES:-$REPO_ROOT/target/rsyslog}
OURS=$OURS_DIR/$MODULE.so
if [ "$C_ONLY" = 0 ] && [ ! -f "$OURS" ]; then
    die2 "our module does not exist: $OURS (build it first, set RSYSLOG_RS_MODULES, or use --c-only)"
fi
[ "$C_ONLY" = 1 ] || OURS=$(cd "$(dirname "$OURS")" && pwd)/$(basename "$OURS")

# ---- the host tree -------------------------------------------------------------
say "ensuring the rsyslog $HOST tree is built (build.sh --host $HOST)"
ENV_LINES=$("$HERE/build.sh" --host "$HOST" --print-env) || die2 "build.sh failed"
eval "$ENV_LINES"
TREE=$RSYSLOG_TREE
RESULTS=$CACHE/upstream-results/$HOST
TESTS_DIR=$TREE/tests
CMOD=$TREE/$MODREL
BACKUP=$CMOD.$BACKUP_SUFFIX

# One run.sh at a time per tree: the module swap is global to the tree.
exec 8>"$CACHE/.upstream-run-$HOST.lock"
if ! flock -n 8; then
    say "another run.sh is using the tree; waiting for $CACHE/.upstream-run-$HOST.lock"
    flock 8
fi

# ---- module swap -------------------------------------------------------------
restore_c() {
    if [ -e "$BACKUP" ] || [ -L "$BACKUP" ]; then
        rm -f "$CMOD" && mv -f "$BACKUP" "$CMOD"
    fi
}
swap_in_ours() {
    restore_c
    mv "$CMOD" "$BACKUP" && ln -s "$OURS" "$CMOD"
}
# Repair a swap left behind by an interrupted earlier run.
if [ -e "$BACKUP" ] || [ -L "$BACKUP" ]; then
    say "repairing leftover module swap: restoring C $MODREL"
    restore_c
fi
if [ -L "$CMOD" ] || [ ! -f "$CMOD" ]; then
    die2 "C module $CMOD is missing or a symlink and no backup exists; rebuild with: $HERE/build.sh --force"
fi

# Process groups of the scripts running now (one file per running script,
# holding timeout(1)'s pid, which leads the script's process group).
RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/rsyslog-rs-run.XXXXXX")
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local f pg
    for f in "$RUNDIR"/pg.*; do
        [ -f "$f" ] || continue
        pg=$(cat "$f" 2>/dev/null) || continue
        [ -n "$pg" ] && kill -TERM -- "-$pg" 2>/dev/null
    done
    wait 2>/dev/null
    restore_c
    rm -rf "$RUNDIR"
}
trap 'cleanup' EXIT
trap 'say "interrupted"; cleanup; trap - EXIT; exit 130' INT
trap 'say "terminated"; cleanup; trap - EXIT; exit 143' TERM

# ---- running one test ----------------------------------------------------------
# run_one SIDE NAME: runs the script with whichever module is in place and
# writes PASS|FAIL|SKIP and the seconds it took to $RUNDIR/res.SIDE.NAME.
run_one() {
    local side=$1 name=$2 log=$RESULTS/$1/$2.log pg rc res t0
    t0=$(date +%s)
    mkdir -p "$RESULTS/$side"
    {
        echo "### $name  host=$HOST module=$MODULE side=$side  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
        echo "### $MODREL -> $(readlink -f "$CMOD")"
    } >"$log"
    # Same environment `make check` (tests/Makefile.am TESTS_ENVIRONMENT) sets.
    (
        cd "$TESTS_DIR" &&
        exec env srcdir=. \
            RSYSLOG_MODDIR="$TREE/runtime/.libs/" \
            TOP_BUILDDIR=.. \
            TESTTOOL_DIR="$TESTS_DIR" \
            timeout -k 30 "$TEST_TIMEOUT" "./$name"
    ) </dev/null >>"$log" 2>&1 &
    pg=$!
    echo "$pg" >"$RUNDIR/pg.$side.$name"
    wait "$pg"
    rc=$?
    # timeout(1) leads its own process group: end whatever the test left
    # running (e.g. an rsyslogd it failed to stop) before the next test.
    if kill -0 -- "-$pg" 2>/dev/null; then
        echo "### processes left running by the test; terminating them:" >>"$log"
        ps -o pid=,args= -g "$pg" >>"$log" 2>&1
        kill -TERM -- "-$pg" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$pg" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$pg" 2>/dev/null
    fi
    rm -f "$RUNDIR/pg.$side.$name"
    echo "### exit code $rc" >>"$log"
    case $rc in
        0) res=PASS ;;
        77) res=SKIP ;;
        124|137) res=FAIL; echo "### TIMEOUT after ${TEST_TIMEOUT}s" >>"$log" ;;
        *) res=FAIL ;;
    esac
    echo "$res $(($(date +%s) - t0))" >"$RUNDIR/res.$side.$name"
}

# run_phase SIDE NAME...: every script with the module now in place, $JOBS at once.
run_phase() {
    local side=$1 name running=0
    shift
    for name in "$@"; do
        if [ "$running" -ge "$JOBS" ]; then
            wait -n 2>/dev/null
            running=$((running - 1))
        fi
        run_one "$side" "$name" &
        running=$((running + 1))
    done
    wait
}

# result SIDE NAME -> sets RES and SECS from run_one's file
result() {
    RES=FAIL SECS=0
    [ -f "$RUNDIR/res.$1.$2" ] && read -r RES SECS <"$RUNDIR/res.$1.$2"
    return 0
}

c_pass=0 c_fail=0 c_skip=0
o_pass=0 o_fail=0 o_skip=0
regressions=()
declare -A first_ours=()
w=0
for n in "${NAMES[@]}"; do [ ${#n} -gt "$w" ] && w=${#n}; done
w=$((w + 3))

say "module $MODULE: C = $CMOD; ours = $([ "$C_ONLY" = 1 ] && echo '(skipped: --c-only)' || echo "$OURS")"
say "running ${#NAMES[@]} test(s) in $TESTS_DIR, $JOBS at once (timeout ${TEST_TIMEOUT}s each); logs in $RESULTS/{c,ours}/"
present=()
for raw in "${NAMES[@]}"; do
    name=$(basename "$raw")
    case $name in *.sh) ;; *) name=$name.sh ;; esac
    [ -f "$TESTS_DIR/$name" ] && present+=("$name")
done
T_START=$(date +%s)
restore_c
run_phase c ${present[@]+"${present[@]}"}
T_C=$(date +%s)
say "C module: ${#present[@]} scripts in $((T_C - T_START))s"
if [ "$C_ONLY" = 0 ]; then
    swap_in_ours
    run_phase ours ${present[@]+"${present[@]}"}
    restore_c
    say "ours: ${#present[@]} scripts in $(($(date +%s) - T_C))s"
fi

for raw in "${NAMES[@]}"; do
    name=$(basename "$raw")
    case $name in *.sh) ;; *) name=$name.sh ;; esac
    if [ ! -f "$TESTS_DIR/$name" ]; then
        printf '%-*s C: %-4s  ours: %s   (no such test in %s)\n' "$w" "$name" FAIL FAIL "$TESTS_DIR"
        c_fail=$((c_fail + 1)); o_fail=$((o_fail + 1))
        regressions+=("$name(missing)")
        continue
    fi
    result c "$name"; cres=$RES; csecs=$SECS
    case $cres in PASS) c_pass=$((c_pass + 1)) ;; SKIP) c_skip=$((c_skip + 1)) ;; *) c_fail=$((c_fail + 1)) ;; esac
    if [ "$C_ONLY" = 1 ]; then
        ores=- osecs=0
    else
        result ours "$name"; ores=$RES; osecs=$SECS
        case $ores in PASS) o_pass=$((o_pass + 1)) ;; SKIP) o_skip=$((o_skip + 1)) ;; *) o_fail=$((o_fail + 1)) ;; esac
        # Anything short of PASS where the C module passes is a regression (a SKIP too).
        [ "$cres" = PASS ] && [ "$ores" != PASS ] && regressions+=("$name") && first_ours[$name]=$ores
    fi
    printf '%-*s C: %-4s  ours: %-4s  (%ss/%ss)\n' "$w" "$name" "$cres" "$ores" "$csecs" "$osecs"
    if [ "$cres" = FAIL ]; then
        echo "    C log: $RESULTS/c/$name.log"
        [ "$C_ONLY" = 1 ] && tail -n 40 "$RESULTS/c/$name.log" | sed 's/^/    | /'
    fi
    if [ "$ores" = FAIL ]; then
        echo "    ours log: $RESULTS/ours/$name.log (last 40 lines):"
        tail -n 40 "$RESULTS/ours/$name.log" | sed 's/^/    | /'
    fi
done

retried=()
if [ "$RETRY" = 1 ] && [ ${#regressions[@]} -gt 0 ]; then
    still=()
    for name in "${regressions[@]}"; do
        case $name in *"(missing)") still+=("$name"); continue ;; esac
        restore_c; run_one c "$name"; result c "$name"; cres=$RES
        swap_in_ours; run_one ours "$name"; restore_c; result ours "$name"; ores=$RES
        printf '%-*s C: %-4s  ours: %-4s  (retry)\n' "$w" "$name" "$cres" "$ores"
        if [ "$ores" = PASS ]; then
            retried+=("$name")
            o_pass=$((o_pass + 1))
            if [ "${first_ours[$name]}" = SKIP ]; then o_skip=$((o_skip - 1)); else o_fail=$((o_fail - 1)); fi
        else
            still+=("$name")
            echo "    ours log: $RESULTS/ours/$name.log"
        fi
    done
    regressions=(${still[@]+"${still[@]}"})
fi

csum="C module: $c_pass passed, $c_fail failed"
[ "$c_skip" -gt 0 ] && csum="$csum, $c_skip skipped"
echo "$csum"
[ ${#retried[@]} -gt 0 ] && echo "ours passed on retry: ${retried[*]}"
if [ ${#regressions[@]} -gt 0 ]; then
    echo "ours does not pass where C passes: ${regressions[*]}"
fi
if [ "$C_ONLY" = 1 ]; then
    o_pass=$c_pass o_fail=$c_fail o_skip=$c_skip
    echo "(--c-only: the counts below are the C module's)"
fi
final="$o_pass passed, $o_fail failed"
[ "$o_skip" -gt 0 ] && final="$final, $o_skip skipped"
echo "$final"
[ ${#regressions[@]} -gt 0 ] && exit 1
[ "$C_ONLY" = 1 ] && [ "$c_fail" -gt 0 ] && exit 1
exit 0
