#!/usr/bin/env bash
# The sans-IO cores must not depend on the runtime (ARCHITECTURE.md §2): no tokio in their
# normal dependency tree.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for p in tandem-sip-msg tandem-sdp tandem-sip-core tandem-call tandem-media; do
  cargo metadata --format-version 1 --no-deps | grep -q "\"name\":\"$p\"" || continue
  if cargo tree --locked -e normal -p "$p" -i tokio >/dev/null 2>&1; then
    echo "sans-io: $p depends on tokio:" >&2
    cargo tree --locked -e normal -p "$p" -i tokio >&2 || true
    fail=1
  else
    echo "sans-io: $p ok (no tokio)"
  fi
done
exit $fail
