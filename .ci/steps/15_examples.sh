#!/usr/bin/env bash
# The runnable examples that need no server: each checks its own result.
# Then the README's TypeScript blocks, type-checked against the library.
set -euo pipefail
deno run examples/exactly_once.ts
deno run --allow-read --allow-write --allow-run --allow-env scripts/readme_code_check.ts
