#!/bin/bash
# Latency cost of a semantics against plain calls, robust to this machine's drifting speed:
# ROUNDS pairs of short `add` latency runs (client and server pinned to one CPU), each pair
# back to back (maybe, then the other semantics, alternating which goes first), and the
# median of the per-pair p50 ratios.
# usage: semantics-pairs.sh ROUNDS SEMANTICS [CALLS]
HERE=$(cd "$(dirname "$0")" && pwd); B=${COURIER:-$HERE/../../.build/release/courier}
N=${1:-30}; S=${2:-at-most-once}; CALLS=${3:-10000}; PORT=47252
taskset -c 1 $B bench-server $PORT >/dev/null & SP=$!
trap 'kill $SP' EXIT
for i in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
p50() { COURIER_BENCH_SEMANTICS=$1 taskset -c 1 $B bench-client 127.0.0.1 $PORT add lat 1 $CALLS 4 | grep -o '"p50_us":[0-9.]*' | cut -d: -f2; }
ratios=(); base=(); other=()
for i in $(seq $N); do
  if (( i % 2 )); then a=$(p50 maybe); b=$(p50 $S); else b=$(p50 $S); a=$(p50 maybe); fi
  base+=($a); other+=($b); ratios+=($(echo "scale=4; $b / $a" | bc))
done
med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
q() { printf '%s\n' "${@:2}" | sort -n | awk -v p=$1 '{a[NR]=$1} END {print a[int(NR*p+0.5)]}'; }
echo "$S vs maybe, $N pairs of $CALLS calls: p50 ratio median $(med ${ratios[@]}) (quartiles $(q 0.25 ${ratios[@]}) – $(q 0.75 ${ratios[@]})); maybe p50 median $(med ${base[@]}) µs, $S $(med ${other[@]}) µs"
