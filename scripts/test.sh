#!/usr/bin/env bash
# Runs Courier's whole test suite. Installs what the tests need from Debian when it is
# missing: omniORB and its IDL compiler, g++, make (the GIOP peer for the interop tests);
# rpcbind, rpcgen (rpcsvc-proto), libtirpc, libnsl (the ONC RPC peer and the .x files).
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
for pkg in omniorb omniidl omniorb-idl omniorb-nameserver libomniorb4-dev g++ make pkg-config \
           gcc rpcbind rpcsvc-proto libtirpc-dev libnsl-dev iproute2 util-linux python3; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

swift build --build-tests
# Committed generated code (the naming service's stubs) must match what courier-idl makes now.
./scripts/generate.sh --check
log=$(mktemp)
set +e
swift test --skip-build 2>&1 | tee "$log" | grep -E '✘|error:|Test run|Executed'
status=${PIPESTATUS[0]}
set -e
echo "full log: $log"
exit "$status"
