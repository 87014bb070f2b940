"""Rendered HTML of public pages, kept in-process for about a second, one render at a time.

A card shared into a 500-member group is opened by hundreds of phones within seconds, and
every one of them is shown the same HTML (the page has no session, no CSRF token and no
per-visitor value; the visit is counted by the page's beacon, not by this GET). So the
HTML is rendered once per path and then served from memory until it is ``fresh`` old, by
the app's clock. The first request after that renders it again; requests arriving during
that render get the previous copy (older than ``fresh`` only by the render's own time), and
when there is no copy yet they wait for the render (single-flight) instead of starting
their own.

Why a second of staleness is acceptable: the page is a picture of the team for a person
deciding whether to join, and joining happens in the mini-program, which reads the
database itself; a seat taken a second ago shows on the next load. The countdown ticks in
the browser and does not depend on the cached copy. Errors (a 404 for an unknown team) are
never kept.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from datetime import datetime, timedelta

    from multidict import CIMultiDict

MAX_ENTRIES = 4096  # paths kept at once; past this, expired ones go, then all


@dataclass(frozen=True)
class Kept:
    body: bytes
    headers: CIMultiDict[str]
    made_at: datetime


class PageCache:
    def __init__(self) -> None:
        self._kept: dict[str, Kept] = {}
        self._rendering: dict[str, asyncio.Future[Kept]] = {}

    def _fresh(self, kept: Kept, now: datetime, fresh: timedelta) -> bool:
        return kept.made_at <= now < kept.made_at + fresh

    def _keep(self, key: str, kept: Kept, now: datetime, fresh: timedelta) -> None:
        if len(self._kept) >= MAX_ENTRIES:
            self._kept = {k: v for k, v in self._kept.items() if self._fresh(v, now, fresh)}
            if len(self._kept) >= MAX_ENTRIES:
                self._kept.clear()
        self._kept[key] = kept

    async def serve(
        self,
        key: str,
        *,
        now: datetime,
        fresh: timedelta,
        render: Callable[[], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        kept = self._kept.get(key)
        if kept is not None and self._fresh(kept, now, fresh):
            return web.Response(body=kept.body, headers=kept.headers)
        running = self._rendering.get(key)
        if running is not None and kept is not None:
            # Being refreshed: the copy just past its second serves until the new one is in,
            # so a burst never queues behind the refresh.
            return web.Response(body=kept.body, headers=kept.headers)
        if running is not None:
            try:
                kept = await asyncio.shield(running)
            except Exception:  # the first render failed or was not a page: do our own
                return await render()
            return web.Response(body=kept.body, headers=kept.headers)
        future: asyncio.Future[Kept] = asyncio.get_running_loop().create_future()
        self._rendering[key] = future
        try:
            response = await render()
        except BaseException:
            future.set_exception(_NotKept())
            future.exception()  # retrieved: no "exception never retrieved" without waiters
            raise
        finally:
            del self._rendering[key]
        if isinstance(response, web.Response) and response.status == 200:
            kept = Kept(bytes(response.body or b""), response.headers.copy(), now)
            self._keep(key, kept, now, fresh)
            future.set_result(kept)
        else:  # an error page or a redirect is served as made, never kept
            future.set_exception(_NotKept())
            future.exception()
        return response


class _NotKept(Exception):
    """The first render was not a plain 200 page; waiters render their own."""
