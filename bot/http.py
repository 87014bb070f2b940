"""What the three webhooks share at the HTTP edge: refusals, acknowledgements, the XML flow."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from bot.budget import dispatch_within, messenger_later, retry_later
from bot.crypto import BadPayload, BadSignature
from bot.dedupe import claim, release
from bot.safexml import BadXml
from bot.xml_replies import render_xml
from qunshop.keys import CLOCK, METRICS, SETTINGS

if TYPE_CHECKING:
    from qunshop.chat import Update
    from qunshop.keys import Resources

logger = logging.getLogger(__name__)

View = Callable[[web.Request], Awaitable[web.StreamResponse]]


def refusing(view: View) -> View:
    """Bad or missing signatures become 403, undecodable payloads 400; nothing else runs.
    Each delivery's outcome is counted (``qunshop_webhook_requests``)."""

    @functools.wraps(view)
    async def guarded(request: web.Request) -> web.StreamResponse:
        metrics = request.app[METRICS]
        try:
            response = await view(request)
        except BadSignature as exc:
            metrics.webhook(request.path, "refused")
            logger.warning("webhook %s refused (403): %s", request.path, exc)
            raise web.HTTPForbidden(reason="Forbidden") from None
        except (BadPayload, BadXml) as exc:
            metrics.webhook(request.path, "bad_payload")
            logger.warning("webhook %s refused (400): %s", request.path, exc)
            raise web.HTTPBadRequest(reason="Bad Request") from None
        except web.HTTPServiceUnavailable:
            metrics.webhook(request.path, "outage")
            raise
        except Exception:
            metrics.webhook(request.path, "error")
            raise
        metrics.webhook(request.path, "accepted")
        return response

    return guarded


def success() -> web.Response:
    """WeChat's "received, no reply" (also accepted in safe mode)."""
    return web.Response(text="success", content_type="text/plain")


def the_query(request: web.Request, *names: str) -> list[str]:
    """Required query parameters; a missing one is a missing signature part."""
    values = [request.query.get(name, "") for name in names]
    missing = [name for name, value in zip(names, values, strict=True) if not value]
    if missing:
        raise BadSignature(f"query lacks {', '.join(missing)}")
    return values


def plus_quirk(echostr: str) -> str:
    """A raw '+' in the query reaches aiohttp as ' '; base64 never holds a space."""
    return echostr.replace(" ", "+")


async def answer_xml(
    request: web.Request, app: Resources, update: Update | None, seal: Callable[[str, str], str]
) -> web.Response:
    """Claim, dispatch within the budget, reply passively; ``seal(xml, timestamp)`` encrypts."""
    if update is None:
        logger.info("webhook %s: message type not handled; acknowledged", request.path)
        return success()
    update = await claim(app, update)
    if update is None:
        return success()
    outcome = await dispatch_within(
        app, update, budget=app[SETTINGS].chat_reply_budget, later=messenger_later(app)
    )
    if outcome is not None and outcome.outage:
        # The database or Redis was down: acknowledging would lose the message. Give the
        # claim back and answer 503; the platform re-delivers (three times, 5 s apart).
        if await release(app, update):
            raise web.HTTPServiceUnavailable(reason="Service Unavailable")
        # Redis still holds the claim, so every re-delivery would be acknowledged as a
        # duplicate: this process tries again itself and answers late.
        retry_later(app, update, outcome, later=messenger_later(app))
        return success()
    if outcome is None or outcome.reply is None:
        app[METRICS].update("deferred" if outcome is None else "no_reply")
        return success()
    app[METRICS].update("replied")
    now = int(app[CLOCK].now().timestamp())
    xml = render_xml(update, outcome.reply, now)
    return web.Response(text=seal(xml, str(now)), content_type="application/xml")
