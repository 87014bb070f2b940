"""The pool keeps every connection it lends, even when a transaction is cut off at BEGIN."""

from __future__ import annotations

import asyncio

from tortoise.transactions import in_transaction

from qunshop.assembly.db import open_orm
from tests.support.tcp_proxy import database_proxy, via_proxy


async def test_a_transaction_cancelled_during_begin_gives_its_connection_back(
    database_url: str,
) -> None:
    proxy = database_proxy(database_url)
    await proxy.start()
    ctx = await open_orm(via_proxy(database_url, proxy), pool_size=1)
    try:
        # The server's answer to BEGIN arrives late, so the cancellation lands while the
        # transaction is being opened (a handler whose client hung up, a timeout).
        proxy.hold_replies(b"BEGIN\x00", 1.0)
        entered = asyncio.Event()

        async def use_case() -> None:
            async with in_transaction() as conn:
                entered.set()
                await conn.execute_query("SELECT 1")

        task = asyncio.create_task(use_case())
        await asyncio.sleep(0.3)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled() and not entered.is_set()
        proxy.hold_replies(b"", 0)

        # The pool's one connection is free again: the next query gets it.
        _, rows = await asyncio.wait_for(ctx.db().execute_query("SELECT 2 AS n"), 10)
        assert rows[0]["n"] == 2
        pool = ctx.db()._pool  # type: ignore[attr-defined]
        assert not [h for h in pool._holders if h._in_use is not None]
    finally:
        await ctx.close_connections()
        await proxy.stop()
