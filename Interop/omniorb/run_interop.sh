#!/usr/bin/env bash
# run_interop.sh -- omniORB client <-> omniORB server self-test of the interop
# programs (the same runs can be pointed at Courier by swapping one side).
#
#   BUILD=build PORT_BASE=47500 ./run_interop.sh
#
# interop_server on 127.0.0.1:PORT_BASE, demo_server on PORT_BASE+1.
# interop_client runs for GIOP 1.0, 1.1 and 1.2, by IOR file, by the IOR
# string itself and by corbaloc (with and without a version), each with the
# missing-object check; then the server's ping count is compared with the
# number of pings sent. demo_client runs against demo_server likewise.
# Exits 0 iff everything printed ok.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/build}
P=${PORT_BASE:-47500}
DP=$((P + 1))
TMP=$(mktemp -d)
failures=0
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT

wait_ready() {  # FILE: up to 10 s for the READY line
  for _ in $(seq 100); do grep -q '^READY ' "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "server did not start:"; cat "$1"; exit 1
}

run() {  # NAME CMD...: runs a client, shows its output, counts failures
  local name=$1
  shift
  echo "== $name"
  if "$@" >"$TMP/out" 2>"$TMP/err"; then
    sed 's/^/   /' "$TMP/out"
  else
    sed 's/^/   /' "$TMP/out" "$TMP/err"
    echo "   -> FAILED (exit status $?)"
    failures=$((failures + 1))
  fi
}

INTEROP_PINGS_FILE=$TMP/pings "$BUILD/interop_server" "$P" "$TMP/echo.ior" >"$TMP/server.out" 2>"$TMP/server.err" &
SERVER=$!
PIDS="$PIDS $SERVER"
wait_ready "$TMP/server.out"
IOR=$(cat "$TMP/echo.ior")
MISSING="corbaloc::1.2@127.0.0.1:$P/NoSuchKey"
runs=0
for v in 1.0 1.1 1.2; do
  run "interop_client file:IOR GIOP $v" "$BUILD/interop_client" "file:$TMP/echo.ior" "$v" --missing "$MISSING"
  run "interop_client IOR-string GIOP $v" "$BUILD/interop_client" "$IOR" "$v" --missing "$MISSING"
  run "interop_client corbaloc::$v@ GIOP $v" "$BUILD/interop_client" "corbaloc::$v@127.0.0.1:$P/Echo" "$v" --missing "$MISSING"
  runs=$((runs + 3))
done
run "interop_client corbaloc (no version: IIOP 1.0)" "$BUILD/interop_client" "corbaloc::127.0.0.1:$P/Echo" 1.2
runs=$((runs + 1))

kill -TERM "$SERVER"
if wait "$SERVER"; then echo "== interop_server exited 0 on SIGTERM"; else echo "== interop_server exit status $?"; failures=$((failures + 1)); fi
pings=$(cat "$TMP/pings" 2>/dev/null || echo none)
if [ "$pings" = "$((runs * 3))" ]; then
  echo "ok pings-received $pings"
else
  echo "FAIL pings-received: server counted $pings, clients sent $((runs * 3))"
  failures=$((failures + 1))
fi

"$BUILD/demo_server" "$DP" "$TMP/demo.ior" >"$TMP/demo.out" 2>"$TMP/demo.err" &
DEMO=$!
PIDS="$PIDS $DEMO"
wait_ready "$TMP/demo.out"
for v in 1.0 1.1 1.2; do
  run "demo_client file:IOR GIOP $v" "$BUILD/demo_client" "file:$TMP/demo.ior" "$v"
done
run "demo_client corbaloc::1.2@" "$BUILD/demo_client" "corbaloc::1.2@127.0.0.1:$DP/PersonList" 1.2
kill -TERM "$DEMO"
if wait "$DEMO"; then echo "== demo_server exited 0 on SIGTERM"; else echo "== demo_server exit status $?"; failures=$((failures + 1)); fi

if [ "$failures" -eq 0 ]; then echo "ALL OK"; else echo "$failures FAILURE(S)"; fi
[ "$failures" -eq 0 ]
