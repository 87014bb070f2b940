"""The WeCom bot's stream state, kept in Redis by stream id so any worker answers a refresh.

A user message opens a stream; WeCom then polls it (msgtype "stream") until a frame says
finish=true, for at most 6 minutes. The state holds the full content so far, and the card
of the final answer, which goes out once per stream (WECHAT.md 10.3.3).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from bot import cards
from qunshop.chat import Card, Text

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.budget import Later, Outcome
    from qunshop.chat import Reply, Update

MAX_CONTENT_BYTES = 20480
STREAM_TTL_SECONDS = 600  # refreshes stop 6 minutes after the user's message
PENDING_TEXT = "正在处理…"
FAILED_TEXT = "抱歉，处理出错了，请稍后再发一次。"
EXPIRED_TEXT = "这条消息已处理完或已过期；需要的话请重新发送。"


@dataclass(frozen=True)
class StreamState:
    finish: bool
    content: str
    card: dict[str, Any] | None = None


PENDING = StreamState(finish=False, content=PENDING_TEXT)
EXPIRED = StreamState(finish=True, content=EXPIRED_TEXT)


def new_stream_id() -> str:
    return secrets.token_hex(16)


def _key(stream_id: str) -> str:
    return f"chat:stream:{stream_id}"


def _fit(content: str) -> str:
    """Stream content is at most 20480 bytes of UTF-8."""
    raw = content.encode()
    if len(raw) <= MAX_CONTENT_BYTES:
        return content
    return raw[: MAX_CONTENT_BYTES - 3].decode(errors="ignore") + "…"


def finished(outcome: Outcome, stream_id: str) -> StreamState:
    if outcome.failed:
        return StreamState(finish=True, content=FAILED_TEXT)
    return from_reply(outcome.reply, stream_id)


def from_reply(reply: Reply | None, stream_id: str) -> StreamState:
    if isinstance(reply, Text):
        return StreamState(finish=True, content=_fit(reply.content))
    if isinstance(reply, Card):
        card = cards.template_card(reply, task_id=cards.task_id("card", stream_id))
        return StreamState(finish=True, content=_fit(cards.markdown(reply)), card=card)
    return StreamState(finish=True, content="")


async def save(redis: Redis, stream_id: str, state: StreamState) -> None:
    await redis.set(
        _key(stream_id), json.dumps(asdict(state), ensure_ascii=False), ex=STREAM_TTL_SECONDS
    )


async def load(redis: Redis, stream_id: str) -> StreamState | None:
    raw = await redis.get(_key(stream_id))
    if raw is None:
        return None
    data = json.loads(raw)
    return StreamState(finish=bool(data["finish"]), content=data["content"], card=data["card"])


async def frame(redis: Redis, stream_id: str, state: StreamState) -> dict[str, Any]:
    """The reply for this stream now; the final card rides on the first finished frame only."""
    stream = {"id": stream_id, "finish": state.finish, "content": state.content}
    if state.finish and state.card is not None:
        first = await redis.set(f"{_key(stream_id)}:card", "1", nx=True, ex=STREAM_TTL_SECONDS)
        if first:
            return {
                "msgtype": "stream_with_template_card",
                "stream": stream,
                "template_card": state.card,
            }
    return {"msgtype": "stream", "stream": stream}


def stream_later(redis: Redis, stream_id: str) -> Later:
    """``later`` for the bot: a slow answer becomes the stream's final state."""

    async def store(update: Update, outcome: Outcome) -> None:
        await save(redis, stream_id, finished(outcome, stream_id))

    return store
