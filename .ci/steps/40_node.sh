#!/usr/bin/env bash
# The npm build (esbuild + tsc; it fails when the README states another size)
# and its smoke test under plain Node (>= 20),
# and no built-in newer than Node 20 in the code users copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
deno run --allow-read scripts/node20_api_check.ts README.md examples/ mod.ts src/
# The TS sources themselves type-check under the DOM lib, @types/node and bun-types.
deno run --import-map=dev_deps.json --lock=dev_deps.lock --allow-read --allow-write --allow-env --allow-run scripts/tsc_sources_check.ts
deno task build
deno task test:node
