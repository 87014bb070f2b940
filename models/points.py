"""Each person's points balance: kept by the database from the append-only ledger.

``points_ledger`` (models/activity.py) is the truth; a trigger (migration 0032) adds every
entry's delta to this row, whose CHECK refuses a balance below zero. So concurrent spends
queue on one row and never overdraw, and the balance always equals the ledger's sum.
"""

from __future__ import annotations

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint
from tortoise.models import Model


class PointsBalance(Model):
    user = fields.OneToOneField(
        "models.User", related_name="points_balance", primary_key=True, on_delete=fields.RESTRICT
    )
    balance = fields.IntField(default=0)

    class Meta:
        table = "points_balances"
        constraints = (CheckConstraint(check="balance >= 0", name="ck_points_balance"),)
