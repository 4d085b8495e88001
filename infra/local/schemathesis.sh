#!/usr/bin/env bash
# Schemathesis against the admin API's served OpenAPI document, on a private local stack: starts `ithub-local run`
# on free ports (the AWS APIs must already point at moto: run this through with-moto.sh), fuzzes every operation,
# and fails on any 5xx or any response the document does not describe.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.local"
env_file="$root/.local/schemathesis-$$.env"
log="$root/.local/schemathesis-$$.log"
doc="$root/.local/schemathesis-$$.json"
rm -f "$env_file"
ITHUB_API_ADDR=127.0.0.1:0 ITHUB_SANDBOX_ADDR=127.0.0.1:0 ITHUB_PREFIX="st$$" ITHUB_RUN_ENV="$env_file" \
  ITHUB_POLL_SECONDS=2 ITHUB_LOG_FORMAT=text RUST_LOG=warn "$root/target/debug/ithub-local" run >"$log" 2>&1 &
runner=$!
trap 'kill "$runner" 2>/dev/null || true; wait "$runner" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$env_file" ] && break
  kill -0 "$runner" 2>/dev/null || { echo "schemathesis: the local stack did not start; see $log" >&2; exit 2; }
  sleep 0.1
done
# shellcheck disable=SC1090
source "$env_file"
sleep 3 # the first import, so lists and ids have something in them
# The document is served behind the admin key, which Schemathesis does not send when loading it: fetch it first.
python3 -c '
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
open(sys.argv[3], "wb").write(urllib.request.urlopen(request).read())
' "$ITHUB_API_URL/v1/openapi.json" "$ITHUB_ADMIN_KEY" "$doc"
"$root/.venv/bin/schemathesis" run "$doc" --url "$ITHUB_API_URL" \
  --header "Authorization: Bearer $ITHUB_ADMIN_KEY" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" --seed 1 --workers 1 --no-color "$@"
