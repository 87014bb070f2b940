"""A person's data, taken out (``export``) or erased (``erase``), under PIPL.

Which tables mention a person is read from the models, not listed by hand: every table with
a foreign key to ``users`` (``User``'s backward relations), and the tables that name a person
another way: payments and refunds (through the person's orders; a payment's payload holds
the payer's openid), follows (by the chat identities' platform ids), the outbox (messages
addressed to the person), idempotency records (the person's own answers, keyed by their id),
the audit log (entries about the person) and the decisions on their supplier application.

Erasure (``services.privacy_erasure``) keeps the books: orders, payments, refunds and
earnings stay, tied to a user row that no longer says who it was (its openid becomes
``erased:<id>``, the nickname, avatar and unionid go). What names the person goes: sealed
personal details, chat identities' platform ids, follows' ids, the payer's openid in payment
payloads, messages addressed to them, stored answers, leader-application texts, subscribe
consents, addresses, what they wrote. The ``Erasure`` row keeps the date after which the
retention job (``services.retention``) strips the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tortoise import connections
from tortoise.fields.relational import BackwardFKRelation, BackwardOneToOneRelation
from tortoise.models import Model

from models.audit import AuditEntry
from models.chat import ChatIdentity, Follow
from models.delivery import HomeDelivery
from models.moderation import ModerationItem
from models.order import OrderStatus
from models.outbox import IdempotencyRecord, OutboxMessage
from models.payment import Payment, Refund
from models.rollup import MemberStats
from models.supply import ReviewDecision
from models.user import User
from services import personal

if TYPE_CHECKING:
    import uuid

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
# Columns that hold a person's id without a foreign key (rollups and logs that outlive rows).
PERSON_IDS = (
    (MemberStats, "user_id"),
    (AuditEntry, "actor_id"),
    (ModerationItem, "decided_by_id"),
)
_MENTIONS = "SELECT id FROM outbox WHERE strpos(payload::text, $1) > 0"
# Rows staff handled that others wrote: (table, the writer's column, the writer's words). In
# a handler's archive the row stays, with its ids and the handler's own decision (status,
# note, reason, reply), without the words: an after-sale's detail and photos, a claim's
# reason and photos, a leader application's texts, a held item's text, a review a leader
# answered, a supplier's contact person.
OTHERS_WORDS = (
    ("after_sales", "user_id", ("detail", "photos")),
    ("group_claims", "filed_by_id", ("reason", "photos")),
    (
        "leader_applications",
        "user_id",
        ("community_name", "pickup_name", "pickup_address", "pickup_hours", "note"),
    ),
    ("moderation_items", "author_id", ("text", "images", "payload")),
    ("reviews", "author_id", ("text", "images")),
    ("suppliers", "account_id", ("contact_name", "contact_phone")),
)


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


def _withhold_others(
    tables: dict[str, list[dict[str, Any]]], *, own_orders: set[Any], user_id: uuid.UUID
) -> None:
    """Rows about the person's own acts may name other people's things: a leader's pickup
    verifications hold shoppers' codes, an attempt names someone's order, what staff decided
    on holds what others wrote (``OTHERS_WORDS``). Those stay out."""
    for rows in tables.values():
        for row in rows:
            if row.get("order_id") is not None and row["order_id"] not in own_orders:
                row["order_id"] = None
    for row in tables.get("pickup_verifications", []):
        row["code"] = WITHHELD
    for table, writer, words in OTHERS_WORDS:
        for row in tables.get(table, []):
            if row[writer] != user_id:
                row.update(dict.fromkeys(words, WITHHELD))


def _open_recipients(tables: dict[str, list[dict[str, Any]]], key: bytes) -> None:
    """Addresses and home deliveries carry the recipient sealed: opened for their owner."""
    for table in ("addresses", "home_deliveries"):
        for row in tables.get(table, []):
            for field in ("recipient", "phone"):
                sealed = row.pop(f"{field}_sealed")
                row[field] = personal.unseal(sealed, key=key, owner=row["id"])


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
    _merge(tables, "home_deliveries", await HomeDelivery.filter(order_id__in=order_ids).values())
    for model, column in PERSON_IDS:
        rows = await model.filter(**{column: user.id}).values()
        _merge(tables, _table(model), rows, pk=model._meta.pk_attr)
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
    # Their supplier rows come by the key above; the decisions on them name them by subject.
    subjects = [
        f"supplier:{row['id']}"
        for row in tables.get("suppliers", [])
        if row["account_id"] == user.id
    ]
    _merge(tables, "review_decisions", await ReviewDecision.filter(subject__in=subjects).values())
    _withhold_others(tables, own_orders=set(order_ids), user_id=user.id)
    _open_recipients(tables, personal.data_key(settings))
    return {
        "generated_at": now,
        "user_id": user.id,
        "tables": {name: rows for name, rows in sorted(tables.items()) if rows},
    }
