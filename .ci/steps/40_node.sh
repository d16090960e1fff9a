#!/usr/bin/env bash
# The npm build (esbuild + tsc) and its smoke test under plain Node (>= 20),
# and no built-in newer than Node 20 in the code users copy.
set -euo pipefail
cd "$(dirname "$0")/../.."
deno run --allow-read scripts/node20_api_check.ts README.md examples/
deno task build
deno task test:node
