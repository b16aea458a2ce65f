#!/usr/bin/env bash
# Every test: formatting and lints, unit tests, integration tests against a
# real rsyslogd on three hosts (Debian 12's 8.2302, then 8.2504 and current
# upstream, both built with their testbench by upstream/build.sh), and
# rsyslog's own upstream test scripts run unmodified with the C module and
# with ours on both built hosts. Installs and builds what it needs (setup.sh,
# upstream/build.sh); a cache (RSYSLOG_RS_CACHE, default ~/.cache/rsyslog-rs)
# only saves time.
#
# Environment: RSYSLOG_RS_CACHE (see above), RSYSLOG_RS_TEST_JOBS (upstream
# scripts run at once, default 4).
set -euo pipefail
cd "$(dirname "$0")/.."
bash rsyslog-tests/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
CACHE=${RSYSLOG_RS_CACHE:-$HOME/.cache/rsyslog-rs}
export RSYSLOG_RS_CACHE=$CACHE
export RSYSLOG_RS_TEST_JOBS=${RSYSLOG_RS_TEST_JOBS:-4}
BUILD=rsyslog-tests/upstream/build.sh
RUN=rsyslog-tests/upstream/run.sh
LISTS=rsyslog-tests/upstream

# Phase timing: each step closes the one before; the table prints on exit.
PHASE= PHASE_T0=$SECONDS T_START=$SECONDS
TIMES=()
end_phase() {
    [ -n "$PHASE" ] && TIMES+=("$(printf '%6ss  %s' $((SECONDS - PHASE_T0)) "$PHASE")")
    PHASE=
}
step() {
    end_phase
    PHASE="$*" PHASE_T0=$SECONDS
    printf '\n==== %s ====\n' "$*"
}
report_times() {
    local rc=$?
    end_phase
    printf '\n==== time per phase (exit %s) ====\n' "$rc"
    printf '%s\n' "${TIMES[@]}"
    printf '%6ss  total\n' $((SECONDS - T_START))
}
trap report_times EXIT

# The two rsyslog hosts build in the background while the lints and our
# release build run; the first integration pass waits for them.
mkdir -p "$CACHE/logs"
declare -A HOST_PID=()
for h in 8.2504 upstream; do
    bash "$BUILD" --host "$h" >"$CACHE/logs/build-$h.out" 2>&1 &
    HOST_PID[$h]=$!
done

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings

step "build (release modules in target/rsyslog/)"
cargo build --release --workspace

step "rsyslog hosts 8.2504 and current upstream, with their testbench (built once, cached)"
for h in 8.2504 upstream; do
    if ! wait "${HOST_PID[$h]}"; then
        cat "$CACHE/logs/build-$h.out" >&2
        echo "building the $h host failed" >&2
        exit 1
    fi
    tail -n 1 "$CACHE/logs/build-$h.out"
done
# Upstream's load generator serves every pass, Debian's included.
RSYSLOG_TCPFLOOD="$(bash "$BUILD" --host 8.2504 --tree)/tests/tcpflood"
export RSYSLOG_TCPFLOOD

step "unit and integration tests, host: Debian rsyslogd $(/usr/sbin/rsyslogd -v | head -1 | awk '{print $2}')"
# The C-vs-ours corpus test needs a built host's C impcap: it runs in the passes below.
env -u RSYSLOGD -u RSYSLOG_MODDIR -u RSYSLOG_TREE cargo test --workspace -- \
    --skip corpus_output_is_identical_to_the_c_impcap

for h in 8.2504 upstream; do
    env_lines=$(bash "$BUILD" --host "$h" --print-env)
    step "integration tests, host: rsyslogd $h ($(sed -n 's/^export RSYSLOGD=//p' <<<"$env_lines"))"
    (eval "$env_lines" && cargo test -p rsyslog-tests)
done

# Upstream scripts: every script of a list with the C module, then with ours;
# a script the C module passes and ours does not is run once more, alone
# (--retry), and fails the run if ours fails again.
step "upstream 8.2504 scripts that load imtcp (no TLS, no compression): C module vs ours"
bash "$RUN" --host 8.2504 --retry --module imtcp --list "$LISTS/imtcp-plain.list"

step "upstream 8.2504 scripts that load imtcp with TLS (gtls, ossl): C module vs ours"
bash "$RUN" --host 8.2504 --retry --module imtcp --list "$LISTS/imtcp-tls.list"

step "current upstream scripts that load imtcp (plain, TLS, compression, YAML): C module vs ours"
bash "$RUN" --host upstream --retry --module imtcp --list "$LISTS/imtcp-upstream.list"

step "current upstream impcap scripts: C module vs ours"
bash "$RUN" --host upstream --retry --module impcap --list "$LISTS/impcap-upstream.list"
end_phase
