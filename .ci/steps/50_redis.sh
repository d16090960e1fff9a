#!/usr/bin/env bash
# Redis: examples/redis_enrich.ts against a real redis-server (Debian's),
# started on 127.0.0.1 and a free port, seeded, and stopped at the end even
# when a command fails. The scale-out tests in tests/redis/ (redisWorker and
# friends) start their own servers on free ports, and the Redis demo runs
# once as a smoke test.
set -euo pipefail
cd "$(dirname "$0")/../.."
export NO_COLOR=1 DENO_NO_UPDATE_CHECK=1

if ! command -v deno >/dev/null 2>&1; then
  deno_dir="$(npx -y deno@2 eval 'console.log(Deno.execPath().replace(/\/deno$/, ""))')"
  export PATH="$deno_dir:$PATH"
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

if ! command -v redis-server >/dev/null 2>&1; then
  # policy-rc.d stops the package from starting a system-wide daemon on 6379.
  policy=/usr/sbin/policy-rc.d
  created_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
    as_root chmod +x "$policy"
    created_policy=1
  fi
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  if [ -n "$created_policy" ]; then as_root rm -f "$policy"; fi
fi
redis-server --version

work="$(mktemp -d)"
port="$(deno eval 'const l = Deno.listen({ hostname: "127.0.0.1", port: 0 }); console.log(l.addr.port); l.close();')"
redis-server --bind 127.0.0.1 --port "$port" --dir "$work" \
  --save "" --appendonly no --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
stop_redis() {
  kill "$redis_pid" 2>/dev/null || true
  wait "$redis_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap stop_redis EXIT

for _ in $(seq 100); do
  if redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then break; fi
  if ! kill -0 "$redis_pid" 2>/dev/null; then cat "$work/redis.log"; exit 1; fi
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$port" ping

# The customers that tests/redis/redis_enrich_test.ts expects: 1..9, not 10.
id=1
for name in Ada Grace Edsger Barbara Donald Frances John Katherine Alan; do
  redis-cli -h 127.0.0.1 -p "$port" SET "customer:$id" "$name" >/dev/null
  id=$((id + 1))
done

REDIS_URL="redis://127.0.0.1:$port" timeout 600 \
  deno test --lock=dev_deps.lock --allow-net=127.0.0.1 --allow-env --allow-read \
  --allow-run --allow-write tests/redis/

timeout 300 deno task demo:redis --events 5000 --scaling-events 2000
