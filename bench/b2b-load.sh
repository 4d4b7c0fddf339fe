#!/usr/bin/env bash
# Scenario 1 under load: the same SIPp load against Tandem (release build), Kamailio as a
# stateful proxy and the Sippy B2BUA, in one run, on loopback. Not run by CI.
#
#   bench/b2b-load.sh            # the full benchmark (about 8 minutes; run it on a quiet machine)
#   bench/b2b-load.sh --quick    # the same steps at a small scale, to validate the script
#   ONLY="tandem kamailio" bench/b2b-load.sh     # a subset of the servers
#   TANDEM_BIN=path/to/tandem bench/b2b-load.sh  # skip `cargo build --release -p tandem`
#
# Load: bench/sipp/b2bua_uac.xml -> server (127.0.0.1:16070) -> bench/sipp/b2bua_uas.xml
# (127.0.0.1:16080); INVITE/100/180/200/ACK, 100 ms hold, BYE/200 on both legs; the scenarios
# are ../shared/testbed/sipp/b2bua_u{a,s}.xml. Both SIPp run with -buff_size 4194304.
# For each server it reports:
#   - the server's CPU seconds (utime + stime of its processes) per 1,000 calls at 100 and at
#     400 calls/s (CPU_S seconds of traffic each, after a short warm-up);
#   - the highest clean call rate (0 failed calls) in a short step search (STEP_S seconds of
#     traffic per step, stopping at the first step with a failed call), and the highest step
#     reached without a single retransmission on the way (STEPS_<server>="" skips the search);
#   - for Tandem, the resident memory (VmRSS) of a fresh process with HELD concurrent calls set
#     up at HELD_RATE and held HOLD_LONG_MS: the peak, and the RSS just before the first BYE
#     (by then, with the default 45 s, every transaction of the set-up has ended: RFC 6026
#     keeps INVITE transactions 32 s after the 2xx), per held call = (that - idle) / HELD.
#     HELD=0 skips it.
# Results: one line per run on stdout and in $out/runs.txt, a Markdown summary in
# $out/summary.md ($out = ${CARGO_TARGET_DIR:-target}/b2b-load/<UTC time>).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
TESTBED=${TESTBED:-$root/../shared/testbed}

quick=0
[ "${1:-}" = --quick ] && quick=1
ONLY=${ONLY:-"tandem kamailio sippy"}
has() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }
if [ $quick -eq 1 ]; then
  CPU_S=${CPU_S:-3}; STEP_S=${STEP_S:-2}; HELD=${HELD:-500}; HELD_RATE=${HELD_RATE:-250}
  HOLD_LONG_MS=${HOLD_LONG_MS:-5000}
  STEPS_tandem=${STEPS_tandem-"50 100"}; STEPS_kamailio=${STEPS_kamailio-"50 100"}
  STEPS_sippy=${STEPS_sippy-"50 100"}
else
  CPU_S=${CPU_S:-10}; STEP_S=${STEP_S:-8}; HELD=${HELD:-10000}; HELD_RATE=${HELD_RATE:-1000}
  HOLD_LONG_MS=${HOLD_LONG_MS:-45000}
  STEPS_tandem=${STEPS_tandem-"1000 2000 3000 4000 5000"}
  STEPS_kamailio=${STEPS_kamailio-"1000 2000 3000 4000 5000"}
  STEPS_sippy=${STEPS_sippy-"100 200 300 400 600 800"}
fi

for tool in sipp kamailio python3 ss pgrep; do
  command -v "$tool" >/dev/null || scripts/setup.sh interop
  command -v "$tool" >/dev/null || { echo "b2b-load: $tool not found" >&2; exit 1; }
done
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/b2b-load/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
sipp_dir=$root/bench/sipp
srv_port=16070 uas_port=16080 uac_port=16061

# Tandem: release build. Sippy: PyPI `sippy` in a venv under the target folder.
if has tandem; then
  if [ -n "${TANDEM_BIN:-}" ]; then
    tandem=$TANDEM_BIN    # an already built release binary
  else
    cargo build --release --locked -p tandem
    tandem=$target/release/tandem
  fi
fi
if has sippy; then
  venv=$target/sippy-venv
  if [ ! -x "$venv/bin/b2bua" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q sippy
  fi
fi

for p in $srv_port $uas_port $uac_port; do
  if ss -H -uln "sport = :$p" | grep -q .; then echo "b2b-load: UDP port $p is busy" >&2; exit 1; fi
done

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

load() { cut -d' ' -f1-3 /proc/loadavg; }
# CPU seconds (utime + stime) of a process and all its descendants (threads are included).
cpu_of() {
  python3 - "$1" <<'EOF'
import os, sys
tck = os.sysconf("SC_CLK_TCK")
def kids(p):
    out = []
    try:
        for t in os.listdir(f"/proc/{p}/task"):
            out += [int(c) for c in open(f"/proc/{p}/task/{t}/children").read().split()]
    except OSError:
        pass
    return out
todo, total = [int(sys.argv[1])], 0
while todo:
    p = todo.pop()
    try:
        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        total += int(f[11]) + int(f[12])
    except OSError:
        pass
    todo += kids(p)
print(f"{total / tck:.2f}")
EOF
}
rcvbuf_errors() { awk '/^Udp:/ {getline; print $6}' /proc/net/snmp; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

server_pid=""
start_server() { # name
  local name=$1 log=$out/$1-server.log
  case $name in
    tandem)
      rm -rf "$out/tandem-data"
      timeout 3600 "$tandem" serve --config "$sipp_dir/tandem-bench.toml" --sip 127.0.0.1:$srv_port \
        --http 127.0.0.1:16090 --data "$out/tandem-data" > "$log" 2>&1 & ;;
    kamailio)
      timeout 3600 kamailio -f "$sipp_dir/kamailio-proxy.cfg" -DD -E -m 512 -M 32 -P "$out/kamailio.pid" \
        > "$log" 2>&1 & ;;
    sippy)
      mkdir -p "$out/sippy"
      SIPLOG_BEND=none timeout 3600 "$venv/bin/b2bua" -f -u -A 0 -l 127.0.0.1 -p $srv_port \
        -s 127.0.0.1:$uas_port -P "$out/sippy/b2bua.pid" -L "$out/sippy/b2bua.log" \
        -c "$out/sippy/b2bua.sock" > "$log" 2>&1 & ;;
  esac
  server_pid=$!
  pids+=("$server_pid")
  for _ in $(seq 100); do
    ss -H -uln "sport = :$srv_port" | grep -q . && break
    sleep 0.1
  done
  ss -H -uln "sport = :$srv_port" | grep -q . || { echo "b2b-load: $name did not start:"; tail "$log"; exit 1; }
  sleep 1
}
stop_server() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  for _ in $(seq 50); do ss -H -uln "sport = :$srv_port" | grep -q . || break; sleep 0.1; done
}

# One SIPp run against the running server. Sets: ok failed retrans cpu wall rcvbuf.
run() { # name label rate calls hold_ms [limit]
  local name=$1 label=$2 rate=$3 calls=$4 hold=$5 limit=${6:-$(($3 * 6 + 1000))}
  local dir=$out/$name-$label; mkdir -p "$dir"
  ( cd "$dir"; exec timeout $((calls / rate + hold / 1000 + 90)) sipp -sf "$sipp_dir/b2bua_uas.xml" \
      -i 127.0.0.1 -p $uas_port -mi 127.0.0.1 -mp 16200 -nostdin -buff_size 4194304 \
      -max_socket 60000 > uas.log 2>&1 ) &
  local uas=$!
  sleep 0.5
  local cpu0 rb0 t0 t1 rc=0
  cpu0=$(cpu_of "$server_pid"); rb0=$(rcvbuf_errors); t0=$(date +%s.%N); run_t0=$t0
  local l0; l0=$(load); run_load=${l0%% *}
  ( cd "$dir"; exec timeout $((calls / rate + hold / 1000 + 60)) sipp -sf "$sipp_dir/b2bua_uac.xml" \
      127.0.0.1:$srv_port -s 1000 -i 127.0.0.1 -p $uac_port -mi 127.0.0.1 -mp 16100 -d "$hold" \
      -r "$rate" -m "$calls" -l "$limit" -nostdin -timeout $((calls / rate + hold / 1000 + 50)) \
      -buff_size 4194304 -max_socket 60000 > uac.log 2>&1 ) || rc=$?
  t1=$(date +%s.%N)
  cpu=$(python3 -c "print(f'{$(cpu_of "$server_pid") - $cpu0:.2f}')")
  rcvbuf=$(( $(rcvbuf_errors) - rb0 ))
  kill "$uas" 2>/dev/null || true; wait "$uas" 2>/dev/null || true
  wall=$(python3 -c "print(f'{$t1 - $t0:.1f}')")
  local s; s=$(python3 "$sipp_dir/sipp_summary.py" "$dir/uac.log")
  eval "$s"   # created= ok= failed= retrans=
  [ "$ok" -eq "$calls" ] || failed=$((calls - ok))
  local per; per=$(python3 -c "print(f'{$cpu * 1000 / $calls:.2f}')")
  printf '%-8s %-10s rate=%-5s calls=%-6s ok=%-6s failed=%-5s retrans=%-6s rc=%-3s wall=%-6ss cpu=%-6ss cpu/1000=%-6s rcvbuf_err=%-5s load=%s\n' \
    "$name" "$label" "$rate" "$calls" "$ok" "$failed" "$retrans" "$rc" "$wall" "$cpu" "$per" "$rcvbuf" "$l0" \
    | tee -a "$out/runs.txt"
  cpu_per=$per
}

declare -A res
if [ -n "${TANDEM_BIN:-}" ]; then what="tandem $TANDEM_BIN (built $(date -u -r "$TANDEM_BIN" +%H:%MZ))"
else what="tree $(git rev-parse --short HEAD) ($(git status --porcelain | wc -l) changed files)"; fi
echo "b2b-load: results in $out; $what; load at start $(load); $(nproc) cores" | tee "$out/runs.txt"
for name in $ONLY; do
  start_server "$name"
  run "$name" warmup 50 $((50 * 2)) 100 > /dev/null
  for rate in 100 400; do
    run "$name" "cpu$rate" "$rate" $((rate * CPU_S)) 100
    res[$name,cpu$rate]=$cpu_per; res[$name,fail$rate]=$failed; res[$name,load$rate]=$run_load
  done
  steps_var=STEPS_$name
  best=none; firstfail=none; noretrans=none; quiet=1
  for rate in ${!steps_var}; do
    run "$name" "step$rate" "$rate" $((rate * STEP_S)) 100
    if [ "$failed" -ne 0 ]; then firstfail="$rate ($failed failed)"; break; fi
    best=$rate
    if [ "$retrans" -ne 0 ]; then quiet=0; fi
    if [ $quiet -eq 1 ]; then noretrans=$rate; fi
  done
  res[$name,noretrans]=$noretrans
  res[$name,best]=$best; res[$name,firstfail]=$firstfail; res[$name,loadstep]=$run_load
  stop_server

  if [ "$name" = tandem ] && [ "$HELD" -gt 0 ]; then
    # Memory: a fresh process, HELD calls set up at HELD_RATE and held HOLD_LONG_MS.
    start_server tandem
    tpid=$(pgrep -P "$server_pid" tandem)
    idle=$(rss_kib "$tpid")
    ( while kill -0 "$tpid" 2>/dev/null; do
        echo "$(date +%s.%N) $(rss_kib "$tpid" 2>/dev/null || echo 0)" >> "$out/rss.txt"; sleep 0.5; done ) &
    sampler=$!
    run tandem "held$HELD" "$HELD_RATE" "$HELD" "$HOLD_LONG_MS" $((HELD + 1000))
    res[tandem,heldfail]=$failed
    kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true
    # peak: the highest sample; held: the last sample before the first call's BYE, when every
    # call is still up and (with HOLD_LONG_MS > 32 s + ramp) their transactions have ended.
    read -r peak held < <(python3 - "$out/rss.txt" "$run_t0" "$(( HELD / HELD_RATE ))" "$HOLD_LONG_MS" <<'EOF2'
import sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
t0, ramp, hold = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]) / 1000
held = [r for t, r in rows if t <= t0 + hold - 1]
print(int(max(r for _, r in rows)), int(held[-1]) if held else 0)
EOF2
    )
    res[tandem,idle]=$idle; res[tandem,peak]=$peak; res[tandem,held]=$held; res[tandem,loadheld]=$run_load
    echo "tandem   memory: idle VmRSS ${idle} KiB; with $HELD calls up: peak ${peak} KiB, ${held} KiB just before the first BYE ($failed failed)" | tee -a "$out/runs.txt"
    stop_server
  fi
done

# Summary.
py() { python3 -c "$1"; }
{
  echo "| server | CPU s / 1,000 calls at 100 cps | at 400 cps | highest clean rate (0 failed; step search; load at its start) | first failing step | highest step with 0 retransmissions too |"
  echo "|---|---:|---:|---:|---|---:|"
  for name in $ONLY; do
    echo "| $name | ${res[$name,cpu100]} (${res[$name,fail100]} failed, load ${res[$name,load100]}) | ${res[$name,cpu400]} (${res[$name,fail400]} failed, load ${res[$name,load400]}) | ${res[$name,best]} cps | ${res[$name,firstfail]} (load ${res[$name,loadstep]}) | ${res[$name,noretrans]} |"
  done
  echo
  if has tandem && has kamailio; then
    echo "- Tandem / Kamailio CPU per call at 400 cps: $(py "print(f'{${res[tandem,cpu400]} / ${res[kamailio,cpu400]}:.2f}')")x (target <= 1.5x)"
  fi
  if has tandem && has sippy; then
    echo "- Tandem / Sippy CPU per call at 100 cps: $(py "print(f'{${res[tandem,cpu100]} / ${res[sippy,cpu100]}:.3f}')")x (target <= 0.25x)"
  fi
  if has tandem && [ "$HELD" -gt 0 ]; then
    echo "- Tandem with $HELD calls up (set up at $HELD_RATE cps, held $((HOLD_LONG_MS / 1000)) s): VmRSS $(py "print(f'{${res[tandem,held]} / 1024:.1f}')") MiB once their transactions have ended, $(py "print(f'{(${res[tandem,held]} - ${res[tandem,idle]}) * 1024 / $HELD:.0f}')") bytes per held call; peak $(py "print(f'{${res[tandem,peak]} / 1024:.1f}')") MiB during the set-up (idle $(py "print(f'{${res[tandem,idle]} / 1024:.1f}')") MiB); ${res[tandem,heldfail]} failed (target < 100 MiB; load ${res[tandem,loadheld]})"
  fi
  echo "- Load average at the end: $(load)"
} | tee "$out/summary.md"
