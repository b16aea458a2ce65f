#!/usr/bin/env bash
# Run upstream rsyslog 8.2504 testbench scripts, unmodified, twice each:
# once with the C module of the 8.2504 tree and once with our Rust module
# swapped in at the path the tests load (../plugins/imtcp/.libs/imtcp.so or
# ../contrib/impcap/.libs/impcap.so).
#
#   run.sh [--module imtcp|impcap] [--list FILE] [--c-only] [--retry] [TEST.sh ...]
#
# Without TEST names and without --list, the tests in foundation.list (next
# to this script) are run. Names may be given as NAME, NAME.sh or tests/NAME.sh.
#   --c-only   run only the C module (e.g. before ours exists); the final
#              counts then refer to the C module.
#   --retry    a test that the C module passes and ours does not is run once
#              more, with both modules; it counts as passed only if ours passes
#              then, and is listed as "passed on retry" (timing-dependent tests
#              on a loaded 2-core machine).
#
# Our module: ${RSYSLOG_RS_MODULES:-<repo>/target/rsyslog}/<module>.so
# Logs:       ${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}/upstream-results/{c,ours}/NAME.log
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
RESULTS=$CACHE/upstream-results
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
usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//' >&2; }

MODULE=imtcp
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
        --c-only) C_ONLY=1; shift ;;
        --retry) RETRY=1; shift ;;
        -h|--help) usage; exit 0 ;;
        -*) usage; die2 "unknown option: $1" ;;
        *) NAMES+=("$1"); shift ;;
    esac
done

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

# ---- the 8.2504 tree ---------------------------------------------------------
say "ensuring the rsyslog 8.2504 tree is built (build.sh)"
ENV_LINES=$("$HERE/build.sh" --print-env) || die2 "build.sh failed"
eval "$ENV_LINES"
TREE=$RSYSLOG_2504_TREE
TESTS_DIR=$TREE/tests
CMOD=$TREE/$MODREL
BACKUP=$CMOD.$BACKUP_SUFFIX

# One run.sh at a time per tree: the module swap is global to the tree.
exec 8>"$CACHE/.upstream-run.lock"
if ! flock -n 8; then
    say "another run.sh is using the tree; waiting for $CACHE/.upstream-run.lock"
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

CUR_PID=
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    if [ -n "$CUR_PID" ]; then
        # timeout(1) leads its own process group: end the test and its rsyslogd.
        kill -TERM -- "-$CUR_PID" 2>/dev/null || kill -TERM "$CUR_PID" 2>/dev/null
        wait "$CUR_PID" 2>/dev/null
        CUR_PID=
    fi
    restore_c
}
trap 'cleanup' EXIT
trap 'say "interrupted"; cleanup; trap - EXIT; exit 130' INT
trap 'say "terminated"; cleanup; trap - EXIT; exit 143' TERM

# ---- running one test ----------------------------------------------------------
# run_one SIDE NAME -> sets RES to PASS|FAIL|SKIP and RC
run_one() {
    local side=$1 name=$2 log=$RESULTS/$1/$2.log
    mkdir -p "$RESULTS/$side"
    if [ "$side" = ours ]; then swap_in_ours; else restore_c; fi
    {
        echo "### $name  module=$MODULE side=$side  $(date -u +%Y-%m-%dT%H:%M:%SZ)"
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
    CUR_PID=$!
    wait "$CUR_PID"
    RC=$?
    # timeout(1) leads its own process group: end whatever the test left
    # running (e.g. an rsyslogd it failed to stop) before the next test.
    if kill -0 -- "-$CUR_PID" 2>/dev/null; then
        echo "### processes left running by the test; terminating them:" >>"$log"
        ps -o pid=,args= -g "$CUR_PID" >>"$log" 2>&1
        kill -TERM -- "-$CUR_PID" 2>/dev/null
        for _ in 1 2 3 4 5 6 7 8 9 10; do
            kill -0 -- "-$CUR_PID" 2>/dev/null || break
            sleep 0.5
        done
        kill -KILL -- "-$CUR_PID" 2>/dev/null
    fi
    CUR_PID=
    if [ "$side" = ours ]; then restore_c; fi
    echo "### exit code $RC" >>"$log"
    case $RC in
        0) RES=PASS ;;
        77) RES=SKIP ;;
        124|137) RES=FAIL; echo "### TIMEOUT after ${TEST_TIMEOUT}s" >>"$log" ;;
        *) RES=FAIL ;;
    esac
}

c_pass=0 c_fail=0 c_skip=0
o_pass=0 o_fail=0 o_skip=0
regressions=()
declare -A first_ours=()
w=0
for n in "${NAMES[@]}"; do [ ${#n} -gt "$w" ] && w=${#n}; done
w=$((w + 3))

say "module $MODULE: C = $CMOD; ours = $([ "$C_ONLY" = 1 ] && echo '(skipped: --c-only)' || echo "$OURS")"
say "running ${#NAMES[@]} test(s) in $TESTS_DIR (timeout ${TEST_TIMEOUT}s each); logs in $RESULTS/{c,ours}/"
for raw in "${NAMES[@]}"; do
    name=$(basename "$raw")
    case $name in *.sh) ;; *) name=$name.sh ;; esac
    if [ ! -f "$TESTS_DIR/$name" ]; then
        printf '%-*s C: %-4s  ours: %s   (no such test in %s)\n' "$w" "$name" FAIL FAIL "$TESTS_DIR"
        c_fail=$((c_fail + 1)); o_fail=$((o_fail + 1))
        regressions+=("$name(missing)")
        continue
    fi
    t0=$(date +%s)
    run_one c "$name"; cres=$RES
    t1=$(date +%s)
    case $cres in PASS) c_pass=$((c_pass + 1)) ;; SKIP) c_skip=$((c_skip + 1)) ;; *) c_fail=$((c_fail + 1)) ;; esac
    if [ "$C_ONLY" = 1 ]; then
        ores=-
    else
        run_one ours "$name"; ores=$RES
        case $ores in PASS) o_pass=$((o_pass + 1)) ;; SKIP) o_skip=$((o_skip + 1)) ;; *) o_fail=$((o_fail + 1)) ;; esac
        # Anything short of PASS where the C module passes is a regression (a SKIP too).
        [ "$cres" = PASS ] && [ "$ores" != PASS ] && regressions+=("$name") && first_ours[$name]=$ores
    fi
    t2=$(date +%s)
    printf '%-*s C: %-4s  ours: %-4s  (%ss/%ss)\n' "$w" "$name" "$cres" "$ores" $((t1 - t0)) $((t2 - t1))
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
        run_one c "$name"; cres=$RES
        run_one ours "$name"; ores=$RES
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
