#!/usr/bin/env bash
# The npm build (esbuild + tsc) and its smoke test under plain Node (>= 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
deno task build
deno task test:node
