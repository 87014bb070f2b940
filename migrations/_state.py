"""Operations for the migration state alone: the database already has what they describe,
made by a migration's own SQL (``RunSQL``). Not a migration (the name starts with ``_``)."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


class StateOnly(ops.TortoiseOperation):
    """Teach the migration state what ``operation`` says; run nothing on the database."""

    def __init__(self, operation: ops.TortoiseOperation) -> None:
        self.operation = operation

    def describe(self) -> str:
        return f"{self.operation.describe()} (state only)"

    def state_forward(self, app_label: str, state: Any) -> None:
        self.operation.state_forward(app_label, state)
