"""Tortoise's asyncpg client with two changes (the engine module of ``qunshop.assembly.db``).

- Connections skip asyncpg's reset query when they go back to the pool.
- A transaction whose BEGIN is interrupted (a cancelled handler) gives its connection back.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled
from tortoise.connection import get_connections


class LeanConnection(asyncpg.connection.Connection):  # type: ignore[misc]
    """No reset query when a connection goes back to the pool.

    asyncpg's default ("RESET ALL; UNLISTEN *; ...") costs a round trip on every release,
    and Tortoise releases after every query outside a transaction: half of all round trips.
    We set no session state, listen to nothing and take no session advisory locks; an open
    transaction is still rolled back by asyncpg on release.
    """

    def get_reset_query(self) -> str:
        return ""


class _PooledTransaction(TransactionContextPooled):
    """Tortoise 1.1.9 takes a connection from the pool and then sends BEGIN; when BEGIN is
    interrupted, ``__aexit__`` never runs and the connection stays checked out for good (and
    holds the pool's close for its 10-second timeout). Here it goes back: asyncpg's release
    waits out the cancelled query and rolls back, shielded from a second cancellation."""

    async def __aenter__(self) -> TransactionWrapper:
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        self.token = get_connections().set(self.connection_name, self.client)
        try:
            await self.client.begin()
        except BaseException:
            get_connections().reset(self.token)
            await pool.release(self.client._connection)
            raise
        return self.client


class Client(AsyncpgDBClient):
    connection_class = LeanConnection

    def _in_transaction(self) -> TransactionContext:
        return _PooledTransaction(TransactionWrapper(self), self._pool_init_lock)


client_class = Client


def engine(**credentials: Any) -> dict[str, Any]:
    """A Tortoise connection entry on this client."""
    return {"engine": __name__, "credentials": credentials}
