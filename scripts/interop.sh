#!/usr/bin/env bash
# The interop suite: the real `tandem` binary against real peers (SIPp, sipsak, baresip,
# Kamailio) and public corpora, on loopback only. Installs what it needs (scripts/setup.sh
# interop); fails loudly when a tool or a corpus is missing; never skips.
#
# Corpora come from ../shared/testbed/corpora (TESTBED=... to point elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scripts/setup.sh interop

TESTBED=${TESTBED:-$root/../shared/testbed}
corpora=$TESTBED/corpora
for need in "$corpora/rfc4475" "$corpora/rfc5118" "$corpora/protos-c07-sip/cases"; do
  [ -d "$need" ] || { echo "interop: missing corpus $need (set TESTBED)" >&2; exit 1; }
done
for tool in sipp sipsak python3 sox svwar baresip kamailio tcpdump ss; do
  command -v "$tool" >/dev/null || { echo "interop: $tool not found after setup" >&2; exit 1; }
done

work=$root/.interop
rm -rf "$work"; mkdir -p "$work"
cargo build --locked -p tandem
tandem=${CARGO_TARGET_DIR:-$root/target}/debug/tandem

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
passed=0; failed=0
result() { # name rc
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "interop: $1: ok";
  else failed=$((failed + 1)); echo "interop: $1: FAILED (rc $2)"; fi
}

# Start a server on a loopback port; wait until it answers OPTIONS.
sip_port=15060
"$tandem" serve --config tests/interop/interop.toml --sip 127.0.0.1:$sip_port --http 127.0.0.1:18080 --data "$work/data" \
  > "$work/tandem.log" 2>&1 &
pids+=($!); server_pid=$!
for _ in $(seq 50); do
  sipsak -s "sip:ping@127.0.0.1:$sip_port" >/dev/null 2>&1 && break
  sleep 0.2
done

# 1. sipsak OPTIONS ping.
rc=0; timeout 10 sipsak -v -s "sip:ping@127.0.0.1:$sip_port" > "$work/sipsak.log" 2>&1 || rc=$?
grep -q "SIP/2.0 200" "$work/sipsak.log" || rc=1
result "sipsak OPTIONS ping" $rc

# 2. SIPp OPTIONS, UDP and TCP, 200 pings each.
for t in u1 t1; do
  rc=0
  ( cd "$work"; timeout 60 sipp -sf "$root/tests/interop/options.xml" "127.0.0.1:$sip_port" \
      -i 127.0.0.1 -t $t -m 200 -r 100 -nostdin -timeout 30 -trace_err \
      > "$work/sipp-options-$t.log" 2>&1 ) || rc=$?
  result "sipp OPTIONS x200 ($t)" $rc
done

# 2a. SIPp drops 10% of what it sends and receives (-lost 10): 30 calls (INVITE/200/ACK/BYE
#     into a conference room) must all succeed through retransmissions on both sides.
rc=0
( cd "$work"; timeout 120 sipp -sf "$root/tests/interop/uac.xml" "127.0.0.1:$sip_port" -s conf-loss \
    -i 127.0.0.1 -p 15072 -mi 127.0.0.1 -mp 17100 -d 200 -r 5 -m 30 -l 30 -lost 10 -nostdin \
    -trace_err > "$work/sipp-loss.log" 2>&1 ) || rc=$?
grep -q "Successful call *| *0 *| *30 " "$work/sipp-loss.log" || rc=1
result "sipp 30 calls with 10% loss all succeed" $rc

# 2b. REGISTER with digest authentication: right password 200, wrong password 403, unknown
#     user 403 (the same answer), each after a 401 challenge.
reg() { # name user password scenario
  local rc=0
  ( cd "$work"; timeout 30 sipp -sf "$root/tests/interop/$4" "127.0.0.1:$sip_port" -s "$2" -au "$2" -ap "$3" \
      -i 127.0.0.1 -p 15071 -m 1 -nostdin -trace_err > "$work/sipp-$1.log" 2>&1 ) || rc=$?
  result "sipp REGISTER: $1" $rc
}
reg "right password gets 200" 1000 secret123 register_ok.xml
reg "wrong password gets 403" 1000 wrong register_forbidden.xml
reg "unknown user gets 403" 4242 secret123 register_forbidden.xml

# 2c. sipvicious svwar must not find the accounts 1000 and 1001 among 990-1010.
rc=0
timeout 180 svwar -b 127.0.0.1 -x 127.0.0.1 -p $sip_port -e 990-1010 -m REGISTER --force 127.0.0.1 \
  > "$work/svwar.log" 2>&1 || true
grep -q "found nothing" "$work/svwar.log" || rc=1
grep -E "^\| *(1000|1001) " "$work/svwar.log" && rc=1
result "svwar enumerates no account" $rc

# 3. The RFC 4475 and RFC 5118 messages: the linter's verdicts, then each file over UDP must
#    get the response the linter printed (or none for responses and ACK). A second server with
#    a short T1 (tests/interop/fast-timers.toml) lets each file start its own transaction.
files=("$corpora"/rfc4475/*.dat "$corpora"/rfc5118/*)
"$tandem" sip lint "${files[@]}" > "$work/lint.txt" || [ $? -eq 1 ]
fast_port=15062
"$tandem" serve --config tests/interop/fast-timers.toml --sip 127.0.0.1:$fast_port \
  --http 127.0.0.1:18082 --data "$work/data-fast" > "$work/tandem-fast.log" 2>&1 &
pids+=($!)
sleep 1
rc=0; python3 tests/interop/send_corpus.py --target 127.0.0.1:$fast_port --expect "$work/lint.txt" \
  --gap 0.35 "${files[@]}" > "$work/corpus.log" 2>&1 || rc=$?
tail -n 1 "$work/corpus.log"; [ $rc -eq 0 ] || grep FAIL "$work/corpus.log" || true
result "RFC 4475/5118 over UDP match the linter" $rc

# 4. PROTOS c07-sip: 4,527 malformed INVITEs + CANCELs over UDP, OPTIONS liveness every 100.
rc=0; timeout 600 python3 tests/interop/protos_replay.py --target 127.0.0.1:$sip_port \
  --cases "$corpora/protos-c07-sip/cases" --wait 0.005 --check-every 100 \
  > "$work/protos.log" 2>&1 || rc=$?
tail -n 1 "$work/protos.log"
kill -0 "$server_pid" 2>/dev/null || { echo "interop: tandem died during PROTOS"; rc=1; }
result "PROTOS c07-sip: no crash, no hang" $rc

# 5. Media: the mixer against `sox -m` (sum without scaling) on the same inputs, through the
#    real path (PCMU, RTP, jitter buffer) with no loss: SNR >= 30 dB.
media=$work/media; mkdir -p "$media"
sox -n -r 8000 -b 16 -c 1 "$media/tone440.wav" synth 4 sine 440 vol 0.25
sox -n -r 8000 -b 16 -c 1 "$media/tone1000.wav" synth 4 sine 1000 vol 0.2
sox -t ul -r 8000 -c 1 tests/interop/speech8k.ulaw -b 16 "$media/speech.wav" vol 0.5
rc=0
"$tandem" media mix --codec pcmu "$media/tone440.wav" "$media/tone1000.wav" "$media/speech.wav" \
  -o "$media/mix.wav" > "$media/mix.log" 2>&1 || rc=$?
sox -m -v 1 "$media/tone440.wav" -v 1 "$media/tone1000.wav" -v 1 "$media/speech.wav" "$media/sox-mix.wav"
[ $rc -eq 0 ] && { python3 tests/interop/snr.py "$media/sox-mix.wav" "$media/mix.wav" --min-db 30 || rc=$?; }
result "mixer vs sox -m (PCMU, no loss): SNR >= 30 dB" $rc

# 6. Media: DTMF tones made by sox (not by Tandem) are detected in order.
digits='159#*0D'
declare -A low=([1]=697 [2]=697 [3]=697 [A]=697 [4]=770 [5]=770 [6]=770 [B]=770 [7]=852 [8]=852
  [9]=852 [C]=852 ['*']=941 [0]=941 ['#']=941 [D]=941)
declare -A high=([1]=1209 [4]=1209 [7]=1209 ['*']=1209 [2]=1336 [5]=1336 [8]=1336 [0]=1336
  [3]=1477 [6]=1477 [9]=1477 ['#']=1477 [A]=1633 [B]=1633 [C]=1633 [D]=1633)
parts=()
for ((k = 0; k < ${#digits}; k++)); do
  d=${digits:$k:1}
  sox -n -r 8000 -b 16 -c 1 "$media/d$k.wav" synth 0.1 sine "${low[$d]}" sine "${high[$d]}" channels 1 vol 0.5
  sox -n -r 8000 -b 16 -c 1 "$media/g$k.wav" trim 0 0.08
  parts+=("$media/d$k.wav" "$media/g$k.wav")
done
sox "${parts[@]}" "$media/dtmf.wav"
got=$("$tandem" media dtmf-detect "$media/dtmf.wav" 2>&1 || true)
rc=0; [ "$got" = "$digits" ] || { echo "interop: DTMF: wanted $digits, got $got"; rc=1; }
result "DTMF from sox synth detected ($digits)" $rc

# 7. Media: a real RTP peer (SIPp rtp_stream, G.711 µ-law) calls a conference room; Tandem's
#    recording of the room must hold the stream intact (bit-exact windows at >= 30 dB).
rm -rf "$work/data/recordings"/rec-*.wav
cp tests/interop/speech8k.ulaw "$media/"
rc=0
( cd "$media"; timeout 60 sipp -sf "$root/tests/interop/uac_rtp.xml" "127.0.0.1:$sip_port" -s conf-rec \
    -i 127.0.0.1 -p 15070 -mi 127.0.0.1 -mp 17000 -d 4000 -m 1 -nostdin -trace_err \
    > "$media/sipp-rtp.log" 2>&1 ) || rc=$?
sleep 0.5
rec=$(ls "$work/data/recordings"/rec-*.wav 2>/dev/null | head -n 1)
sox -t ul -r 8000 -c 1 tests/interop/speech8k.ulaw -b 16 "$media/speech-ref.wav"
if [ $rc -eq 0 ] && [ -n "$rec" ]; then
  python3 tests/interop/snr.py "$media/speech-ref.wav" "$rec" --segmental 160 --min-db 30 || rc=$?
else
  echo "interop: no recording (sipp rc $rc)"; rc=1
fi
result "SIPp RTP stream into a room, recorded intact" $rc

# 8. Scenario 1, back to back: SIPp UAC -> Tandem ([[route]] in tests/interop/b2b.toml) ->
#    SIPp UAS. First 5 traced calls: the UAS sees Tandem's own Via/Contact/Call-ID (topology
#    hidden), the passed-through Subject and the route's extra header; then 1,000 calls at
#    100 calls/s with 0 failed.
b2b_port=15074
"$tandem" serve --config tests/interop/b2b.toml --sip 127.0.0.1:$b2b_port --http 127.0.0.1:18094 \
  --data "$work/data-b2b" > "$work/tandem-b2b.log" 2>&1 &
pids+=($!)
sleep 1
b2b() { # name calls rate trace?
  local dir="$work/b2b-$1"; mkdir -p "$dir"
  ( cd "$dir"; timeout 120 sipp -sf "$root/tests/interop/uas.xml" -i 127.0.0.1 -p 15080 -m "$2" -nostdin \
      -buff_size 4194304 -trace_err ${4:-} > uas.log 2>&1 ) &
  local uas=$!
  sleep 0.5
  local rc=0
  ( cd "$dir"; timeout 120 sipp -sf "$root/tests/interop/uac.xml" "127.0.0.1:$b2b_port" -s callee \
      -i 127.0.0.1 -p 15061 -mi 127.0.0.1 -mp 17000 -d 100 -r "$3" -m "$2" -l "$2" -nostdin \
      -buff_size 4194304 -trace_err > uac.log 2>&1 ) || rc=$?
  wait $uas || rc=$?
  grep -q "Successful call *| *0 *| *$2 " "$dir/uac.log" || rc=1
  return $rc
}
rc=0; b2b traced 5 5 -trace_msg || rc=$?
msgs=$(ls "$work"/b2b-traced/uas_*_messages.log 2>/dev/null | head -n 1)
if [ -z "$msgs" ]; then rc=1; else
  grep -q "^X-Tandem-Route: interop" "$msgs" || { echo "interop: no route header on leg B"; rc=1; }
  grep -q "^Subject: B2BUA test" "$msgs" || { echo "interop: Subject not passed through"; rc=1; }
  if grep -E "^(Via|Contact|Record-Route):.*:15061" "$msgs"; then echo "interop: leg A leaked"; rc=1; fi
  if grep -E "^Call-ID: .*@127.0.0.1" "$msgs"; then echo "interop: leg A Call-ID leaked"; rc=1; fi
fi
result "b2b: 5 calls, topology hidden, headers as configured" $rc
rc=0; b2b load 1000 100 || rc=$?
grep -E "Successful call|Failed call" "$work/b2b-load/uac.log" | tail -n 2
result "b2b: 1,000 calls at 100 calls/s, 0 failed" $rc

# 9-11 run against a second back-to-back server (tests/interop/b2b-flows.toml): sip:b@ goes to
#    baresip b, sip:viakam@ through Kamailio, anything else to the SIPp UAS on 15280.
flows_port=15270
"$tandem" serve --config tests/interop/b2b-flows.toml --sip 127.0.0.1:$flows_port \
  --http 127.0.0.1:18270 --data "$work/data-flows" > "$work/tandem-flows.log" 2>&1 &
pids+=($!); flows_pid=$!
for _ in $(seq 50); do
  sipsak -s "sip:ping@127.0.0.1:$flows_port" >/dev/null 2>&1 && break
  sleep 0.2
done
if kill -0 $flows_pid 2>/dev/null; then result "b2b-flows server up on $flows_port" 0; else
  tail -n 3 "$work/tandem-flows.log"; result "b2b-flows server up on $flows_port" 1
fi

# Wait until something listens on a UDP port of 127.0.0.1 (a SIPp UAS, baresip): under load a
# fixed sleep can let the first INVITE reach a closed port.
wait_udp() { # port
  for _ in $(seq 100); do
    ss -H -uln "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  echo "interop: nothing listens on UDP $1"
}

# On a failed check: SIPp's exit lines and the first lines of its error logs.
show_errors() { # dir
  local f
  for f in "$1"/uac.log "$1"/uas.log; do grep -h -m2 -E "Exit|rror|Aborting" "$f" 2>/dev/null || true; done
  for f in "$1"/*_errors.log; do [ -f "$f" ] && { echo "--- $f"; head -c 1500 "$f"; echo; }; done
  return 0
}

# 9. Scenario 1 call flows, SIPp UAC (15281) -> Tandem -> SIPp UAS (15280), 3 calls each, with
#    tests/interop/b2b_<flow>_uac.xml / _uas.xml. Both SIPp must exit 0 and count 3 successful,
#    0 failed calls: the scenarios check each message the other side must see (the relayed
#    BYE, CANCEL/487, 486, the hold offer a=sendonly and its a=recvonly answer ACKed end to end,
#    the late offer's answer in leg B's ACK, the re-INVITE without SDP, UPDATE, INFO, 183 SDP).
flow() { # flow description calls [target service tag]
  local dir="$work/flow-$1${6:-}" rc=0 side
  mkdir -p "$dir"
  ( cd "$dir"; timeout 30 sipp -sf "$root/tests/interop/b2b_$1_uas.xml" -i 127.0.0.1 -p 15280 \
      -m "$3" -nostdin -timeout 20 -trace_err -trace_msg > uas.log 2>&1 ) &
  local uas=$!
  wait_udp 15280
  ( cd "$dir"; timeout 30 sipp -sf "$root/tests/interop/b2b_$1_uac.xml" "${4:-127.0.0.1:$flows_port}" \
      -s "${5:-callee}" -i 127.0.0.1 -p 15281 -mi 127.0.0.1 -mp 17200 -r 10 -m "$3" -l "$3" -nostdin \
      -timeout 20 -trace_err -trace_msg > uac.log 2>&1 ) || rc=$?
  wait $uas || rc=$?
  for side in uac uas; do
    grep -q "Successful call *| *0 *| *$3 " "$dir/$side.log" && grep -q "Failed call *| *0 *| *0 " "$dir/$side.log" \
      || { echo "interop: $1: the $side did not count $3 successful, 0 failed calls"; rc=1; }
  done
  [ $rc -eq 0 ] || show_errors "$dir"
  [ -z "${6:-}" ] || return $rc
  result "b2b flow: $2 ($3 calls)" $rc
}
flow callee_bye "callee hangs up (UAS sends BYE)" 3
flow cancel "caller cancels after 180, gets 487" 3
flow busy "callee busy, caller gets 486" 3
flow reinvite_caller "re-INVITE (hold) from the caller, answered and ACKed end to end" 3
flow reinvite_callee "re-INVITE (hold) from the callee, answered and ACKed end to end" 3
flow late_offer "late offer: offer in 200, answer in both ACKs" 3
flow reinvite_nosdp "re-INVITE without SDP from the caller: offer in 200, answer in ACK" 3
flow update "UPDATE (hold) from the callee, answered end to end" 3
flow info "INFO (DTMF) from the caller relayed, 200 back" 3
flow early_media "early media: 183 with SDP relayed before the 200" 3

# 10. baresip a (15300) dials sip:b@Tandem; Tandem calls baresip b (15310, auto-answer). Real
#     audio: a sends a 440 Hz tone for 4 s (its end hangs up), b a 1 kHz tone. Each recording
#     (baresip's sndfile module) must hold the other's tone (sox stat's rough frequency), and a
#     capture on lo (tcpdump) must count > 100 RTP packets between the two baresips (> 50 each
#     way) and 0 non-SIP datagrams to or from Tandem's UDP ports (media flows peer to peer).
bs=$work/baresip; mkdir -p "$bs/rec_a" "$bs/rec_b"
for u in a b; do
  mkdir -p "$bs/$u"
  sed "s#WORKDIR#$bs#g" "tests/interop/baresip/$u/config" > "$bs/$u/config"
  cp "tests/interop/baresip/$u/accounts" "$bs/$u/accounts"
done
sox -n -r 8000 -b 16 -c 1 "$bs/tone440.wav" synth 4 sine 440 vol 0.5
sox -n -r 8000 -b 16 -c 1 "$bs/tone1000.wav" synth 10 sine 1000 vol 0.5
tandem_udp=$(ss -H -uanp | { grep "pid=$flows_pid," || true; } | awk '{print $4}' | sed 's/.*://' | sort -u | paste -sd, -)
timeout 40 tcpdump -i lo -n -U -w "$bs/lo.pcap" udp > "$bs/tcpdump.log" 2>&1 &
pids+=($!); tcpdump_pid=$!
for _ in $(seq 50); do grep -q "listening on" "$bs/tcpdump.log" && break; sleep 0.1; done
rc=0
timeout 20 baresip -f "$bs/b" -t 9 > "$bs/b.log" 2>&1 &
callee=$!
wait_udp 15310
timeout 20 baresip -f "$bs/a" -e "/dial sip:b@127.0.0.1:$flows_port" -t 7 > "$bs/a.log" 2>&1 || rc=$?
wait $callee || rc=$?
kill -INT $tcpdump_pid 2>/dev/null || true; wait $tcpdump_pid || true
[ $rc -eq 0 ] || echo "interop: baresip exited with $rc"
tone() { # wav low high: the rough frequency of wav lies in [low, high]
  local f
  f=$(sox "$1" -n stat 2>&1 | awk '/Rough/ {print $3}')
  echo "interop: $(basename "$(dirname "$1")")/$(basename "$1"): rough frequency ${f:-none} Hz"
  [ -n "$f" ] && [ "$f" -ge "$2" ] && [ "$f" -le "$3" ]
}
dec_b=$(ls "$bs"/rec_b/dump-*-dec.wav 2>/dev/null | head -n 1)
dec_a=$(ls "$bs"/rec_a/dump-*-dec.wav 2>/dev/null | head -n 1)
if [ -z "$dec_b" ] || [ -z "$dec_a" ]; then echo "interop: baresip wrote no recording"; rc=1; else
  tone "$dec_b" 420 460 || { echo "interop: the callee did not receive the caller's 440 Hz"; rc=1; }
  tone "$dec_a" 950 1050 || { echo "interop: the caller did not receive the callee's 1 kHz"; rc=1; }
fi
result "baresip -> Tandem -> baresip: each side hears the other's tone" $rc
rc=0
if [ -z "$tandem_udp" ]; then echo "interop: no UDP socket of Tandem found"; rc=1; else
  python3 tests/interop/rtp_count.py "$bs/lo.pcap" --a 21400-21419 --b 22400-22419 \
    --tandem "$tandem_udp" --min-rtp 100 || rc=$?
fi
result "baresip call: > 100 RTP packets peer to peer, none at Tandem ($tandem_udp)" $rc

# 11. Kamailio (tests/interop/kamailio/kamailio-proxy.cfg, foreground, 15400) as a stateful
#     proxy on each side of Tandem, 20 calls each way with uac.xml/uas.xml, 0 failed:
#     SIPp UAC -> Kamailio -> Tandem -> SIPp UAS (Tandem's 200 carries Kamailio's Record-Route,
#     the UAC's ACK and BYE are routed through it) and SIPp UAC -> Tandem -> Kamailio -> SIPp UAS
#     (Tandem's ACK and BYE reach the UAS through Kamailio: its Via on top).
kam=$work/kamailio; mkdir -p "$kam"
timeout 120 kamailio -f tests/interop/kamailio/kamailio-proxy.cfg -DD -E -m 64 -M 8 -P "$kam/kam.pid" \
  > "$kam/kamailio.log" 2>&1 &
pids+=($!); kam_pid=$!
for _ in $(seq 50); do
  sipsak -s "sip:totandem@127.0.0.1:15400" >/dev/null 2>&1 && break
  sleep 0.2
done
if kill -0 "$kam_pid" 2>/dev/null; then result "kamailio up on 15400" 0; else
  tail -n 5 "$kam/kamailio.log"; result "kamailio up on 15400" 1
fi
kamflow() { # name target service
  local dir="$kam/$1" rc=0 side
  mkdir -p "$dir"
  ( cd "$dir"; timeout 60 sipp -sf "$root/tests/interop/uas.xml" -i 127.0.0.1 -p 15280 -m 20 -nostdin \
      -timeout 40 -buff_size 4194304 -trace_err -trace_msg > uas.log 2>&1 ) &
  local uas=$!
  wait_udp 15280
  ( cd "$dir"; timeout 60 sipp -sf "$root/tests/interop/uac.xml" "$2" -s "$3" -i 127.0.0.1 -p 15281 \
      -mi 127.0.0.1 -mp 17200 -d 100 -r 20 -m 20 -l 20 -nostdin -timeout 40 -buff_size 4194304 \
      -trace_err -trace_msg > uac.log 2>&1 ) || rc=$?
  wait $uas || rc=$?
  for side in uac uas; do
    grep -q "Successful call *| *0 *| *20 " "$dir/$side.log" && grep -q "Failed call *| *0 *| *0 " "$dir/$side.log" \
      || { echo "interop: kamailio $1: the $side did not count 20 successful, 0 failed calls"; rc=1; }
  done
  [ $rc -eq 0 ] || { show_errors "$dir"; tail -n 5 "$kam/kamailio.log"; }
  return $rc
}
rc=0; kamflow in-front "127.0.0.1:15400" totandem || rc=$?
n=$(cat "$kam"/in-front/uac_*_messages.log 2>/dev/null | grep -c "^Route: <sip:127.0.0.1:15400;lr" || true)
[ "$n" -eq 40 ] || { echo "interop: $n of 40 ACK/BYE routed through Kamailio"; rc=1; }
result "SIPp -> Kamailio -> Tandem -> SIPp: 20 calls, 0 failed" $rc
rc=0; kamflow behind "127.0.0.1:$flows_port" viakam || rc=$?
n=$(cat "$kam"/behind/uas_*_messages.log 2>/dev/null | grep -A1 -E "^(ACK|BYE) " | grep -c "^Via: SIP/2.0/UDP 127.0.0.1:15400" || true)
[ "$n" -eq 40 ] || { echo "interop: $n of 40 ACK/BYE from Tandem came through Kamailio"; rc=1; }
result "SIPp -> Tandem -> Kamailio -> SIPp: 20 calls, 0 failed" $rc
# In-dialog requests from Tandem along Kamailio's Record-Route: the callee's BYE reaches the
# caller through Kamailio in front; the callee's re-INVITE (hold) leaves through Kamailio
# behind, and Tandem's BYE reaches the callee through it.
rc=0; flow callee_bye "" 3 127.0.0.1:15400 totandem -kam-front || rc=$?
n=$(cat "$work"/flow-callee_bye-kam-front/b2b_callee_bye_uac_*_messages.log 2>/dev/null \
  | grep -A1 "^BYE " | grep -c "^Via: SIP/2.0/UDP 127.0.0.1:15400" || true)
[ "$n" -eq 3 ] || { echo "interop: $n of 3 BYEs to the caller came through Kamailio"; rc=1; }
result "callee hangs up, Kamailio in front: Tandem's BYE follows the route set (3 calls)" $rc
rc=0; flow reinvite_callee "" 3 "127.0.0.1:$flows_port" viakam -kam-behind || rc=$?
n=$(cat "$work"/flow-reinvite_callee-kam-behind/b2b_reinvite_callee_uas_*_messages.log 2>/dev/null \
  | grep -c "^Route: <sip:127.0.0.1:15400;lr" || true)
[ "$n" -eq 6 ] || { echo "interop: $n of 6 re-INVITE/ACK from the callee routed through Kamailio"; rc=1; }
n=$(cat "$work"/flow-reinvite_callee-kam-behind/b2b_reinvite_callee_uas_*_messages.log 2>/dev/null \
  | grep -A1 "^BYE " | grep -c "^Via: SIP/2.0/UDP 127.0.0.1:15400" || true)
[ "$n" -eq 3 ] || { echo "interop: $n of 3 BYEs to the callee came through Kamailio"; rc=1; }
result "re-INVITE (hold) from the callee, Kamailio behind Tandem (3 calls)" $rc
kill "$kam_pid" 2>/dev/null || true

# 12. The SDK's examples (crates/sdk/examples) between SIPp peers: back_to_back forwards 20
#     calls from the SIPp UAC to the SIPp UAS and prints every state change; screening passes
#     an allowed caller with `X-Screened: passed` and declines another with 603.
cargo build --locked -p tandem-sdk --examples
ex=${CARGO_TARGET_DIR:-$root/target}/debug/examples
sdk() { # name example-args... : run an SDK example until it exits by itself (MAX_CALLS)
  local dir="$work/sdk-$1"; shift; mkdir -p "$dir"
  "$ex/$@" > "$dir/example.log" 2>&1 &
  sdk_pid=$!; pids+=($sdk_pid)
}
sdk_wait() { # name: wait up to 20 s for the example to exit
  for _ in $(seq 200); do kill -0 "$sdk_pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$sdk_pid" 2>/dev/null; then echo "interop: $1 did not exit"; kill "$sdk_pid"; return 1; fi
  wait "$sdk_pid"
}
sdk_peers() { # dir calls uas-extra...
  local dir=$1 n=$2; shift 2
  ( cd "$dir"; timeout 60 sipp -sf "$root/tests/interop/uas.xml" -i 127.0.0.1 -p 15580 -m "$n" \
      -nostdin "$@" > uas.log 2>&1 ) &
  local uas=$! rc=0
  sleep 0.5
  ( cd "$dir"; timeout 60 sipp -sf "$root/tests/interop/uac.xml" 127.0.0.1:15500 -s callee \
      -i 127.0.0.1 -p 15561 -mi 127.0.0.1 -mp 17500 -d 100 -r 10 -m "$n" -l "$n" -nostdin \
      > uac.log 2>&1 ) || rc=$?
  wait $uas || rc=$?
  grep -q "Successful call *| *0 *| *$n " "$dir/uac.log" || rc=1
  return $rc
}
rc=0; sdk b2b back_to_back 127.0.0.1:15500 sip:service@127.0.0.1:15580 20
sdk_peers "$work/sdk-b2b" 20 || rc=$?
sdk_wait back_to_back || rc=$?
[ "$(grep -c -- '-> Terminated' "$work/sdk-b2b/example.log")" -eq 20 ] || { echo "interop: missing state changes"; rc=1; }
result "sdk: back_to_back example, SIPp UAC -> SDK -> SIPp UAS, 20 calls" $rc
rc=0; sdk screen screening 127.0.0.1:15500 sip:service@127.0.0.1:15580 sipp 5
sdk_peers "$work/sdk-screen" 5 -trace_msg || rc=$?
sdk_wait screening || rc=$?
grep -q "^X-Screened: passed" "$work"/sdk-screen/uas_*_messages.log || { echo "interop: no X-Screened"; rc=1; }
result "sdk: screening example passes an allowed caller with its header" $rc
rc=0; sdk refuse screening 127.0.0.1:15500 sip:service@127.0.0.1:15580 alice 1
( cd "$work/sdk-refuse"; timeout 30 sipp -sf "$root/tests/interop/uac.xml" 127.0.0.1:15500 -s callee \
    -i 127.0.0.1 -p 15561 -m 1 -nostdin -trace_msg > uac.log 2>&1 ) || true
sdk_wait screening || rc=$?
grep -q "^SIP/2.0 603 Decline" "$work"/sdk-refuse/uac_*_messages.log || { echo "interop: no 603"; rc=1; }
result "sdk: screening example declines a caller not in its list (603)" $rc

# The server must still be alive and must not have panicked.
if grep -q "panicked" "$work"/tandem*.log; then
  grep -m3 "panicked" "$work"/tandem*.log; result "no panic in the server log" 1
else
  result "no panic in the server log" 0
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
