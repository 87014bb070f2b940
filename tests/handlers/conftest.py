"""Driving the dispatcher directly with Updates, as a webhook would after decoding."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from qunshop.chat import ChatType, Platform, Reply, Update
from qunshop.keys import DISPATCH

_ids = itertools.count(1)

Say = Callable[..., Awaitable[Reply | None]]


@pytest.fixture
def say(client: TestClient) -> Say:
    dispatch = client.server.app[DISPATCH]

    async def send(
        text: str | None = None,
        *,
        sender: str = "zhangsan",
        chat_id: str | None = "group-1",
        platform: Platform = Platform.WECOM_BOT,
        event: str | None = None,
        event_key: str | None = None,
        **extra: Any,
    ) -> Reply | None:
        update = Update(
            platform=platform,
            chat_id=chat_id or sender,
            chat_type=ChatType.GROUP if chat_id else ChatType.SINGLE,
            sender=sender,
            msg_id=str(next(_ids)),
            created_at=datetime.now(tz=UTC),
            text=text,
            event=event,
            event_key=event_key,
            **extra,
        )
        return await dispatch(update)

    return send
