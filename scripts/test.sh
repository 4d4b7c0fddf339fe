#!/usr/bin/env bash
# The test command of the README: installs build dependencies, then runs the hermetic suite
# (unit tests, virtual-time scenarios, property tests, corpus tests). Needs nothing but Rust
# and the Debian packages scripts/setup.sh installs; no network peers, no ../shared.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo test --workspace --locked "$@"
