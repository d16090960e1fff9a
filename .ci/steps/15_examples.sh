#!/usr/bin/env bash
# The runnable examples that need no server: each checks its own result.
set -euo pipefail
deno run examples/exactly_once.ts
