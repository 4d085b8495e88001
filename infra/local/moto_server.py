"""moto's server, with one fix to its DynamoDB emulation: a transaction's rollback snapshot.

moto 5.1's `TransactWriteItems` deep-copies the whole table once per item in the transaction, to restore it
if the transaction is cancelled. The cost grows with the table (seconds per transaction at 10,000 items, and
gigabytes of garbage under load), and a copy taken while another request writes the same table fails with
"dictionary changed size during iteration" (a 500 that DynamoDB never gives). Here the transaction snapshots
only the items it names and restores those on cancellation, which is the same rollback. Everything else is
moto's own code. Run as `python moto_server.py [moto_server's arguments]`.
"""

import copy
import sys

from moto.dynamodb import models
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.server import main


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


models.copy = _TablesNotCopied()
models.DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    sys.exit(main())
