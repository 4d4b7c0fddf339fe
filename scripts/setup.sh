#!/usr/bin/env bash
# Installs what building and testing Tandem needs on a fresh Debian machine.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt packages.
#   scripts/setup.sh           build dependencies (what `cargo build` needs)
#   scripts/setup.sh interop   plus the real SIP/media peers the interop suite drives
#   scripts/setup.sh fuzz      plus the nightly toolchain's cargo-fuzz
set -euo pipefail

want=(cmake pkg-config libopus-dev)
case "${1:-}" in
  # baresip: with --no-install-recommends only baresip-core (g711/alsa/aufile/sndfile modules)
  # comes along; kamailio: the stateful proxy in front of Tandem; tcpdump: the RTP count on lo.
  interop) want+=(sip-tester sipsak sox sipvicious python3 iproute2 procps baresip kamailio tcpdump) ;;
  fuzz) ;;
  "") ;;
  *) echo "usage: $0 [interop|fuzz]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "setup: cargo not found; install Rust (https://rustup.rs) first" >&2
  exit 1
fi

if [ "${1:-}" = fuzz ]; then
  if ! rustup toolchain list 2>/dev/null | grep -q nightly; then
    # No nightly (cargo-fuzz needs it): the caller falls back to `cargo check` of the fuzz
    # crate, which the issue allows; say so loudly.
    echo "setup: WARNING: no nightly toolchain; fuzz targets are only type-checked" >&2
    exit 3
  fi
  if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "setup: installing cargo-fuzz"
    cargo install cargo-fuzz --locked --quiet
  fi
fi
