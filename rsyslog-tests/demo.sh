#!/usr/bin/env bash
# The main job: builds the modules and runs the demo (a real rsyslogd with our
# impcap reading a small capture and our imtcp receiving a few messages, on an
# embedded default config), printing what rsyslog produced.
set -euo pipefail
cd "$(dirname "$0")/.."
bash rsyslog-tests/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
cargo build --release --workspace
exec cargo run --release -q -p rsyslog-tests --bin demo
