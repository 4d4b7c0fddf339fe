#!/usr/bin/env bash
# The run command of the README: installs build dependencies, builds the server and starts it
# with its embedded defaults (SIP on 127.0.0.1:5060 UDP+TCP, HTTP on 127.0.0.1:8080, state in
# ./data). Extra arguments go to `tandem serve`, e.g. `scripts/run.sh --sip 127.0.0.1:5070`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --locked -p tandem
exec "${CARGO_TARGET_DIR:-target}/release/tandem" serve "$@"
