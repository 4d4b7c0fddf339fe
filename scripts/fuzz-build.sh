#!/usr/bin/env bash
# Builds every cargo-fuzz target (fuzz/ is outside the workspace). With FUZZ_SECONDS=N it also
# runs each target for N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
rc=0; scripts/setup.sh fuzz || rc=$?
if [ $rc -eq 3 ]; then
  echo "fuzz: nightly missing: cargo check of the fuzz crate instead of cargo fuzz build" >&2
  exec cargo check --manifest-path fuzz/Cargo.toml --bins
elif [ $rc -ne 0 ]; then
  exit $rc
fi
cd fuzz
cargo +nightly fuzz build --dev
if [ -n "${FUZZ_SECONDS:-}" ]; then
  for t in $(cargo +nightly fuzz list); do
    echo "fuzz: running $t for ${FUZZ_SECONDS}s"
    cargo +nightly fuzz run --dev "$t" -- -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=2048
  done
fi
