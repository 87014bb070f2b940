"""Growth: share codes, visits, invite bindings, the earnings ledger and pickup verifications."""

from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.migrations.constraints import CheckConstraint, UniqueConstraint
from tortoise.models import Model


class BindingScope(StrEnum):
    ANY = "any"  # any user may be bound to an inviter
    NEW_USERS = "new_users"  # only users with no paid order before the touch


class GrowthRules(Model):
    """Rules operators set, one row per scope ("global"). No row: the defaults in services."""

    id = fields.UUIDField(primary_key=True)
    scope = fields.CharField(max_length=32, unique=True)
    leader_share_bps = fields.IntField()  # of every order of the leader's community
    # Two columns, not a list: a third commission level has nowhere to go.
    invite_level1_bps = fields.IntField()
    invite_level2_bps = fields.IntField()
    binding_scope = fields.CharEnumField(BindingScope, max_length=16)
    binding_days = fields.IntField(null=True)  # None: bindings are permanent
    updated_by = fields.ForeignKeyField(
        "models.User", related_name="growth_rules", null=True, on_delete=fields.RESTRICT
    )
    updated_at = fields.DatetimeField()

    class Meta:
        table = "growth_rules"


class ShareKind(StrEnum):
    INVITE = "invite"
    CAMPAIGN = "campaign"
    TEAM = "team"


class ShareCode(Model):
    """What was shared, by whom, in which community: the row behind a scene or invite code."""

    id = fields.UUIDField(primary_key=True)
    key = fields.CharField(max_length=16, unique=True)  # the random half of the code
    # kind, sharer and target in one string: one code per sharer and thing shared.
    target = fields.CharField(max_length=160, unique=True)
    kind = fields.CharEnumField(ShareKind, max_length=16)
    sharer = fields.ForeignKeyField(
        "models.User", related_name="share_codes", on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="share_codes", null=True, on_delete=fields.RESTRICT
    )
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="share_codes", null=True, on_delete=fields.RESTRICT
    )
    team = fields.ForeignKeyField(
        "models.Team", related_name="share_codes", null=True, on_delete=fields.RESTRICT
    )
    expires_at = fields.DatetimeField(null=True)  # None: never (personal invites)
    created_at = fields.DatetimeField()

    class Meta:
        table = "share_codes"


class VisitSource(StrEnum):
    ENTRY = "entry"  # the mini-program opened with a code (share path or wxacode scene)
    FOLLOW = "follow"  # an Official Account follow or scan with a QR scene
    GROUP = "group"  # the mini-program opened from a group chat (opengid decrypted)
    H5 = "h5"  # an H5 page opened in a browser: nobody logged in, so no user


class Visit(Model):
    """One touch: who arrived, through whose code, from which group chat, and what it bound."""

    id = fields.UUIDField(primary_key=True)
    # None for an H5 visit: a browser is nobody we know.
    user = fields.ForeignKeyField(
        "models.User", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    source = fields.CharEnumField(VisitSource, max_length=16)
    code = fields.ForeignKeyField(
        "models.ShareCode", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    # None when the visitor opened their own share: self-visits score nothing.
    sharer = fields.ForeignKeyField(
        "models.User", related_name="visits_brought", null=True, on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="visits", null=True, on_delete=fields.RESTRICT
    )
    opengid = fields.CharField(max_length=128, null=True, db_index=True)
    outcome = fields.CharField(max_length=32)  # what the invite attribution decided
    # The follow or scan it came from: one visit per follow.
    follow = fields.OneToOneField(
        "models.Follow", related_name="visit", null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "visits"


class InviteBinding(Model):
    """Invitee bound to inviter. First touch wins: generation is unique per invitee."""

    id = fields.UUIDField(primary_key=True)
    invitee = fields.ForeignKeyField(
        "models.User", related_name="invited_by", on_delete=fields.RESTRICT
    )
    inviter = fields.ForeignKeyField(
        "models.User", related_name="invitees", on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="bindings", null=True, on_delete=fields.RESTRICT
    )
    campaign = fields.ForeignKeyField(
        "models.Campaign", related_name="bindings", null=True, on_delete=fields.RESTRICT
    )
    code = fields.ForeignKeyField(
        "models.ShareCode", related_name="bindings", null=True, on_delete=fields.RESTRICT
    )
    source = fields.CharEnumField(VisitSource, max_length=16)
    generation = fields.IntField()  # 0 for the first binding, +1 after each one lapses
    bound_at = fields.DatetimeField()
    expires_at = fields.DatetimeField(null=True)  # None: permanent

    class Meta:
        table = "invite_bindings"
        constraints = (
            UniqueConstraint(fields=("invitee_id", "generation"), name="uq_binding_generation"),
            CheckConstraint(check="invitee_id <> inviter_id", name="ck_binding_not_self"),
        )


class EarningKind(StrEnum):
    LEADER_SHARE = "leader_share"  # the community leader's share of an order
    INVITE_L1 = "invite_l1"  # the buyer's inviter
    INVITE_L2 = "invite_l2"  # the inviter's inviter (there is no third level)
    WITHDRAWAL = "withdrawal"  # an earner's payout (提现) of available earnings


class EarningEvent(StrEnum):
    ACCRUE = "accrue"  # the order was paid: frozen
    RELEASE = "release"  # picked up or completed: frozen to available
    REVERSE = "reverse"  # refunded: taken back, from frozen first
    WITHDRAW = "withdraw"  # asked to be paid out: leaves available at once
    PAID_OUT = "paid_out"  # the payout reached the earner: moves nothing, records it
    RETURN = "return"  # the payout was rejected or failed: back to available


class EarningEntry(Model):
    """Append-only earnings ledger: balances are sums, rows are never updated or deleted."""

    id = fields.UUIDField(primary_key=True)
    earner = fields.ForeignKeyField(
        "models.User", related_name="earnings", on_delete=fields.RESTRICT
    )
    # An order's share, or a withdrawal's movement (ck_earning_subject: exactly one of them).
    order = fields.ForeignKeyField(
        "models.Order", related_name="earnings", null=True, on_delete=fields.RESTRICT
    )
    withdrawal = fields.ForeignKeyField(
        "models.Withdrawal", related_name="entries", null=True, on_delete=fields.RESTRICT
    )
    community = fields.ForeignKeyField(
        "models.Community", related_name="earnings", null=True, on_delete=fields.RESTRICT
    )
    kind = fields.CharEnumField(EarningKind, max_length=16)
    event = fields.CharEnumField(EarningEvent, max_length=16)
    amount = fields.IntField()  # fen, the size of the movement
    frozen_delta = fields.IntField()
    available_delta = fields.IntField()
    base = fields.IntField(default=0)  # fen, the order amount an accrual was taken from
    rate_bps = fields.IntField(default=0)
    ref = fields.CharField(max_length=128, unique=True)  # order, kind, event (and refund)
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "earnings_ledger"
        constraints = (CheckConstraint(check="amount >= 0", name="ck_earning_amount"),)


class WithdrawalStatus(StrEnum):
    REQUESTED = "requested"  # waiting for an operator; the amount has left available
    APPROVED = "approved"  # being paid out (the outbox sends the transfer)
    PAID = "paid"  # WeChat Pay paid it into the earner's 零钱
    REJECTED = "rejected"  # an operator said no: the amount is back in available
    FAILED = "failed"  # WeChat Pay refused it for good: the amount is back in available


OPEN_WITHDRAWAL = (WithdrawalStatus.REQUESTED, WithdrawalStatus.APPROVED)


class Withdrawal(Model):
    """A payout (提现) of available earnings to the earner's WeChat 零钱 (企业付款到零钱)."""

    # At most one open (requested or approved) per earner: the partial unique index
    # ``uq_withdrawal_open`` (0340). Its ledger rows point back at it.

    id = fields.UUIDField(primary_key=True)
    earner = fields.ForeignKeyField(
        "models.User", related_name="withdrawals", on_delete=fields.RESTRICT
    )
    amount = fields.IntField()  # fen, at least WeChat's 100
    status = fields.CharEnumField(
        WithdrawalStatus, max_length=16, default=WithdrawalStatus.REQUESTED, db_index=True
    )
    # WeChat Pay's key of the transfer: sent again unchanged until WeChat answers for good.
    partner_trade_no = fields.CharField(max_length=32, unique=True)
    openid = fields.CharField(max_length=128)  # who is paid, fixed when asked
    reason = fields.CharField(max_length=255, default="")  # why rejected, or why it failed
    fail_code = fields.CharField(max_length=32, default="")  # WeChat Pay's err_code
    payment_no = fields.CharField(max_length=64, default="")  # WeChat Pay's, once paid
    decided_by = fields.ForeignKeyField(
        "models.User", related_name="withdrawals_decided", null=True, on_delete=fields.RESTRICT
    )
    decided_at = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)  # paid, or failed for good
    created_at = fields.DatetimeField()

    class Meta:
        table = "withdrawals"
        constraints = (CheckConstraint(check="amount >= 100", name="ck_withdrawal_amount"),)


class EarningStatement(Model):
    """A weekly statement of one earner: made once per week (the unique key decides)."""

    id = fields.UUIDField(primary_key=True)
    earner = fields.ForeignKeyField(
        "models.User", related_name="earning_statements", on_delete=fields.RESTRICT
    )
    week_start = fields.DateField()  # Monday, in the shop's time zone
    accrued = fields.IntField()
    released = fields.IntField()
    reversed = fields.IntField()
    frozen_balance = fields.IntField()
    available_balance = fields.IntField()
    created_at = fields.DatetimeField()

    class Meta:
        table = "earning_statements"
        constraints = (
            UniqueConstraint(fields=("earner_id", "week_start"), name="uq_statement_week"),
        )


class PickupVerification(Model):
    """Every 核销 attempt, accepted or refused: the audit trail of pickup codes."""

    id = fields.UUIDField(primary_key=True)
    code = fields.CharField(max_length=32, db_index=True)
    order = fields.ForeignKeyField(
        "models.Order", related_name="verifications", null=True, on_delete=fields.RESTRICT
    )
    verifier = fields.ForeignKeyField(
        "models.User", related_name="verifications", on_delete=fields.RESTRICT
    )
    outcome = fields.CharField(max_length=32)  # verified, or the refusal's error code
    created_at = fields.DatetimeField()

    class Meta:
        table = "pickup_verifications"
