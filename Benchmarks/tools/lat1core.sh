#!/bin/bash
# Repeated "p50 µs, 1 core" runs (client and server pinned to the same CPU), systems interleaved.
# usage: lat1core.sh ROUNDS
HERE=$(cd "$(dirname "$0")" && pwd); B=$HERE/../../.build/release/courier; O=${PEERS:-$HERE/../../../shared/peers}/omniorb-echo/build; N=${1:-7}
taskset -c 1 $O/omni_server 47240 /tmp/o40.ior >/dev/null & OP=$!
taskset -c 1 $B bench-server 47241 >/dev/null & CP=$!
sleep 1
declare -A res
for i in $(seq $N); do
  for p in add 16 1024 65536; do
    o=$(taskset -c 1 $O/omni_client 127.0.0.1 47240 $p lat 1 20000 4 | grep -o '"p50_us":[0-9.]*' | cut -d: -f2)
    c=$(taskset -c 1 $B bench-client 127.0.0.1 47241 $p lat 1 20000 4 | grep -o '"p50_us":[0-9.]*' | cut -d: -f2)
    res[omni$p]="${res[omni$p]} $o"; res[cour$p]="${res[cour$p]} $c"
  done
done
kill $OP $CP
med() { echo $@ | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for p in add 16 1024 65536; do
  mo=$(med ${res[omni$p]}); mc=$(med ${res[cour$p]})
  echo "$p: omniORB median $mo [${res[omni$p]} ]  courier median $mc [${res[cour$p]} ]  ratio $(echo "scale=2; $mc / $mo" | bc)"
done
