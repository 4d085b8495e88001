"""moto's server, with four fixes to its DynamoDB emulation: a transaction's rollback snapshot, a query's walk,
a transaction's idempotency token, and atomic writes.

moto 5.1's `TransactWriteItems` deep-copies the whole table once per item in the transaction, to restore it
if the transaction is cancelled. The cost grows with the table (seconds per transaction at 10,000 items, and
gigabytes of garbage under load), and a copy taken while another request writes the same table fails with
"dictionary changed size during iteration" (a 500 that DynamoDB never gives). Here the transaction snapshots
only the items it names and restores those on cancellation, which is the same rollback.

moto 5.1's `Query` on a table walks every item of the table, sorts the whole partition, and steps past every
earlier page item by item, for each page: at 100,000 people in one tenant's partition a page of 500 takes seconds,
and reading such a partition page by page is quadratic. Here a table query (not an index) on a string sort key
reads only its partition, narrows `begins_with` by prefix before sorting, and finds the page's start by bisection;
the items, their order, the scanned count, the filter after the limit and the 1 MB page cap are moto's. One
difference: a page that fills up returns a last evaluated key only when more items of the key condition follow
(moto returns one when any item of the partition follows; DynamoDB may return one when the limit is met
exactly). Callers read until no key comes back, so both end the same.
moto 5.1 ignores `TransactWriteItems`' `ClientRequestToken`. DynamoDB does not: a call repeated with the token
of one that succeeded within the last ten minutes returns success and changes nothing (the token with other items is
refused with `IdempotentParameterMismatchException`, and while the first is still being applied, a repeat gets
`TransactionInProgressException`). The AWS SDK sets a token on every call and keeps it across its
retries, so a transaction whose answer was lost (the fault-injection tests lose some on purpose) is retried safely
against DynamoDB; here too, now.
Everything else is moto's own code. With ITHUB_AWS_CALL_LOG set, each function's calls are recorded (see
aws_calls.py). Run as `python moto_server.py [moto_server's arguments]`.
"""

import bisect
import copy
import json
import sys
import threading
import time

from moto.dynamodb import models, responses
from moto.dynamodb.exceptions import DynamodbException
from moto.dynamodb.models.utilities import dynamo_json_dump
from moto.dynamodb.models import table as tables
from moto.dynamodb.models.dynamo_type import DynamoType
from moto import server
from moto.server import main

import aws_calls


class _TablesNotCopied:
    """Stands in for the `copy` module inside `moto.dynamodb.models`: a table is not copied (the transaction's
    item snapshot below replaces that copy); anything else is copied as before."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, models.Table):
            return value
        return copy.deepcopy(value, memo)


def _key_of(table, op):
    key = op.get("Key")
    if key is None:
        item = op.get("Item") or {}
        key = {a: item[a] for a in (table.hash_key_attr, table.range_key_attr) if a and a in item}
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
    return hash_value, range_value


_moto_transact_write_items = models.DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    snapshot = []
    for entry in transact_items:
        try:
            _, op = next(iter(entry.items()))
            table = self.tables[op["TableName"]]
            hash_value, range_value = _key_of(table, op)
            current = table.get_item(hash_value, range_value)
        except Exception:  # moto's own code reports the malformed operation
            continue
        snapshot.append((table, hash_value, range_value, copy.deepcopy(current)))
    try:
        _moto_transact_write_items(self, transact_items)
    except Exception:
        for table, hash_value, range_value, item in reversed(snapshot):
            if table.get_item(hash_value, range_value) is not None:
                table.delete_item(hash_value, range_value)
            if item is not None:
                table.put_item(item.to_json()["Attributes"])
        raise


_moto_query = tables.Table.query


def query(
    self,
    hash_key,
    range_comparison,
    range_objs,
    limit,
    exclusive_start_key,
    scan_index_forward,
    projection_expressions,
    index_name=None,
    consistent_read=False,
    filter_expression=None,
    hash_key_conditions=None,
    range_key_conditions=None,
    **filter_kwargs,
):
    simple = (
        index_name is None
        and not filter_kwargs
        and hash_key is not None
        and self.range_key_attr is not None
        and self.range_key_type == "S"
        and len(range_key_conditions or []) <= 1
    )
    if not simple:
        return _moto_query(
            self,
            hash_key,
            range_comparison,
            range_objs,
            limit,
            exclusive_start_key,
            scan_index_forward,
            projection_expressions,
            index_name,
            consistent_read,
            filter_expression,
            hash_key_conditions=hash_key_conditions,
            range_key_conditions=range_key_conditions,
            **filter_kwargs,
        )
    partition = self.items.get(hash_key) or {}
    if range_comparison and range_comparison.upper() == "BEGINS_WITH":
        prefix = range_objs[0].value
        keys = [k for k in partition if k.value.startswith(prefix)]
    elif range_comparison:
        keys = [k for k in partition if k.compare(range_comparison, range_objs)]
    else:
        keys = list(partition)
    keys.sort(key=lambda k: k.value)
    values = [k.value for k in keys]
    if not scan_index_forward:
        keys.reverse()
        values.reverse()
    start = 0
    if exclusive_start_key is not None:
        after = DynamoType(exclusive_start_key[self.range_key_attr]).value
        if scan_index_forward:
            start = bisect.bisect_right(values, after)
        else:
            start = len(values) - bisect.bisect_left(values[::-1], after)
    results, size, last_evaluated_key = [], 0, None
    for key in keys[start:]:
        item = partition[key]
        if len(results) == limit or size + item.size() > tables.RESULT_SIZE_LIMIT:
            last_evaluated_key = self._get_last_evaluated_key(results[-1], None)
            break
        results.append(item)
        size += item.size()
    scanned_count = len(results)
    results = copy.deepcopy(results)
    if filter_expression is not None:
        results = [item for item in results if filter_expression.expr(item)]
    if projection_expressions:
        results = [r.project(projection_expressions) for r in results]
    return results, scanned_count, last_evaluated_key


_tokens = {}
_tokens_lock = threading.Lock()
TOKEN_SECONDS = 600
_moto_transact_handler = responses.DynamoHandler.transact_write_items


def transact_write_items_once(self):
    token = self.body.get("ClientRequestToken")
    if not token:
        return _moto_transact_handler(self)
    items = json.dumps(self.body.get("TransactItems"), sort_keys=True)
    now = time.monotonic()
    with _tokens_lock:
        for old in [t for t, (_, at, _) in _tokens.items() if now - at > TOKEN_SECONDS]:
            del _tokens[old]
        seen = _tokens.get(token)
        if seen is None:
            _tokens[token] = (items, now, "in progress")
    if seen is not None:
        if seen[0] != items:
            raise IdempotentParameterMismatch()
        if seen[2] == "in progress":
            raise TransactionInProgress()
        return dynamo_json_dump({"ConsumedCapacity": [], "ItemCollectionMetrics": {}})
    try:
        answer = _moto_transact_handler(self)
    except BaseException:
        with _tokens_lock:
            _tokens.pop(token, None)
        raise
    with _tokens_lock:
        _tokens[token] = (items, now, "done")
    return answer


class TransactionInProgress(DynamodbException):
    def __init__(self):
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#TransactionInProgressException",
            message="The transaction with the given request token is already in progress.",
        )


class IdempotentParameterMismatch(DynamodbException):
    def __init__(self):
        super().__init__(
            "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
            message="The request uses the same client token as a previous, but non-identical request.",
        )


# DynamoDB applies each write, and each transaction, atomically: a condition is checked and the write made with no
# other write between them. moto's server answers requests on several threads and does not lock, so two concurrent
# conditional writes on one item could both pass their check and one be lost (seen as a lost SCIM PATCH under load).
# Every write here takes one lock.
_write_lock = threading.RLock()


def _locked(write):
    def locked(*args, **kwargs):
        with _write_lock:
            return write(*args, **kwargs)

    return locked


for _name in ("put_item", "update_item", "delete_item", "batch_write_item"):
    if hasattr(models.DynamoDBBackend, _name):
        setattr(models.DynamoDBBackend, _name, _locked(getattr(models.DynamoDBBackend, _name)))
transact_write_items = _locked(transact_write_items)

models.copy = _TablesNotCopied()
responses.DynamoHandler.transact_write_items = transact_write_items_once
tables.Table.query = query
models.DynamoDBBackend.transact_write_items = transact_write_items
aws_calls.install(server)

if __name__ == "__main__":
    sys.exit(main())
