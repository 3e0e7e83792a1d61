#!/usr/bin/env bash
# capture.sh [OUTDIR]
#
# Rebuilds the omniORB interop programs and recaptures every golden file into
# OUTDIR (default: the folder this script is in). Needs omniORB 4.2 (omniidl,
# libomniorb4-dev, catior), g++, make and python3. Uses 127.0.0.1 only:
#   PORT_BASE   (default 47520) interop_server listens here,
#   PORT_BASE+1 giop_proxy.py (the IOR the server publishes points here),
#   PORT_BASE+2 a second, plain interop_server whose IOR becomes ior_echo.txt.
# BUILD (default ../build) is where the C++ programs are built.
#
# How the bytes are captured:
#  * omniORB client <-> omniORB server: golden_client talks to interop_server
#    through giop_proxy.py, which logs every byte each way (raw/<scenario>.jsonl).
#    interop_server publishes the proxy's port in its IOR
#    (-ORBendPointPublish giop:tcp:127.0.0.1:PORT_BASE+1) while it listens on
#    PORT_BASE, so clients using the IOR go through the proxy unknowingly.
#  * Hand-made messages: giop_craft.py sends them straight to interop_server
#    and logs what it sent and what came back (raw/crafted.jsonl, raw/hold*.jsonl).
#  * Cross-check: the omniORB server (and the GIOP 1.2 client run) also run
#    with -ORBtraceLevel 40, which hex-dumps every GIOP message omniORB sends
#    or receives in full (level 30 dumps only the first 128 bytes of each);
#    verify_golden.py compares the golden files with those dumps (raw/*.trace).
# make_golden.py then cuts the messages out of the logs into <case>.hex files
# with a field-by-field breakdown as comments.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$HERE}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
BUILD=${BUILD:-$HERE/../build}
P=${PORT_BASE:-47520}
PROXY=$((P + 1))
PLAIN=$((P + 2))
RAW=$OUT/raw

make -s -C "$HERE/.." BUILD="$BUILD" >&2
BUILD=$(cd "$BUILD" && pwd)
rm -rf "$RAW"
mkdir -p "$RAW"

PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

# wait_for FILE PATTERN: up to 10 s for PATTERN to appear in FILE.
wait_for() {
  for _ in $(seq 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "capture.sh: timed out waiting for '$2' in $1" >&2
  return 1
}

echo "== interop_server on $P (IOR points at the proxy on $PROXY)" >&2
INTEROP_PINGS_FILE=$RAW/pings.txt "$BUILD/interop_server" "$P" "$RAW/server.ior" \
  -ORBendPointPublish "giop:tcp:127.0.0.1:$PROXY" \
  -ORBtraceLevel 40 -ORBtraceFile "$RAW/server.trace" >"$RAW/server.out" 2>"$RAW/server.err" &
SERVER=$!
PIDS="$PIDS $SERVER"
wait_for "$RAW/server.out" '^READY '

# through_proxy NAME CMD...: runs CMD while giop_proxy.py logs to raw/NAME.jsonl.
through_proxy() {
  local name=$1
  shift
  python3 "$HERE/giop_proxy.py" "$PROXY" "$P" "$RAW/$name.jsonl" >"$RAW/$name.proxy.out" &
  local proxy=$!
  PIDS="$PIDS $proxy"
  wait_for "$RAW/$name.proxy.out" '^PROXY '
  echo "== $name: $*" >&2
  "$@" >"$RAW/$name.out" 2>&1 || echo "   (exit status $?: a step raised an exception -- expected only for missing_1_2)" >&2
  sed 's/^/   /' "$RAW/$name.out" >&2
  sleep 0.5            # let the last messages and the close reach the log
  kill "$proxy"
  wait "$proxy" 2>/dev/null || true
}

IOR=file:$RAW/server.ior
STEPS="narrow add:2:40 echo:16 ping non_existent is_a:IDL:Bench/Echo:1.0 is_a:IDL:Other:1.0"
through_proxy giop_1_0 "$BUILD/golden_client" "$IOR" 1.0 $STEPS
through_proxy giop_1_1 "$BUILD/golden_client" "$IOR" 1.1 $STEPS
through_proxy giop_1_2 "$BUILD/golden_client" "$IOR" 1.2 $STEPS \
  -ORBtraceLevel 40 -ORBtraceFile "$RAW/client_giop_1_2.trace"
through_proxy corbaloc_default "$BUILD/golden_client" "corbaloc::127.0.0.1:$PROXY/Echo" 1.2 narrow add:2:40
through_proxy corbaloc_1_2 "$BUILD/golden_client" "corbaloc::1.2@127.0.0.1:$PROXY/Echo" 1.2 narrow add:2:40
through_proxy missing_1_2 "$BUILD/golden_client" "corbaloc::1.2@127.0.0.1:$PROXY/NoSuchKey" 1.2 add:1:2
through_proxy frag_1_2 "$BUILD/golden_client" "$IOR" 1.2 echo:9000 echo:16384
through_proxy frag_1_1 "$BUILD/golden_client" "$IOR" 1.1 echo:9000 echo:16384
through_proxy frag_1_0 "$BUILD/golden_client" "$IOR" 1.0 echo:9000

echo "== hand-made messages (giop_craft.py -> interop_server:$P)" >&2
python3 "$HERE/giop_craft.py" "$P" "$RAW/crafted.jsonl" | sed 's/^/   /' >&2

echo "== server shutdown with two connected clients (GIOP 1.2 and 1.0)" >&2
HOLD_SECONDS=6 python3 "$HERE/giop_craft.py" "$P" "$RAW/hold.jsonl" hold >"$RAW/hold.out" &
H1=$!
HOLD_SECONDS=6 python3 "$HERE/giop_craft.py" "$P" "$RAW/hold_1_0.jsonl" hold_1_0 >"$RAW/hold_1_0.out" &
H2=$!
PIDS="$PIDS $H1 $H2"
sleep 1.5
kill -TERM "$SERVER"
wait "$SERVER" && echo "   interop_server exited 0 on SIGTERM; pings received: $(cat "$RAW/pings.txt")" >&2
wait "$H1" "$H2" || true
sed 's/^/   /' "$RAW/hold.out" "$RAW/hold_1_0.out" >&2

echo "== plain interop_server on $PLAIN for ior_echo.txt" >&2
"$BUILD/interop_server" "$PLAIN" "$RAW/plain.ior" >"$RAW/plain.out" 2>&1 &
PLAIN_PID=$!
PIDS="$PIDS $PLAIN_PID"
wait_for "$RAW/plain.out" '^READY '
kill -TERM "$PLAIN_PID"
wait "$PLAIN_PID" || true
cp "$RAW/plain.ior" "$OUT/ior_echo.txt"      # exactly what the server wrote
catior "$(cat "$RAW/plain.ior")" >"$OUT/ior_echo.catior.txt"

echo "== writing golden files" >&2
python3 "$HERE/make_golden.py" "$RAW" "$OUT"
echo "== checking them against omniORB's own trace dumps" >&2
python3 "$HERE/verify_golden.py" "$OUT"
