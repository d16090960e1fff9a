#!/usr/bin/env bash
# Bun 1.x (from npm) runs the same behavioural tests, unchanged.
set -euo pipefail
cd "$(dirname "$0")/../.."
deno task test:bun
