"""Every row of every table, to show what a request changed (or that it changed nothing)."""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise

Row = tuple[tuple[str, str], ...]
Snapshot = dict[str, dict[str, Row]]  # table -> primary key -> row


def _row(values: dict[str, Any]) -> Row:
    return tuple(sorted((key, repr(value)) for key, value in values.items()))


async def snapshot() -> Snapshot:
    apps = Tortoise.apps
    assert apps is not None, "the app's ORM is not running"
    found: Snapshot = {}
    for model in apps.get_models_iterable():
        pk = model._meta.pk_attr
        found[model._meta.db_table] = {
            repr(values[pk]): _row(values) for values in await model.all().values()
        }
    return found


def changed_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables with any row inserted, changed or deleted."""
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


def rewritten_tables(before: Snapshot, after: Snapshot) -> list[str]:
    """Tables where a row that existed before was changed or deleted (inserts do not count)."""
    return sorted(
        table
        for table, rows in before.items()
        if any(after.get(table, {}).get(pk) != row for pk, row in rows.items())
    )
