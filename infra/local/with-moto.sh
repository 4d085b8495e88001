#!/usr/bin/env bash
# Runs a command with a private moto server: starts moto on a free loopback port, points the AWS SDK at it
# (AWS_ENDPOINT_URL and dummy credentials), runs the command, and stops moto however the command ends.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# moto's server, through a launcher that fixes its transactions' rollback snapshot (see moto_server.py).
moto=("$root/.venv/bin/python3" "$root/infra/local/moto_server.py")
[ -x "$root/.venv/bin/moto_server" ] || { echo "with-moto: moto is missing from .venv; run through make, which installs it" >&2; exit 2; }

port=${MOTO_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
mkdir -p "$root/.local"
log="$root/.local/moto-$port.log"
"${moto[@]}" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
stop() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap stop EXIT
trap 'stop; exit 130' INT TERM

for _ in $(seq 1 150); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "with-moto: moto exited; see $log" >&2; exit 2; }
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
# moto answers a 500 now and then under load, where DynamoDB would not; more SDK retries ride it out.
export AWS_MAX_ATTEMPTS=${AWS_MAX_ATTEMPTS:-10}
unset AWS_PROFILE AWS_SESSION_TOKEN
"$@"
