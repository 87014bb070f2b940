"""The chat dispatcher: middlewares around the routers, answering one Update with one Reply."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import jinja2

from handlers.routing import Context, Router
from qunshop import error_words
from qunshop.chat import ChatType, Reply, Text, Update
from qunshop.errors import QunshopError
from services import chat_gate, chat_users

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.clock import Clock
    from qunshop.config import Settings
    from services.chat_users import Senders

logger = logging.getLogger(__name__)


class ChatDispatcher:
    def __init__(
        self,
        router: Router,
        *,
        redis: Redis,
        settings: Settings,
        clock: Clock,
        templates: jinja2.Environment,
        senders: Senders,
        http: aiohttp.ClientSession | None = None,
    ) -> None:
        self.http = http
        self.router = router
        self.senders = senders
        self.redis = redis
        self.settings = settings
        self.clock = clock
        self.templates = templates

    async def __call__(self, update: Update) -> Reply | None:
        ctx = Context(
            update=update,
            now=self.clock.now(),
            redis=self.redis,
            settings=self.settings,
            templates=self.templates,
            http=self.http,
        )
        try:
            if await chat_gate.limited(self.redis, update):
                return Text(ctx.render("rate_limited.j2"))
            ctx.principal = await self.senders(
                platform=update.platform.value, external_id=update.sender, now=ctx.now
            )
            if update.chat_type is ChatType.GROUP:
                ctx.community = await chat_users.community_of_chat(update.chat_id)
            found = await self.router.match(ctx)
            if found is None:
                return None
            handler, values = found
            return await handler(ctx, **values)
        except QunshopError as exc:
            return Text(self._error_text(ctx, exc))

    def _error_text(self, ctx: Context, exc: QunshopError) -> str:
        name = f"errors/{exc.code.value}.j2"
        # The after-sale days are configured (QUNSHOP_AUTO_COMPLETE_DAYS): refusals say them.
        # In a group a refusal that sends someone to a personal list says to ask privately.
        # ``words``: the code's, as the pages say them; ``said``: the service's detail only
        # when a person can read it (the API's English never reaches the chat).
        values = {
            "error": exc,
            "words": error_words.message_of(exc.status, exc.code),
            "said": error_words.readable(exc.detail),
            "after_sale_days": ctx.settings.auto_complete_days,
            "in_group": ctx.in_group,
        }
        try:
            return ctx.render(name, **values)
        except jinja2.TemplateNotFound as missing:
            if missing.name != name:  # a template this one includes is missing: a bug
                raise
            return ctx.render("errors/generic.j2", **values)  # no template for this code
