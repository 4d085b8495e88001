"""An admin API client generated from the served OpenAPI document by openapi-python-client lists the employees
and completes a task, against a private local stack (run by infra/local/generated-client.sh)."""

import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, sys.argv[1])  # the generated package's parent folder

from ithub_admin_client import AuthenticatedClient  # noqa: E402
from ithub_admin_client.api.employees import list_ as list_employees  # noqa: E402
from ithub_admin_client.api.licenses import licenses as list_licenses  # noqa: E402
from ithub_admin_client.api.tasks import complete, list_ as list_tasks, update_item  # noqa: E402
from ithub_admin_client.models import Completion, ItemStatus, ItemUpdate  # noqa: E402

client = AuthenticatedClient(base_url=os.environ["ITHUB_API_URL"], token=os.environ["ITHUB_ADMIN_KEY"])

page = list_employees.sync(client=client, limit=100)
assert page is not None and len(page.items) == 50, f"the sandbox company: {page}"
assert all(e.hr.first_name for e in page.items)

# Hire someone in the sandbox HR system; their onboarding task appears.
hire = json.dumps({"firstName": "Gen", "lastName": "Client", "department": "IT"}).encode()
request = urllib.request.Request(
    os.environ["ITHUB_SANDBOX_URL"] + "/sandbox/employees", data=hire, headers={"content-type": "application/json"}
)
urllib.request.urlopen(request).read()
task = None
deadline = time.monotonic() + 120  # a condition with a deadline, not a fixed wait: busy machines are slow
while time.monotonic() < deadline:
    tasks = list_tasks.sync(client=client)
    mine = [t for t in tasks.items if t.employee_name == "Gen Client"]
    if mine:
        task = mine[0]
        break
    time.sleep(0.1)
assert task is not None, "the hire's onboarding task appeared"

for item in task.open_items:
    updated = update_item.sync(id=task.id, item=item, client=client, body=ItemUpdate(status=ItemStatus.DONE))
    assert updated is not None, item
done = complete.sync(id=task.id, client=client, body=Completion(hub_access=True))
assert done is not None and done.status.value == "completed", done
licenses = list_licenses.sync(client=client)
assert licenses.count == 1 and licenses.items[0].employee_name == "Gen Client", licenses
print("generated client: listed 50 employees, completed an onboarding task, 1 license granted")
