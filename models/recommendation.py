"""Recommendations the clock computes per community (services.recommendations): products
"bought together" with a product, and what is "popular in your community". Counts of
distinct buyers only, never who; each row stays inside the community it came from."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Recommendation(Model):
    id = fields.UUIDField(primary_key=True)
    community_id = fields.UUIDField()
    kind = fields.CharField(max_length=16)  # "together" or "popular"
    product_id = fields.UUIDField()  # together: the product shown; popular: the popular one
    other_product_id = fields.UUIDField(null=True)  # together: what its buyers also bought
    score = fields.IntField()  # distinct buyers (together) or paid orders (popular)
    rank = fields.IntField()
    computed_at = fields.DatetimeField()

    class Meta:
        table = "recommendations"
