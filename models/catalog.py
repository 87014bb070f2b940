from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class Product(Model):
    id = fields.UUIDField(primary_key=True)
    title = fields.CharField(max_length=128)
    description = fields.TextField(default="")
    category = fields.CharField(max_length=32, default="", db_index=True)
    images = fields.JSONField(default=list)
    # None: offered shop-wide (admins); otherwise owned by that community's leader.
    community = fields.ForeignKeyField(
        "models.Community", related_name="products", null=True, on_delete=fields.RESTRICT
    )
    created_by = fields.ForeignKeyField(
        "models.User", related_name="products_created", on_delete=fields.RESTRICT
    )
    active = fields.BooleanField(default=True)
    # Who supplies it (purchasing totals per supplier); None: the shop's own stock.
    supplier = fields.ForeignKeyField(
        "models.Supplier", related_name="products", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "products"


class Sku(Model):
    id = fields.UUIDField(primary_key=True)
    product = fields.ForeignKeyField("models.Product", related_name="skus")
    name = fields.CharField(max_length=64)
    price = fields.IntField()  # fen
    stock = fields.IntField(default=0)
    cost = fields.IntField(null=True)  # fen, the supplier's cost: the review's floor

    class Meta:
        table = "skus"
        constraints = (
            CheckConstraint(check="price >= 0", name="ck_sku_price"),
            CheckConstraint(check="stock >= 0", name="ck_sku_stock"),
        )
