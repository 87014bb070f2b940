"""An erased account's token is refused by every server process at once (issue 19, item 5):
the erasure through one process leaves its mark in the shared Redis and its row in the
database, and the other process refuses the token on the next request."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from qunshop.config import Settings
from tests.reliability.support import headers
from tests.support.factories import make_user

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("real_redis", "client")]


async def test_the_other_process_refuses_the_token_at_once(
    make_stack: Any, settings: Settings
) -> None:
    stack = await make_stack(servers=2, proxied=False)
    one, two = stack.bases
    shopper = await make_user(nickname="将被抹去")
    me = headers(shopper, settings)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{two}/api/v1/me", headers=me) as seen:
            assert seen.status == 200  # the token is good, and the other process read it
        async with http.delete(f"{one}/api/v1/me", headers=me) as gone:
            assert gone.status == 200, await gone.text()
        async with http.get(f"{two}/api/v1/me", headers=me) as refused:
            assert refused.status == 401
            assert (await refused.json())["code"] == "account_erased"
