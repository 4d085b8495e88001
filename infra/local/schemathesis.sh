#!/usr/bin/env bash
# Schemathesis against the admin API's served OpenAPI document. Run through with-moto.sh and with-stack.sh; fails
# on any 5xx or any response the document does not describe.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
doc="$root/.local/openapi-$$.json"
# The document is served behind the admin key, which Schemathesis does not send when loading it: fetch it first.
python3 -c '
import sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
open(sys.argv[3], "wb").write(urllib.request.urlopen(request).read())
' "$ITHUB_API_URL/v1/openapi.json" "$ITHUB_ADMIN_KEY" "$doc"
# Schemathesis 4 always checks response times (10 s unless told). How fast the API answers is measured by `make
# bench`, not asserted here: a busy CI machine would fail a correct API. The limit is the request timeout, so only
# a request that hangs fails.
"$root/.venv/bin/schemathesis" --config-file "$root/infra/local/schemathesis.toml" run "$doc" --url "$ITHUB_API_URL" \
  --header "Authorization: Bearer $ITHUB_ADMIN_KEY" \
  --checks "${SCHEMATHESIS_CHECKS:-all}" --mode all \
  --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" --seed "${SCHEMATHESIS_SEED:-4242}" --workers 1 --request-timeout 60 --max-response-time 60 --no-color "$@"
