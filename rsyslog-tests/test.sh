#!/usr/bin/env bash
# Every test: formatting and lints, unit tests, integration tests against a
# real rsyslogd (Debian 12's 8.2302, then the 8.2504 build with its
# testbench), and rsyslog's own upstream test scripts run unmodified against
# our modules. Installs what it needs (setup.sh, upstream/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash rsyslog-tests/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
step() { printf '\n==== %s ====\n' "$*"; }

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets -q -- -D warnings

step "build (release modules in target/rsyslog/)"
cargo build --release --workspace

step "unit and integration tests, host: Debian rsyslogd $(/usr/sbin/rsyslogd -v | head -1 | awk '{print $2}')"
# The C-vs-ours corpus test needs the C impcap of the 8.2504 build: it runs in that pass.
env -u RSYSLOGD -u RSYSLOG_MODDIR -u RSYSLOG_2504_TREE cargo test --workspace -- \
    --skip corpus_output_is_identical_to_the_c_impcap

step "rsyslog 8.2504 build with testbench (cached)"
bash rsyslog-tests/upstream/build.sh
eval "$(bash rsyslog-tests/upstream/build.sh --print-env)"

step "integration tests, host: rsyslogd 8.2504 ($RSYSLOGD)"
cargo test -p rsyslog-tests

step "upstream 8.2504 testbench scripts that load imtcp (no TLS, no compression): C module vs ours"
# Every script of the list, once with each module; a test the C module passes
# and ours does not is run once more (--retry) and fails the run if ours fails again.
bash rsyslog-tests/upstream/run.sh --retry --module imtcp --list rsyslog-tests/upstream/imtcp-plain.list

step "upstream 8.2504 testbench scripts that load imtcp with TLS (gtls, ossl): C module vs ours"
# The same rule: ours must pass every script the C module passes.
bash rsyslog-tests/upstream/run.sh --retry --module imtcp --list rsyslog-tests/upstream/imtcp-tls.list
