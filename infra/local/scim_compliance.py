"""scim2-tester (python-scim2's SCIM compliance checker) against a running local IT Hub.

Makes a SCIM connection through the admin API (ITHUB_API_URL, ITHUB_ADMIN_KEY, as with-stack.sh exports them),
then runs every check of the checker on the User resource type with that connection's token. Prints each check;
fails when any check finds a violation (ERROR, CRITICAL) or a deviation from what the RFC recommends, so a check
that no longer passes stops `make test`. Checks the checker skips are listed with its reason.
"""

import json
import os
import sys
import urllib.request

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

api = os.environ["ITHUB_API_URL"].rstrip("/")
request = urllib.request.Request(
    f"{api}/v1/connections",
    data=json.dumps({"provider": "scim", "settings": {}, "credentials": {}}).encode(),
    headers={"Authorization": f"Bearer {os.environ['ITHUB_ADMIN_KEY']}", "Content-Type": "application/json"},
    method="POST",
)
created = json.load(urllib.request.urlopen(request))
token = created["scim_token"]

http = httpx2.Client(base_url=f"{api}/scim/v2", headers={"Authorization": f"Bearer {token}"}, timeout=60)
client = SyncSCIMClient(http)
results = check_server(client, resource_types=["User"])

failing = {Status.ERROR, Status.CRITICAL, Status.DEVIATION}
counts = {}
for result in results:
    counts[result.status.name] = counts.get(result.status.name, 0) + 1
    line = f"{result.status.name:<10} {result.title}"
    if result.status != Status.SUCCESS and result.reason:
        line += f": {result.reason}"
    print(line)
print("scim2-tester:", ", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))
bad = [r for r in results if r.status in failing]
if bad or not results:
    print(f"scim2-tester: {len(bad)} checks failed", file=sys.stderr)
    sys.exit(1)
