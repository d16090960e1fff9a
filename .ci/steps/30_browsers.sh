#!/usr/bin/env bash
# The behavioural tests in real headless Chromium and Firefox ESR (Debian's),
# driven by puppeteer-core from npm.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v chromium >/dev/null || ! command -v firefox-esr >/dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    chromium firefox-esr >/dev/null
fi
deno task test:browser
