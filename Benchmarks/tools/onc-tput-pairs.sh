#!/usr/bin/env bash
# Paired 16-connection throughput: Courier's ONC RPC (client and server) against libtirpc's
# (shared/peers oncrpc-echo), back to back, N pairs per payload and transport, order alternating;
# prints each pair's ratio and the median. Servers on CPU 1, clients on CPU 0 (as run-all.sh),
# direct ports on 127.0.0.1 (no rpcbind: the lookup is outside the measured window anyway).
#   Benchmarks/tools/onc-tput-pairs.sh [N] [SECONDS]   (TRANSPORTS="udp", COURIER_ONC_SERVER_ARGS="--udp-threads 1")
set -euo pipefail
N=${1:-8}; SECS=${2:-2}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PEERS=$HERE/../shared/peers
C=$HERE/.build/release/courier
make -s -C "$PEERS/oncrpc-echo"
swift build -c release --product courier --package-path "$HERE" >/dev/null
PC=47610; PS=47611
taskset -c 1 "$PEERS/oncrpc-echo/build/onc_server" $PC norpcbind >/dev/null & CS=$!
taskset -c 1 "$C" onc-bench-server $PS ${COURIER_ONC_SERVER_ARGS:-} >/dev/null & SS=$!
trap 'kill $CS $SS 2>/dev/null' EXIT
sleep 1
cps() { grep -o '"calls_per_s":[0-9.]*' | cut -d: -f2; }
for t in ${TRANSPORTS:-tcp udp}; do
  for p in add 16 1024; do
    ratios=()
    for i in $(seq 1 "$N"); do
      if (( i % 2 )); then
        a=$(ONCRPC_TRANSPORT=$t taskset -c 0 "$C" onc-bench-client 127.0.0.1 $PS $p tput 16 2000000 "$SECS" | cps)
        b=$(ONCRPC_TRANSPORT=$t taskset -c 0 "$PEERS/oncrpc-echo/build/onc_client" 127.0.0.1 $PC $p tput 16 2000000 "$SECS" | cps)
      else
        b=$(ONCRPC_TRANSPORT=$t taskset -c 0 "$PEERS/oncrpc-echo/build/onc_client" 127.0.0.1 $PC $p tput 16 2000000 "$SECS" | cps)
        a=$(ONCRPC_TRANSPORT=$t taskset -c 0 "$C" onc-bench-client 127.0.0.1 $PS $p tput 16 2000000 "$SECS" | cps)
      fi
      ratios+=("$(python3 -c "print(f'{$a/$b:.3f}')")")
      echo "$t $p pair $i: courier $a libtirpc $b ratio ${ratios[-1]}"
    done
    echo "$t $p: median ratio $(printf '%s\n' "${ratios[@]}" | sort -n | python3 -c 'import sys,statistics; v=[float(x) for x in sys.stdin]; print(f"{statistics.median(v):.3f} (quartiles {statistics.quantiles(v, n=4)[0]:.3f}-{statistics.quantiles(v, n=4)[2]:.3f})")')"
  done
done
