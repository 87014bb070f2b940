"""A person's data, taken out (``export``) or erased (``erase``), under PIPL.

Which tables mention a person is read from the models, not listed by hand: every table with
a foreign key to ``users`` (``User``'s backward relations), and the tables that name a person
another way: payments and refunds (through the person's orders; a payment's payload holds
the payer's openid), follows (by the chat identities' platform ids), the outbox (messages
addressed to the person), idempotency records (the person's own answers, keyed by their id)
and the audit log (entries about the person).

Erasure keeps the books: orders, payments, refunds and earnings stay, tied to a user row
that no longer says who it was (its openid becomes ``erased:<id>``, the nickname, avatar
and unionid go). What names the person goes: sealed personal details, chat identities'
platform ids, follows' ids, the payer's openid in payment payloads, messages addressed to
them, stored answers, leader-application texts, subscribe consents. The ``Erasure`` row
keeps the date after which the retention job (``services.retention``) strips the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.fields.relational import BackwardFKRelation, BackwardOneToOneRelation
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.activity import SubscribeConsent
from models.audit import AuditEntry
from models.chat import ChatIdentity, Follow
from models.order import Order, OrderStatus
from models.outbox import IdempotencyRecord, OutboxMessage
from models.payment import Payment, Refund
from models.privacy import Erasure, PersonalDetails
from models.user import LeaderApplication, Role, User
from qunshop.errors import Conflict, ErrorCode
from services import personal
from services.auth import session_key_name

if TYPE_CHECKING:
    import uuid

    from redis.asyncio import Redis

    from qunshop.config import Settings
    from services.auth import Principal

# Orders still moving: money or goods are on their way, so the account must stay nameable.
OPEN_ORDERS = (
    OrderStatus.PAID_AWAITING_TEAM,
    OrderStatus.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.REFUNDING,
)
# What a WeChat Pay notify carries that names the payer.
PAYER_KEYS = ("openid", "sub_openid", "attach")
WITHHELD = "(withheld: another person's)"
_MENTIONS = "SELECT id FROM outbox WHERE strpos(payload::text, $1) > 0"


@dataclass(frozen=True)
class Relation:
    model: type[Model]
    column: str  # the foreign key to users, e.g. "user_id"


def person_relations() -> list[Relation]:
    """Every (table, column) with a foreign key to ``users``, as the models declare them."""
    found = []
    for name in sorted(User._meta.backward_fk_fields | User._meta.backward_o2o_fields):
        rel = User._meta.fields_map[name]
        assert isinstance(rel, BackwardFKRelation | BackwardOneToOneRelation)
        found.append(Relation(rel.related_model, rel.relation_field))
    return found


def _table(model: type[Model]) -> str:
    return model._meta.db_table


def _merge(
    into: dict[str, list[dict[str, Any]]],
    table: str,
    rows: Iterable[dict[str, Any]],
    pk: str = "id",
) -> None:
    kept = into.setdefault(table, [])
    seen = {row[pk] for row in kept}
    for row in rows:
        if row[pk] not in seen:
            seen.add(row[pk])
            kept.append(row)


async def _platform_ids(user_id: uuid.UUID) -> list[str]:
    return list(await ChatIdentity.filter(user_id=user_id).values_list("external_id", flat=True))


async def _outbox_mentioning(needles: Iterable[str]) -> list[Any]:
    db = connections.get("default")
    ids: list[Any] = []
    for needle in {n for n in needles if n}:
        ids += [row["id"] for row in await db.execute_query_dict(_MENTIONS, [needle])]
    return ids


def _withhold_others(tables: dict[str, list[dict[str, Any]]], *, own_orders: set[Any]) -> None:
    """Rows about the person's own acts may name other people's things: a leader's pickup
    verifications hold shoppers' codes, an attempt names someone's order. Those stay out."""
    for rows in tables.values():
        for row in rows:
            if row.get("order_id") is not None and row["order_id"] not in own_orders:
                row["order_id"] = None
    for row in tables.get("pickup_verifications", []):
        row["code"] = WITHHELD


async def export(*, principal: Principal, settings: Settings, now: datetime) -> dict[str, Any]:
    """Everything Qunshop holds about the caller, by table."""
    user = await User.get(id=principal.user_id)
    tables: dict[str, list[dict[str, Any]]] = {}
    _merge(tables, "users", await User.filter(id=user.id).values())
    for rel in person_relations():
        rows = await rel.model.filter(**{rel.column: user.id}).values()
        _merge(tables, _table(rel.model), rows, pk=rel.model._meta.pk_attr)
    if "personal_details" in tables:  # opened for their owner
        details = await personal.mine(principal=principal, settings=settings)
        for row in tables["personal_details"]:
            row.pop("phone_sealed"), row.pop("real_name_sealed")
            row.update(phone=details.phone, real_name=details.real_name)
    order_ids = [row["id"] for row in tables.get("orders", [])]
    _merge(tables, "payments", await Payment.filter(order_id__in=order_ids).values())
    _merge(tables, "refunds", await Refund.filter(order_id__in=order_ids).values())
    platform_ids = await _platform_ids(user.id)
    _merge(tables, "follows", await Follow.filter(external_id__in=platform_ids).values())
    outbox = await _outbox_mentioning([user.openid, str(user.id), *platform_ids])
    _merge(tables, "outbox", await OutboxMessage.filter(id__in=outbox).values())
    _merge(
        tables,
        "idempotency_records",
        await IdempotencyRecord.filter(slot__startswith=f"{user.id}:").values(),
    )
    _merge(tables, "audit_log", await AuditEntry.filter(target=f"user:{user.id}").values())
    _withhold_others(tables, own_orders=set(order_ids))
    return {
        "generated_at": now,
        "user_id": user.id,
        "tables": {name: rows for name, rows in sorted(tables.items()) if rows},
    }


async def erase(
    *, principal: Principal, settings: Settings, now: datetime, redis: Redis | None = None
) -> Erasure:
    """Erase the caller's identity; keep their orders and payments without it. Once: a
    second request finds the first erasure."""
    user = await User.get(id=principal.user_id)
    if (done := await Erasure.get_or_none(user_id=user.id)) is not None:
        return done
    if user.role is not Role.SHOPPER:
        raise Conflict(
            ErrorCode.ERASURE_REFUSED_STAFF,
            "an operator or leader hands over their role before erasing the account",
        )
    if await Order.filter(user_id=user.id, status__in=OPEN_ORDERS).exists():
        raise Conflict(
            ErrorCode.ERASURE_ORDERS_OPEN,
            "orders are still on their way: erase the account after they are picked up",
        )
    summary: dict[str, int] = {}
    async with in_transaction():
        platform_ids = await _platform_ids(user.id)
        outbox = await _outbox_mentioning([user.openid, str(user.id), *platform_ids])
        summary["outbox"] = await OutboxMessage.filter(id__in=outbox).delete()
        summary["follows"] = await Follow.filter(external_id__in=platform_ids).update(
            external_id=f"erased:{user.id.hex}"
        )
        summary["chat_identities"] = 0
        for identity in await ChatIdentity.filter(user_id=user.id):
            summary["chat_identities"] += await ChatIdentity.filter(id=identity.id).update(
                external_id=f"erased:{identity.id.hex}", unionid=None
            )
        order_ids = list(await Order.filter(user_id=user.id).values_list("id", flat=True))
        summary["payments"] = 0
        for payment in await Payment.filter(order_id__in=order_ids):
            kept = {k: v for k, v in payment.payload.items() if k not in PAYER_KEYS}
            summary["payments"] += await Payment.filter(id=payment.id).update(payload=kept)
        summary["personal_details"] = await PersonalDetails.filter(user_id=user.id).delete()
        summary["idempotency_records"] = await IdempotencyRecord.filter(
            slot__startswith=f"{user.id}:"
        ).delete()
        summary["leader_applications"] = await LeaderApplication.filter(user_id=user.id).update(
            community_name="", pickup_name="", pickup_address="", pickup_hours="", note=""
        )
        summary["subscribe_consents"] = await SubscribeConsent.filter(user_id=user.id).delete()
        summary["users"] = await User.filter(id=user.id).update(
            openid=f"erased:{user.id.hex}", unionid=None, nickname="", avatar_url=None
        )
        erasure = await Erasure.create(
            user_id=user.id,
            erased_at=now,
            keep_until=now + timedelta(days=settings.order_retention_days),
            summary=summary,
        )
    if redis is not None:
        await redis.delete(session_key_name(user.id))
    return erasure
