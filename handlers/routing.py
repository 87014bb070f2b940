"""Small routers with filters, in the spirit of aiogram.

A filter returns False (no match) or a dict of parsed values that become the handler's
keyword arguments. Routers are included in an explicit order; the first match answers.

Matching is cheap because the work is done once, not per update: a router flattens its
routes (its own, then each included router's, in order) on its first match and keeps that
list until a ``route()`` or ``include()`` anywhere below it, so routers may still grow
after they have answered. A route whose first filter is a plain ``Command`` or ``Event`` is
indexed by its names: the text's head word is read once per update, and only the routes
that could take it are tried. ``Command`` and ``Event`` read only the update, which
filters do not change.
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from models.user import Role
from qunshop.chat import ChatType, Reply, Update
from services import chat_users, moderation

if TYPE_CHECKING:
    import aiohttp
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
    http: aiohttp.ClientSession | None = None  # WeChat's content security (moderation)
    # The update whose text was split into a command, and the split: see command_parts().
    _command: tuple[Update, tuple[str, str] | None] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    async def load_user(self) -> User:
        """The sender's record: most handlers need only ``principal``, so it is read lazily."""
        if self.user is None:
            assert self.principal is not None
            self.user = await chat_users.user(self.principal.user_id)
        return self.user

    @property
    def in_group(self) -> bool:
        """Others read the reply: what someone bought, paid or picks up is named only alone."""
        return self.update.chat_type is not ChatType.SINGLE

    @property
    def tz(self) -> ZoneInfo:
        """The time zone people here live in: the group's community's, else the shop's."""
        return ZoneInfo(self.community.timezone if self.community else self.settings.timezone)

    def screen(self) -> moderation.Screen | None:
        """WeChat's content security for this update's moderation, when the app has HTTP."""
        if self.http is None:
            return None
        return moderation.Screen(http=self.http, redis=self.redis, settings=self.settings)

    def render(self, name: str, **values: Any) -> str:
        return self.templates.get_template(name).render(**values).strip()

    def command_parts(self) -> tuple[str, str] | None:
        """The text's head word (lower case, leading ``/`` dropped) and the stripped rest.

        None when there is no text. Split once per update and shared by every ``Command``.
        """
        cached = self._command
        if cached is not None and cached[0] is self.update:
            return cached[1]
        parts = split_command(self.update.text)
        self._command = (self.update, parts)
        return parts


def split_command(text: str | None) -> tuple[str, str] | None:
    text = (text or "").strip()
    if not text:
        return None
    head, _, rest = text.partition(" ")
    if "\u3000" in head:  # a Chinese IME's full-width space ends the head word too
        head, _, more = head.partition("\u3000")
        rest = f"{more} {rest}" if rest else more
    return head.lstrip("/").lower(), rest.strip()


# A head word with a number glued on: 「取消订单1」, 「售后1坏了」. ``\d`` takes full-width
# digits too, which int() reads back as the same number.
_GLUED = re.compile(r"(?P<name>\D+)(?P<number>\d+)(?P<more>.*)", re.DOTALL)


def unglue(head: str, rest: str, names: frozenset[str]) -> tuple[str, str]:
    """「取消订单1」 read as 「取消订单 1」 and 「参团MNTR4DCR」 as 「参团 MNTR4DCR」, but only when
    the head starts with one of ``names`` (the commands that take a number or a code): any
    other head is left whole, so that a name with digits of its own is not cut into pieces."""
    # A code glued on (the card's button reads 参团<code>), first: a code may start with a digit.
    # Letters and digits, 4 or more, after the longest name the head starts with.
    name = max((n for n in names if head.startswith(n)), key=len, default="")
    code = head[len(name) :]
    if name and len(code) >= 4 and code.isascii() and code.isalnum():
        return name, " ".join(p for p in (code, rest) if p)
    match = _GLUED.fullmatch(head)  # 「售后员」 or 「cancelled」 stay whole
    if match is not None and match["name"] in names:
        return match["name"], " ".join(p for p in (match["number"], match["more"], rest) if p)
    return head, rest


FilterResult = bool | dict[str, Any]
Filter = Callable[[Context], FilterResult | Awaitable[FilterResult]]
Handler = Callable[..., Awaitable[Reply | None]]


class Command:
    """``帮助`` / ``help`` / ``/help`` at the start of the text; the rest is ``args``.

    With ``pattern``, the rest must match it and its named groups are handed on. With
    ``glued``, the command takes a number that people type without a space: 「取消订单1」 is
    「取消订单 1」 (see ``unglue``).
    """

    def __init__(self, *names: str, pattern: str | None = None, glued: bool = False) -> None:
        self.names = frozenset(n.lower() for n in names)  # frozen: routers index by it
        self.pattern = re.compile(pattern) if pattern else None
        self.glued = self.names if glued else frozenset()

    def __call__(self, ctx: Context) -> FilterResult:
        parts = ctx.command_parts()
        if parts is None:
            return False
        head, rest = unglue(*parts, self.glued) if parts[0] not in self.names else parts
        if head not in self.names:
            return False
        return self.values(rest)

    def values(self, rest: str) -> dict[str, Any]:
        """What a match hands on, given the text after the head word."""
        if self.pattern is None:
            return {"args": rest}
        match = self.pattern.fullmatch(rest)
        if match is None:
            return {"args": rest, "bad_args": True}
        return {"args": rest, **match.groupdict()}


class Event:
    def __init__(self, *events: str) -> None:
        self.events = frozenset(e.lower() for e in events)  # frozen: routers index by it

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


@dataclass(frozen=True, slots=True)
class _Route:
    """One registered route, read once at registration for the matcher."""

    given: tuple[Filter, ...]  # the filters as registered
    handler: Handler
    command: Command | None  # a plain Command first: checked through the index
    events: frozenset[str] | None  # a plain Event first: checked through the index
    rest: tuple[Filter, ...]  # the filters left to call, in order (``Always`` dropped)

    @classmethod
    def of(cls, filters: tuple[Filter, ...], handler: Handler) -> _Route:
        first = filters[0] if filters else None
        command = first if type(first) is Command else None
        events = first.events if type(first) is Event else None
        rest = filters[1:] if command is not None or events is not None else filters
        rest = tuple(flt for flt in rest if flt is not Always)
        return cls(filters, handler, command, events, rest)

    def may_take(self, head: str | None, event: str | None) -> bool:
        if self.command is not None:
            return head in self.command.names
        if self.events is not None:
            return event in self.events
        return True


class _Plan:
    """A router's routes in order, and which of them each kind of update can reach."""

    def __init__(self, routes: tuple[_Route, ...]) -> None:
        self.routes = routes
        self.names: frozenset[str] = frozenset().union(
            *(r.command.names for r in routes if r.command is not None)
        )
        self.events: frozenset[str] = frozenset().union(
            *(r.events for r in routes if r.events is not None)
        )
        self.glued: frozenset[str] = frozenset().union(
            *(r.command.glued for r in routes if r.command is not None)
        )
        # Keyed by (head word, event), each None unless some indexed route names it: bounded.
        self._reachable: dict[tuple[str | None, str | None], tuple[_Route, ...]] = {}

    def reachable(self, head: str | None, event: str | None) -> tuple[_Route, ...]:
        key = (head if head in self.names else None, event if event in self.events else None)
        found = self._reachable.get(key)
        if found is None:
            found = tuple(r for r in self.routes if r.may_take(*key))
            self._reachable[key] = found
        return found


class Router:
    def __init__(self, name: str) -> None:
        self.name = name
        self._routes: list[_Route] = []
        self._children: list[Router] = []
        self._parents: weakref.WeakSet[Router] = weakref.WeakSet()
        self._flat: tuple[_Route, ...] | None = None  # own routes, then the children's
        self._plan: _Plan | None = None

    def route(self, *filters: Filter) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._routes.append(_Route.of(filters, handler))
            self._changed()
            return handler

        return register

    def include(self, *routers: Router) -> None:
        self._children.extend(routers)
        for child in routers:
            child._parents.add(self)
        self._changed()

    def walk(self) -> Iterable[tuple[tuple[Filter, ...], Handler]]:
        for route in self._flattened():
            yield route.given, route.handler

    async def match(self, ctx: Context) -> tuple[Handler, dict[str, Any]] | None:
        plan = self._plan
        if plan is None:
            plan = self._plan = _Plan(self._flattened())
        head, rest = (ctx.command_parts() if plan.names else None) or (None, "")
        if head is not None and head not in plan.names and plan.glued:
            head, rest = unglue(head, rest, plan.glued)
        event = (ctx.update.event or "").lower() if plan.events else None
        for route in plan.reachable(head, event):
            values = route.command.values(rest) if route.command is not None else {}
            for flt in route.rest:
                result = flt(ctx)
                if result is False:
                    break
                if result is True:
                    continue
                if not isinstance(result, dict) and inspect.isawaitable(result):
                    result = await result
                    if result is False:
                        break
                if isinstance(result, dict):
                    values.update(result)
            else:
                return route.handler, values
        return None

    def _flattened(self) -> tuple[_Route, ...]:
        if self._flat is None:
            routes = list(self._routes)
            for child in self._children:
                routes.extend(child._flattened())
            self._flat = tuple(routes)
        return self._flat

    def _changed(self) -> None:
        """Forget the flattened routes here and in every router that includes this one."""
        if self._flat is None:
            return  # no router above holds a copy: each builds its list from this one's
        self._flat = None
        self._plan = None
        for parent in list(self._parents):
            parent._changed()
