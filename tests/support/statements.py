"""The SQL statements the app sends, as Tortoise logs them."""

from __future__ import annotations

import logging

import pytest


class Statements:
    """Every SQL statement Tortoise sends, on either backend (it logs each at DEBUG)."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="tortoise.db_client")
        self.caplog = caplog
        self.mark = 0

    def start(self) -> None:
        self.mark = len(self.caplog.records)

    def since(self) -> list[str]:
        return [
            r.getMessage()
            for r in self.caplog.records[self.mark :]
            if r.name == "tortoise.db_client"
            and not r.getMessage().startswith(("Created", "Closed"))
        ]
