#!/usr/bin/env bash
# Resolve latency (p50/p99 on one connection) and throughput (16 connections) of Courier's
# naming service against omniNames, in one run on this machine, through the same client
# (`courier naming bench`, release build). Both services bind the same 3-component name.
#   Benchmarks/tools/naming.sh [rounds]     (default 3; the services alternate each round)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-3}
swift build -c release --product courier >/dev/null
courier=.build/release/courier
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cport=$(free_port)
"$courier" naming serve --port "$cport" --db "$tmp/courier.sqlite" >"$tmp/courier.log" 2>&1 &
pids+=($!)
oport=$(free_port)
omniNames -start "$oport" -logdir "$tmp" -ORBendPoint "giop:tcp:127.0.0.1:$oport" >"$tmp/omni.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q READY "$tmp/courier.log" && grep -q successfully "$tmp/omni.log" && break; sleep 0.1; done

for port in "$cport" "$oport"; do
  ref="corbaloc::127.0.0.1:$port/NameService"
  "$courier" naming mkdir --ref "$ref" bench
  "$courier" naming mkdir --ref "$ref" bench/apps
  "$courier" naming bind --ref "$ref" bench/apps/echo "corbaloc::127.0.0.1:9/Echo"
done
echo "machine: $(nproc) cores; $(date -u +%F' '%T) UTC"
for r in $(seq "$rounds"); do
  echo "round $r courier:  $("$courier" naming bench --ref "corbaloc::127.0.0.1:$cport/NameService" bench/apps/echo)"
  echo "round $r omniNames: $("$courier" naming bench --ref "corbaloc::127.0.0.1:$oport/NameService" bench/apps/echo)"
done
