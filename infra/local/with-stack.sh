#!/usr/bin/env bash
# Runs a command against a private local IT Hub: starts `ithub-local run` on free ports (the AWS APIs must already
# point at moto: run this through with-moto.sh), exports what it prints (ITHUB_API_URL, ITHUB_ADMIN_KEY,
# ITHUB_SANDBOX_URL, …), waits for the first import (its run record, through the admin API), runs the command, and stops the stack.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.local"
env_file="$root/.local/stack-$$.env"
log="$root/.local/stack-$$.log"
rm -f "$env_file"
ITHUB_API_ADDR=127.0.0.1:0 ITHUB_SANDBOX_ADDR=127.0.0.1:0 ITHUB_PREFIX="s$$" ITHUB_RUN_ENV="$env_file" \
  ITHUB_SANDBOX_PROVIDERS=${ITHUB_SANDBOX_PROVIDERS:-none} ITHUB_POLL_SECONDS=${ITHUB_POLL_SECONDS:-30} ITHUB_LOG_FORMAT=text RUST_LOG=warn "$root/target/debug/ithub-local" run >"$log" 2>&1 &
runner=$!
trap 'kill "$runner" 2>/dev/null || true; wait "$runner" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$env_file" ] && break
  kill -0 "$runner" 2>/dev/null || { echo "with-stack: the local stack did not start; see $log" >&2; exit 2; }
  sleep 0.1
done
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
# The first import, so lists and ids have something in them: wait for its run record, never a fixed time.
"$root/.venv/bin/python" "$root/infra/local/wait-for-import.py" || { echo "with-stack: see $log" >&2; exit 2; }
"$@"
