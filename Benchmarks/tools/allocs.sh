#!/bin/bash
# Mallocs per call on the client and the server (Courier client -> Courier server), from a
# uprobe on glibc malloc: the difference between a 20000-call and a 10000-call run, /10000.
# Needs perf and: perf probe -x /lib/x86_64-linux-gnu/libc.so.6 --add malloc
# usage: allocs.sh PAYLOAD  -> mallocs per call on client and server (difference of 20000- and 10000-call runs)
HERE=$(cd "$(dirname "$0")" && pwd); B=$HERE/../../.build/release/courier
one() {
  taskset -c 1 $B bench-server 47207 > /tmp/srv.log 2>&1 & SP=$!; sleep 1
  perf stat -x, -e probe_libc:malloc -p $SP 2> /tmp/ms.txt & PS=$!; sleep 0.3
  perf stat -x, -e probe_libc:malloc -- taskset -c 0 $B bench-client 127.0.0.1 47207 $1 lat 1 $2 30 2> /tmp/mc.txt > /dev/null
  sleep 0.2; kill -INT $PS; wait $PS; kill $SP; wait $SP
  echo "$(cut -d, -f1 /tmp/mc.txt | head -1) $(cut -d, -f1 /tmp/ms.txt | head -1)"
}
read c1 s1 <<< "$(one $1 10000)"; read c2 s2 <<< "$(one $1 20000)"
echo "$1: client $(( (c2-c1) )) / 10000 calls, server $(( (s2-s1) )) / 10000 calls"
