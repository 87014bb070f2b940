from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint
from tortoise.models import Model


class Role(StrEnum):
    SHOPPER = "shopper"
    LEADER = "leader"
    ADMIN = "admin"


class User(Model):
    id = fields.UUIDField(primary_key=True)
    openid = fields.CharField(max_length=64, unique=True)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    nickname = fields.CharField(max_length=64, default="")
    avatar_url = fields.CharField(max_length=512, null=True)  # chosen in the mini-program
    role = fields.CharEnumField(Role, max_length=16, default=Role.SHOPPER)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"

    def __str__(self) -> str:
        return f"User({self.openid}, {self.role})"


class ApplicationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class LeaderApplication(Model):
    """Someone asks to lead a community, and an admin approves (the community is made) or not."""

    id = fields.UUIDField(primary_key=True)
    user = fields.ForeignKeyField(
        "models.User", related_name="leader_applications", on_delete=fields.RESTRICT
    )
    community_name = fields.CharField(max_length=64)
    pickup_name = fields.CharField(max_length=64)
    pickup_address = fields.CharField(max_length=255)
    pickup_hours = fields.CharField(max_length=64, default="")
    note = fields.CharField(max_length=500, default="")
    status = fields.CharEnumField(
        ApplicationStatus, max_length=16, default=ApplicationStatus.PENDING
    )
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="leader_decisions", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    reason = fields.CharField(max_length=500, default="")  # why it was rejected
    community = fields.ForeignKeyField(
        "models.Community", related_name="leader_applications", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField()

    class Meta:
        table = "leader_applications"
        constraints = (
            # One pending application per person: a second one while waiting is refused.
            UniqueConstraint(
                fields=("user_id",),
                name="uq_leader_application_pending",
                condition="status = 'pending'",
            ),
        )
