"""The outbound messenger: every message the server sends on its own goes through here.

- Access tokens live in Redis, shared by every worker (wechat/tokens.py): fetched once under
  a Redis lock; a token the platform rejects (40001/40014/42001) is refreshed once and the
  call retried once. A token failure is a retryable ``MessagingError``, so the outbox retries.
- A WeCom group robot takes at most 20 messages a minute (a window of services.ratelimit per
  minute of the injected clock); a send over the limit is refused with ``Throttled``, never
  sent.
- Each group chat gets ``settings.group_daily_quota`` messages per Asia/Shanghai day; a send
  beyond it raises ``OverQuota``.
- ``deliver`` queues a late answer to a chat update; ``send`` is the outbox handler for
  "chat.send" rows (see services/notify.py for their payloads).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from qunshop.chat import Card, ChatType, Platform, Reply, Text, Update
from services import notify, ratelimit
from services.outbox import GiveUp, RetryLater
from wechat import messaging
from wechat.messaging import MessagingError
from wechat.tokens import TokenCache

if TYPE_CHECKING:
    import aiohttp
    from redis.asyncio import Redis

    from qunshop.clock import Clock
    from qunshop.config import Settings

logger = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROBOT_PER_MINUTE = 20
DAY_SECONDS = 24 * 3600  # a day's window outlives the day its key names
RESPONSE_URL_TTL = timedelta(hours=1)
FINAL_CUSTOM_ERRORS = frozenset({messaging.OUT_OF_WINDOW, messaging.QUOTA_USED})


class Throttled(Exception):
    """The robot has sent its 20 messages of this minute: send later."""


class OverQuota(Exception):
    """The group chat has had its messages for today: drop this one."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class Messenger:
    def __init__(
        self, *, http: aiohttp.ClientSession, redis: Redis, settings: Settings, clock: Clock
    ) -> None:
        self.http = http
        self.redis = redis
        self.settings = settings
        self.clock = clock
        self._wechat = TokenCache.wechat(
            http=http,
            redis=redis,
            base=settings.wechat_api_base,
            appid=settings.wechat_appid,
            secret=settings.wechat_secret.get_secret_value(),
        )
        self._wecom = TokenCache.wecom(
            http=http,
            redis=redis,
            base=settings.wecom_api_base,
            corp_id=settings.wecom_corp_id,
            agent_id=settings.wecom_agent_id,
            secret=settings.wecom_secret.get_secret_value(),
        )

    # Limits ---------------------------------------------------------------------------------

    async def _reserve_group(self, group: str) -> str:
        day = self.clock.now().astimezone(SHANGHAI).strftime("%Y%m%d")
        name = f"group-quota:{group}:{day}"
        quota = self.settings.group_daily_quota
        if not await ratelimit.take(self.redis, name, limit=quota, window_seconds=DAY_SECONDS):
            raise OverQuota(f"group {group} had its {quota} today")
        return name

    async def _robot_admit(self, key: str) -> None:
        name = ratelimit.period_key(f"robot:{_digest(key)}", self.clock.now(), 60)
        if not await ratelimit.take(self.redis, name, limit=ROBOT_PER_MINUTE, window_seconds=60):
            raise Throttled(f"robot {_digest(key)} sent {ROBOT_PER_MINUTE} this minute")

    async def _in_group(self, group: str | None, send: Callable[[], Awaitable[Any]]) -> None:
        """Send within the group's daily quota; a message the platform refused is not counted."""
        if group is None:
            await send()
            return
        name = await self._reserve_group(group)
        try:
            await send()
        except Throttled:
            await ratelimit.give_back(self.redis, name)
            raise
        except MessagingError as exc:
            if exc.errcode != messaging.SYSTEM_BUSY:  # refused, so surely not delivered
                await ratelimit.give_back(self.redis, name)
            raise

    # Sends ----------------------------------------------------------------------------------

    async def unionid_of(self, openid: str) -> str | None:
        """The follower's unionid, where WeChat gives one (no Open Platform binding: None)."""
        base = self.settings.wechat_api_base
        info = await self._wechat.call(
            lambda token: messaging.user_info(self.http, base=base, token=token, openid=openid)
        )
        unionid = info.get("unionid")
        return unionid if isinstance(unionid, str) and unionid else None

    async def send_custom(self, openid: str, message: dict[str, Any]) -> None:
        """Customer service (text or news); WeChat enforces the 48 h window and 5-message quota."""
        body = messaging.custom_body(openid, message)
        base = self.settings.wechat_api_base
        await self._wechat.call(
            lambda token: messaging.send_custom(self.http, base=base, token=token, payload=body),
        )

    async def send_subscribe(
        self, openid: str, template_id: str, page: str, data: dict[str, Any]
    ) -> None:
        body = {"touser": openid, "template_id": template_id, "page": page, "data": data}
        base = self.settings.wechat_api_base
        await self._wechat.call(
            lambda token: messaging.send_subscribe(self.http, base=base, token=token, payload=body),
        )

    async def send_wecom_app(self, userid: str, message: dict[str, Any]) -> None:
        body = messaging.wecom_app_body(userid, self.settings.wecom_agent_id, message)
        base = self.settings.wecom_api_base
        await self._wecom.call(
            lambda token: messaging.send_wecom_app(self.http, base=base, token=token, payload=body),
        )

    async def send_robot(self, key: str, message: dict[str, Any], *, group: str | None) -> None:
        body = messaging.robot_body(message)

        async def send() -> None:
            await self._robot_admit(key)
            await messaging.send_robot(
                self.http, base=self.settings.wecom_api_base, key=key, payload=body
            )

        await self._in_group(group, send)

    async def post_response(
        self, url: str, message: dict[str, Any], *, single: bool, group: str | None
    ) -> None:
        body = messaging.response_body(message, single=single)
        await self._in_group(
            group, lambda: messaging.post_response_url(self.http, url=url, payload=body)
        )

    # The chat door's late answers, and the outbox handler -----------------------------------

    def reply_payload(self, update: Update, reply: Reply) -> dict[str, Any] | None:
        """Where and what to send for a late answer to ``update``; None if it cannot be sent."""
        message = _neutral(reply)
        if update.platform is Platform.WECHAT:
            return {"via": notify.VIA_CUSTOM, "to": update.sender, "message": message}
        if update.platform is Platform.WECOM:
            return {"via": notify.VIA_WECOM_APP, "to": update.sender, "message": message}
        if not update.response_url:
            return None
        group = update.chat_type is ChatType.GROUP
        return {
            "via": notify.VIA_RESPONSE_URL,
            "url": update.response_url,
            "single": not group,
            "group": update.chat_id if group else None,
            "expires_at": (update.created_at + RESPONSE_URL_TTL).isoformat(),
            "message": message,
        }

    async def deliver(self, update: Update, reply: Reply) -> None:
        """Queue a late answer to ``update``: one outbox row per update, however often called."""
        payload = self.reply_payload(update, reply)
        if payload is None:
            logger.warning("no way to answer %s late: the answer is dropped", update.dedupe_key)
            return
        await notify.queue(
            payload,
            dedupe_key=notify.outbox_key("reply", update.dedupe_key),
            now=self.clock.now(),
        )

    async def send(self, payload: dict[str, Any]) -> None:
        """Outbox handler for "chat.send": RetryLater for what may pass later, GiveUp otherwise."""
        via = payload.get("via")
        try:
            await self._send(via, payload)
        except Throttled as exc:
            raise RetryLater(str(exc)) from exc
        except OverQuota as exc:
            logger.warning("chat.send dropped: %s", exc)
            raise GiveUp(str(exc)) from exc
        except MessagingError as exc:
            if exc.retryable or exc.invalid_token:
                raise RetryLater(f"{via}: {exc.errcode} {exc.errmsg}") from exc
            if exc.errcode in FINAL_CUSTOM_ERRORS:
                logger.warning("chat.send to %s is final: %s", payload.get("to"), exc)
            raise GiveUp(f"{via}: {exc.errcode} {exc.errmsg}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise GiveUp(f"{via}: malformed payload: {exc!r}") from exc

    async def _send(self, via: object, payload: dict[str, Any]) -> None:
        if via == notify.VIA_CUSTOM:
            await self.send_custom(payload["to"], payload["message"])
        elif via == notify.VIA_SUBSCRIBE:
            await self.send_subscribe(
                payload["to"], payload["template_id"], payload["page"], payload["data"]
            )
        elif via == notify.VIA_WECOM_APP:
            await self.send_wecom_app(payload["to"], payload["message"])
        elif via == notify.VIA_ROBOT:
            await self.send_robot(payload["key"], payload["message"], group=payload.get("group"))
        elif via == notify.VIA_RESPONSE_URL:
            expires_at = datetime.fromisoformat(payload["expires_at"])
            if self.clock.now() >= expires_at:
                raise GiveUp("the response_url expired (it lives one hour)")
            await self.post_response(
                payload["url"],
                payload["message"],
                single=bool(payload.get("single")),
                group=payload.get("group"),
            )
        else:
            raise GiveUp(f"unknown channel {via!r}")


def _neutral(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, Text):
        return notify.text(reply.content)
    if isinstance(reply, Card):
        return notify.card(
            title=reply.title,
            description=reply.description,
            url=reply.url,
            picture_url=reply.picture_url,
            button_text=reply.button_text,
            mini_program_path=reply.mini_program_path,
        )
    raise TypeError(f"not a reply: {reply!r}")
