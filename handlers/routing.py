"""Small routers with filters, in the spirit of aiogram.

A filter returns False (no match) or a dict of parsed values that become the handler's
keyword arguments. Routers are included in an explicit order; the first match answers.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from models.user import Role
from qunshop.chat import Reply, Update
from services import chat_users

if TYPE_CHECKING:
    import jinja2
    from redis.asyncio import Redis

    from models.community import Community
    from models.user import User
    from qunshop.config import Settings
    from services.auth import Principal


@dataclass
class Context:
    update: Update
    now: datetime
    redis: Redis
    settings: Settings
    templates: jinja2.Environment
    principal: Principal | None = None  # who wrote (id and role), set for every update
    user: User | None = None  # their full record, once a handler asked for it
    community: Community | None = None  # the community bound to this group chat
    data: dict[str, Any] = field(default_factory=dict)

    async def load_user(self) -> User:
        """The sender's record: most handlers need only ``principal``, so it is read lazily."""
        if self.user is None:
            assert self.principal is not None
            self.user = await chat_users.user(self.principal.user_id)
        return self.user

    def render(self, name: str, **values: Any) -> str:
        return self.templates.get_template(name).render(**values).strip()


FilterResult = bool | dict[str, Any]
Filter = Callable[[Context], FilterResult | Awaitable[FilterResult]]
Handler = Callable[..., Awaitable[Reply | None]]


async def _apply(flt: Filter, ctx: Context) -> FilterResult:
    result = flt(ctx)
    if inspect.isawaitable(result):
        result = await result
    return result


class Command:
    """``帮助`` / ``help`` / ``/help`` at the start of the text; the rest is ``args``.

    With ``pattern``, the rest must match it and its named groups are handed on.
    """

    def __init__(self, *names: str, pattern: str | None = None) -> None:
        self.names = {n.lower() for n in names}
        self.pattern = re.compile(pattern) if pattern else None

    def __call__(self, ctx: Context) -> FilterResult:
        text = (ctx.update.text or "").strip()
        if not text:
            return False
        head, _, rest = text.partition(" ") if " " in text else (text, "", "")
        head = head.lstrip("/").lower()
        if head not in self.names:
            return False
        rest = rest.strip()
        if self.pattern is None:
            return {"args": rest}
        match = self.pattern.fullmatch(rest)
        if match is None:
            return {"args": rest, "bad_args": True}
        return {"args": rest, **match.groupdict()}


class Event:
    def __init__(self, *events: str) -> None:
        self.events = {e.lower() for e in events}

    def __call__(self, ctx: Context) -> FilterResult:
        event = (ctx.update.event or "").lower()
        return event in self.events


class Roles:
    def __init__(self, *roles: Role) -> None:
        self.roles = set(roles)

    def __call__(self, ctx: Context) -> FilterResult:
        return ctx.principal is not None and ctx.principal.role in self.roles


class Regex:
    def __init__(self, pattern: str) -> None:
        self.pattern = re.compile(pattern)

    def __call__(self, ctx: Context) -> FilterResult:
        match = self.pattern.search(ctx.update.text or "")
        return match.groupdict() if match else False


def Always(ctx: Context) -> FilterResult:  # noqa: N802 - reads like the other filters
    return True


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[tuple[tuple[Filter, ...], Handler]] = []
        self._children: list[Router] = []

    def route(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append((filters, handler))
            return handler

        return register

    def include(self, *routers: Router) -> None:
        self._children.extend(routers)

    def walk(self) -> Iterable[tuple[tuple[Filter, ...], Handler]]:
        yield from self._routes
        for child in self._children:
            yield from child.walk()

    async def match(self, ctx: Context) -> tuple[Handler, dict[str, Any]] | None:
        for filters, handler in self.walk():
            values: dict[str, Any] = {}
            for flt in filters:
                result = await _apply(flt, ctx)
                if result is False:
                    break
                if isinstance(result, dict):
                    values.update(result)
            else:
                return handler, values
        return None
