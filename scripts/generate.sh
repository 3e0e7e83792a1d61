#!/usr/bin/env bash
# Regenerates the committed generated code (the built-in services' stubs and skeletons).
#   scripts/generate.sh           # rewrites the files
#   scripts/generate.sh --check   # fails (exit 1) if regenerating would change anything
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product courier-idl >/dev/null
out=$(mktemp -d)
files=(CosNaming Binder)
for f in "${files[@]}"; do
  .build/debug/courier-idl --access-level public -o "$out" "Sources/CourierNaming/$f.idl"
done
if [ "${1:-}" = "--check" ]; then
  for f in "${files[@]}"; do
    diff -u "Sources/CourierNaming/Generated/$f.idl.swift" "$out/$f.idl.swift" || {
      echo "generated code is stale: run scripts/generate.sh"; exit 1; }
  done
  echo "generated code is up to date"
else
  for f in "${files[@]}"; do cp "$out/$f.idl.swift" Sources/CourierNaming/Generated/; done
fi
