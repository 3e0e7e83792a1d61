#!/bin/bash
# add p50 (µs, client and server pinned to one CPU) and 16-connection calls/s for each
# invocation semantics against one Courier server, runs interleaved; medians printed.
# usage: semantics.sh ROUNDS [semantics...]   (default: maybe at-least-once at-most-once)
HERE=$(cd "$(dirname "$0")" && pwd); B=${COURIER:-$HERE/../../.build/release/courier}; N=${1:-5}; shift
SEMS=${@:-maybe at-least-once at-most-once}
PORT=47251
taskset -c 1 $B bench-server $PORT >/dev/null & SP=$!
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
declare -A lat tput
for i in $(seq $N); do
  for s in $SEMS; do
    l=$(COURIER_BENCH_SEMANTICS=$s taskset -c 1 $B bench-client 127.0.0.1 $PORT add lat 1 20000 4 | grep -o '"p50_us":[0-9.]*' | cut -d: -f2)
    t=$(COURIER_BENCH_SEMANTICS=$s $B bench-client 127.0.0.1 $PORT add tput 16 200000 3 | grep -o '"calls_per_s":[0-9.]*' | cut -d: -f2)
    lat[$s]="${lat[$s]} $l"; tput[$s]="${tput[$s]} $t"
  done
done
kill $SP
med() { echo $@ | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(med ${lat[maybe]})
for s in $SEMS; do
  m=$(med ${lat[$s]})
  echo "$s: add p50 median $m µs [${lat[$s]} ] (x$(echo "scale=3; $m / $base" | bc) of maybe)  16-conn calls/s median $(med ${tput[$s]}) [${tput[$s]} ]"
done
