from __future__ import annotations

from enum import StrEnum

from tortoise import fields
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
