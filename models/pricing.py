"""Truthful prices: every price a SKU has had, and since when (written by the database)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class SkuPrice(Model):
    """One row per price a SKU took; ``until`` None: its price now (migration 0030)."""

    id = fields.BigIntField(primary_key=True)
    sku = fields.ForeignKeyField("models.Sku", related_name="price_history")
    price = fields.IntField()
    since = fields.DatetimeField()
    until = fields.DatetimeField(null=True)

    class Meta:
        table = "sku_prices"
