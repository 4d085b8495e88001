"""Waits until the local stack's first import has finished: the connection's first sync run has succeeded and
the worker has handled every change it queued (people who already work there are imported by the run itself). Reads the runs through the admin API, as a user would; fails with
a clear message when the deadline passes. Used by with-stack.sh (ITHUB_API_URL, ITHUB_ADMIN_KEY and
ITHUB_CONNECTION_ID come from the stack's env file)."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

# Longer than the change queue's visibility timeout (360 s, six times the worker's timeout): a delivery that is
# lost in flight blocks its FIFO group until then, and is then redelivered and applied. With 300 s, a busy CI machine
# once saw the first import stop at "1 of 2 queued changes applied" with no error logged (most likely a receive
# whose answer never arrived); the same stage passed when run again.
deadline = time.monotonic() + float(os.environ.get("ITHUB_IMPORT_DEADLINE_SECS", "600"))
url = f"{os.environ['ITHUB_API_URL']}/v1/connections/{os.environ['ITHUB_CONNECTION_ID']}/runs?limit=100"
request = urllib.request.Request(url, headers={"Authorization": "Bearer " + os.environ["ITHUB_ADMIN_KEY"]})
last = "no run recorded yet"
while time.monotonic() < deadline:
    try:
        runs = json.load(urllib.request.urlopen(request, timeout=10))["items"]
    except (urllib.error.URLError, OSError, ValueError) as error:
        runs, last = [], f"the admin API did not answer: {error}"
    # Oldest first: the first run to succeed is the import.
    done = [r for r in reversed(runs) if r["status"] == "succeeded"]
    if done:
        first = done[0]
        last = f"run {first['run_id']}: {first['applied']} of {first['queued']} queued changes applied"
        if first["applied"] >= first["queued"]:
            print(f"wait-for-import: first import done ({last})", file=sys.stderr)
            sys.exit(0)
    elif runs:
        last = f"run {runs[-1]['run_id']} is {runs[-1]['status']} ({runs[-1].get('error') or 'no error'})"
    time.sleep(0.2)
print(f"wait-for-import: the first import did not finish in time; last seen: {last}", file=sys.stderr)
sys.exit(1)
