"""Mini-program subscribe messages: consent as the user gave it, spent one message at a time.

Only the shop's own templates (``Settings.subscribe_templates``) are kept: an id that is none
of them could never carry a message, and a stored one would only grow the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.activity import SubscribeConsent
from qunshop.errors import ErrorCode, Invalid

if TYPE_CHECKING:
    import uuid
    from collections.abc import Collection

MAX_BANKED = 50  # one-time consents pile up per tap; more than this is a client bug


@dataclass(frozen=True)
class Accepted:
    remaining: dict[str, int]  # each known template accepted: messages it may now carry
    ignored: list[str]  # ids that are none of the shop's templates, not kept


def known_template(template_id: str, known: Collection[str]) -> None:
    """Refuse an id that is none of the shop's subscribe templates."""
    if template_id not in known:
        raise Invalid(
            ErrorCode.UNKNOWN_SUBSCRIBE_TEMPLATE,
            f"{template_id!r} is none of the shop's subscribe templates",
            known=sorted(known),
        )


async def accepted(
    *, user_id: uuid.UUID, template_ids: list[str], known: Collection[str]
) -> Accepted:
    """Record that the user accepted these templates once more. Ids that are none of the
    shop's are left out and named; when none is the shop's, the request is refused."""
    ids = list(dict.fromkeys(template_ids))
    kept = [t for t in ids if t in known]
    if not kept:
        known_template(ids[0], known)
    remaining: dict[str, int] = {}
    for template_id in kept:
        try:
            async with in_transaction():
                await SubscribeConsent.create(user_id=user_id, template_id=template_id)
        except IntegrityError:
            pass
        await SubscribeConsent.filter(
            user_id=user_id, template_id=template_id, remaining__lt=MAX_BANKED
        ).update(remaining=F("remaining") + 1)
        consent = await SubscribeConsent.get(user_id=user_id, template_id=template_id)
        remaining[template_id] = consent.remaining
    return Accepted(remaining, [t for t in ids if t not in known])


async def remaining(*, user_id: uuid.UUID, templates: Collection[str]) -> dict[str, int]:
    """What each of these templates may still carry to the user (0 without consent)."""
    held = dict(
        await SubscribeConsent.filter(user_id=user_id, template_id__in=list(templates)).values_list(
            "template_id", "remaining"
        )
    )
    return {t: held.get(t, 0) for t in templates}


async def spend(*, user_id: uuid.UUID, template_id: str) -> bool:
    """Use one consent if there is one (a checked conditional update)."""
    taken = await SubscribeConsent.filter(
        user_id=user_id, template_id=template_id, remaining__gte=1
    ).update(remaining=F("remaining") - 1)
    return taken == 1
