"""A blank database beside the test one, for the tests that migrate one themselves."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.support.db import create_blank_database, drop_database


@pytest.fixture
async def blank_url(database_url: str) -> AsyncIterator[str]:
    name = f"qunshop_blank_{uuid.uuid4().hex[:8]}"
    yield await create_blank_database(database_url, name)
    await drop_database(database_url, name)
