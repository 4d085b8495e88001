#!/usr/bin/env bash
# Generates a Python client from the admin API's served OpenAPI document with openapi-python-client, then runs
# tests/client/generated_client_check.py with it. Run through with-moto.sh and with-stack.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/.local/client-$$"
doc="$out.json"
rm -rf "$out" && mkdir -p "$out"
python3 -c '
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
open(sys.argv[3], "wb").write(urllib.request.urlopen(request).read())
' "$ITHUB_API_URL/v1/openapi.json" "$ITHUB_ADMIN_KEY" "$doc"
"$root/.venv/bin/openapi-python-client" generate --path "$doc" --output-path "$out/ithub_admin_client" --meta none >/dev/null 2>&1 \
  || { echo "generated-client: openapi-python-client failed" >&2; exit 1; }
"$root/.venv/bin/python" "$root/tests/client/generated_client_check.py" "$out"
