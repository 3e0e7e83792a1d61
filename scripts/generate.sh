#!/usr/bin/env bash
# Regenerates the committed generated code (the built-in services' stubs and skeletons).
#   scripts/generate.sh           # rewrites the files
#   scripts/generate.sh --check   # fails (exit 1) if regenerating would change anything
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product courier-idl >/dev/null
out=$(mktemp -d)
.build/debug/courier-idl --access-level public -o "$out" Sources/CourierNaming/CosNaming.idl
if [ "${1:-}" = "--check" ]; then
  diff -u Sources/CourierNaming/Generated/CosNaming.idl.swift "$out/CosNaming.idl.swift" || {
    echo "generated code is stale: run scripts/generate.sh"; exit 1; }
  echo "generated code is up to date"
else
  cp "$out/CosNaming.idl.swift" Sources/CourierNaming/Generated/
fi
