"""What waits for an operator, counted for the admin overview: each queue an operator (and
only an operator, or an operator besides the clock) works through, by its own page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from models.aftersale import AfterSale, AfterSaleStatus
from models.claim import ClaimStatus, GroupClaim
from models.growth import Withdrawal, WithdrawalStatus
from models.moderation import ItemStatus, ModerationItem
from models.outbox import OutboxMessage, OutboxStatus
from models.payment import Refund, RefundStatus
from models.supply import ListingReview, ReviewStatus, Supplier
from models.user import ApplicationStatus, LeaderApplication
from services import audit

if TYPE_CHECKING:
    from services.auth import Principal


@dataclass(frozen=True)
class Waiting:
    after_sales: int  # pending requests of every community (leaders and the clock decide too)
    own_after_sales: int  # of those, a leader's own purchase: only an operator decides it
    leader_applications: int
    supplier_applications: int
    listing_reviews: int
    claims: int
    withdrawals: int  # leaders' 提现 waiting for approval
    moderation: int  # held out of sight until an operator decides
    parked: int  # outbox messages (refunds among them) that gave up retrying
    failed_refunds: int  # WeChat Pay closed them: money still owed, for a person to settle

    @property
    def total(self) -> int:
        return (
            self.after_sales
            + self.leader_applications
            + self.supplier_applications
            + self.listing_reviews
            + self.claims
            + self.withdrawals
            + self.moderation
            + self.parked
            + self.failed_refunds
        )


async def waiting(*, actor: Principal) -> Waiting:
    audit.ensure_admin(actor)
    # Pending ones are few (the clock approves them after the response window): as pairs.
    pending = await AfterSale.filter(status=AfterSaleStatus.PENDING).values_list(
        "user_id", "community__leader_id"
    )
    return Waiting(
        after_sales=len(pending),
        own_after_sales=sum(1 for buyer, leader in pending if buyer == leader),
        leader_applications=await LeaderApplication.filter(
            status=ApplicationStatus.PENDING
        ).count(),
        supplier_applications=await Supplier.filter(status=ReviewStatus.PENDING).count(),
        listing_reviews=await ListingReview.filter(status=ReviewStatus.PENDING).count(),
        claims=await GroupClaim.filter(status=ClaimStatus.PENDING).count(),
        withdrawals=await Withdrawal.filter(status=WithdrawalStatus.REQUESTED).count(),
        moderation=await ModerationItem.filter(status=ItemStatus.REVIEW).count(),
        parked=await OutboxMessage.filter(status=OutboxStatus.DEAD).count(),
        failed_refunds=await Refund.filter(status=RefundStatus.FAILED).count(),
    )
