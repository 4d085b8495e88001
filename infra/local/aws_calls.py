"""The AWS calls each IT Hub function makes, as the IAM actions and template resources they need.

Recording: `moto_server.py` wraps moto in `Recorder` when ITHUB_AWS_CALL_LOG names a file. Every request that
carries an app name in its user agent (`app/worker`: each function's clients are made with its name, see
`ithub::function_aws_config` and the local runner's `Stack`) adds one line per IAM action it needs:
`function<TAB>action<TAB>resource`, where the resource is the template's logical id (`Table`,
`Table/index/GSI1`, `ChangesQueue`, `RunQueue`, `EventBus`, `Secret` for the stack's secrets). A transaction
needs the action of each item in it (`TransactWriteItems` is authorised as its `PutItem`s, `UpdateItem`s,
`DeleteItem`s and `ConditionCheckItem`s), and a batch of SQS messages the single action. Requests without an app
name (tests arranging and reading state, the local bootstrap) are not recorded.

Checking: `python aws_calls.py check RECORDED EVIDENCE` fails when this run recorded a call that the committed
evidence (`infra/aws-calls.tsv`, which the template's policies are held to by tests/integration/tests/it/iam.rs)
does not list: the function would be refused in AWS. `python aws_calls.py write RECORDED EVIDENCE` rewrites the
evidence from a run (`make iam-evidence`).
"""

import io
import json
import os
import re
import sys

APP = re.compile(r"(?:^|\s)app/([A-Za-z0-9!#$%&'*+\-.^_`|~]+)")
QUEUES = [  # longest suffix first
    ("-changes-dlq.fifo", "ChangesDeadLetterQueue"),
    ("-changes.fifo", "ChangesQueue"),
    ("-runs-dlq", "RunDeadLetterQueue"),
    ("-runs", "RunQueue"),
]
TRANSACT_WRITE = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
SQS_BATCH = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def queue(url_or_name):
    for suffix, logical in QUEUES:
        if (url_or_name or "").endswith(suffix):
            return logical
    return "?"


def needs(target, body):
    """The (IAM action, resource) pairs one request needs."""
    service, _, operation = target.partition(".")
    if service.startswith("DynamoDB_"):
        if operation == "TransactWriteItems":
            return [
                ("dynamodb:" + TRANSACT_WRITE[kind], "Table")
                for item in body.get("TransactItems", [])
                for kind in item
                if kind in TRANSACT_WRITE
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", "Table") for _ in body.get("TransactItems", [])]
        index = body.get("IndexName")
        return [("dynamodb:" + operation, "Table/index/" + index if index else "Table")]
    if service == "AmazonSQS":
        return [("sqs:" + SQS_BATCH.get(operation, operation), queue(body.get("QueueUrl") or body.get("QueueName")))]
    if service == "AWSEvents":
        return [("events:" + operation, "EventBus")]
    if service == "secretsmanager":
        return [("secretsmanager:" + operation, "Secret")]
    return [(target, "?")]


class Recorder:
    """WSGI middleware in front of moto's server: appends what each named caller needed to `path`."""

    def __init__(self, app, path):
        self.app, self.path = app, path

    def __call__(self, environ, start_response):
        try:
            self.record(environ)
        except Exception as error:  # never fail the request for the record's sake, but say so
            print(f"aws_calls: could not record a request: {error!r}", file=sys.stderr)
        return self.app(environ, start_response)

    def record(self, environ):
        agent = environ.get("HTTP_X_AMZ_USER_AGENT", "") + " " + environ.get("HTTP_USER_AGENT", "")
        app = APP.search(agent)
        target = environ.get("HTTP_X_AMZ_TARGET")
        if not app or not target:
            return
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        body = json.loads(raw) if raw else {}
        lines = "".join(f"{app.group(1)}\t{action}\t{resource}\n" for action, resource in needs(target, body))
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, lines.encode())
        finally:
            os.close(fd)


def install(server_module):
    """Wraps moto's server application in a `Recorder` when ITHUB_AWS_CALL_LOG is set."""
    path = os.environ.get("ITHUB_AWS_CALL_LOG")
    if not path:
        return
    dispatcher = server_module.DomainDispatcherApplication
    original = dispatcher.__call__

    def recorded(self, environ, start_response):
        return Recorder(lambda e, s: original(self, e, s), path)(environ, start_response)

    dispatcher.__call__ = recorded


def read(path):
    calls = set()
    with open(path) as lines:
        for line in lines:
            if line.strip() and not line.startswith("#"):
                calls.add(tuple(line.rstrip("\n").split("\t")))
    return calls


HEADER = """# The AWS calls each function was seen to make in `make test` (function, IAM action, the template's resource),
# recorded by infra/local/aws_calls.py in front of moto. Rewritten by `make iam-evidence`; `make test` fails when a
# run records a call missing here, and tests/integration/tests/it/iam.rs holds the template's policies to it.
"""


def main(argv):
    if len(argv) != 4 or argv[1] not in ("check", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    _, mode, recorded_path, evidence_path = argv
    if not os.path.exists(recorded_path):
        print(f"aws_calls: nothing was recorded at {recorded_path}", file=sys.stderr)
        return 1
    recorded = read(recorded_path)
    if mode == "write":
        with open(evidence_path, "w") as out:
            out.write(HEADER)
            out.writelines("\t".join(call) + "\n" for call in sorted(recorded))
        print(f"aws_calls: {len(recorded)} calls written to {evidence_path}")
        return 0
    evidence = read(evidence_path)
    missing = sorted(recorded - evidence)
    for call in missing:
        print("aws_calls: not in the evidence (refused in AWS?): " + "\t".join(call), file=sys.stderr)
    unseen = sorted(evidence - recorded)
    print(f"aws_calls: {len(recorded)} calls recorded, {len(missing)} not in {evidence_path}, "
          f"{len(unseen)} of its {len(evidence)} not seen this run")
    if missing:
        print("aws_calls: grant them in infra/template.yaml and run `make iam-evidence`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
