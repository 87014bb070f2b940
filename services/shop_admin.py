"""Operators' changes to the shop: a SKU's price and stock, the growth rules. Each calls the
service that owns the rule (catalog, growth_rules) and audits the change in its transaction."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from tortoise.transactions import in_transaction

from models.catalog import Sku
from qunshop.errors import ErrorCode, NotFound
from services import audit, catalog, growth_rules
from services.auth import Principal
from services.ids import parse_uuid


async def set_sku(*, actor: Principal, sku_id: str, price: int, stock: int, now: datetime) -> Sku:
    audit.ensure_admin(actor)
    key = parse_uuid(sku_id)
    async with in_transaction():
        sku = await Sku.get_or_none(id=key).select_for_update() if key else None
        if sku is None:
            raise NotFound(ErrorCode.SKU_NOT_FOUND, "no SKU has this id")
        before = {"price": sku.price, "stock": sku.stock}
        updated = await catalog.update_sku(actor=actor, sku_id=sku.id, price=price, stock=stock)
        after = {"price": updated.price, "stock": updated.stock}
        if after != before:
            await audit.record(
                actor=actor,
                action="sku.update",
                target=f"sku:{sku.id}",
                before=before,
                after=after,
                now=now,
            )
    return updated


def _plain(rules: growth_rules.Rules) -> dict[str, object]:
    values = dataclasses.asdict(rules)
    values["invite_bps"] = list(rules.invite_bps)
    values["binding_scope"] = rules.binding_scope.value
    return values


async def set_growth_rules(
    *, actor: Principal, rules: growth_rules.Rules, now: datetime
) -> growth_rules.Rules:
    audit.ensure_admin(actor)
    async with in_transaction():
        before = await growth_rules.current()
        saved = await growth_rules.update(actor=actor, rules=rules, now=now)
        if _plain(saved) != _plain(before):
            await audit.record(
                actor=actor,
                action="growth.rules",
                target="growth:global",
                before=_plain(before),
                after=_plain(saved),
                now=now,
            )
    return saved
