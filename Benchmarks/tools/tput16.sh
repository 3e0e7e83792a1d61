#!/bin/bash
# Repeated 16-connection throughput (client on CPU 0, server on CPU 1, as the driver pins), interleaved.
HERE=$(cd "$(dirname "$0")" && pwd); B=$HERE/../../.build/release/courier; O=${PEERS:-$HERE/../../../shared/peers}/omniorb-echo/build; N=${1:-5}
taskset -c 1 $O/omni_server 47242 /tmp/o42.ior >/dev/null & OP=$!
taskset -c 1 $B bench-server 47243 >/dev/null & CP=$!
sleep 1
declare -A res
for i in $(seq $N); do
  for p in add 16 1024 65536; do
    o=$(taskset -c 0 $O/omni_client 127.0.0.1 47242 $p tput 16 2000000 1 | grep -o '"calls_per_s":[0-9.]*' | cut -d: -f2 | cut -d. -f1)
    c=$(taskset -c 0 $B bench-client 127.0.0.1 47243 $p tput 16 2000000 1 | grep -o '"calls_per_s":[0-9.]*' | cut -d: -f2 | cut -d. -f1)
    res[omni$p]="${res[omni$p]} $o"; res[cour$p]="${res[cour$p]} $c"
  done
done
kill $OP $CP
med() { echo $@ | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for p in add 16 1024 65536; do
  mo=$(med ${res[omni$p]}); mc=$(med ${res[cour$p]})
  echo "$p: omniORB median $mo [${res[omni$p]} ]  courier median $mc [${res[cour$p]} ]  ratio $(echo "scale=2; $mc / $mo" | bc)"
done
