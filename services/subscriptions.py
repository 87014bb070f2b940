"""Mini-program subscribe messages: consent as the user gave it, spent one message at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.activity import SubscribeConsent

if TYPE_CHECKING:
    import uuid

MAX_BANKED = 50  # one-time consents pile up per tap; more than this is a client bug


async def accepted(*, user_id: uuid.UUID, template_ids: list[str]) -> dict[str, int]:
    """Record that the user accepted these templates once more; returns what each now allows."""
    result: dict[str, int] = {}
    for template_id in dict.fromkeys(template_ids):
        try:
            async with in_transaction():
                await SubscribeConsent.create(user_id=user_id, template_id=template_id)
        except IntegrityError:
            pass
        await SubscribeConsent.filter(
            user_id=user_id, template_id=template_id, remaining__lt=MAX_BANKED
        ).update(remaining=F("remaining") + 1)
        consent = await SubscribeConsent.get(user_id=user_id, template_id=template_id)
        result[template_id] = consent.remaining
    return result


async def spend(*, user_id: uuid.UUID, template_id: str) -> bool:
    """Use one consent if there is one (a checked conditional update)."""
    taken = await SubscribeConsent.filter(
        user_id=user_id, template_id=template_id, remaining__gte=1
    ).update(remaining=F("remaining") - 1)
    return taken == 1
