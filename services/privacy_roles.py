"""What an erased person ran or asked for besides shopping: a supplier, a leader's
application, an identity check, group claims (called by ``services.privacy_erasure``).

Each is decided as the rest of the erasure decides: the person's own details go, what others
or the law rely on stays.

- Supplier (``suppliers.account``): the contact person's name and phone are the person's own
  and go. The business stays as it was registered: its name and licence numbers identify a
  merchant, not a person; the products it listed are in other people's orders and purchase
  sheets, and a platform keeps a merchant's registration after it leaves (网络交易监督管理办法
  Art. 31). An application still waiting is withdrawn, with a decision row as every decision
  on a supplier has: an operator must not approve a supplier nobody can run. Its actor is the
  applicant, who withdrew it by erasing their account (no operator decided; an actor of None
  would read as the automatic rules). Its products are taken off sale (``services.off_sale``).
- Leader application: its texts were emptied before (``privacy_erasure``); one still waiting
  is now withdrawn too, as approving it would make the erased account lead a new community,
  decided by the applicant as a supplier's withdrawal is.
- Identity check (``leader_identities``): the name and phone checked are sealed personal
  details, deleted with the rest. The provider's reference is the key to them at the provider
  (the stand-in's holds the phone's last four digits) and goes, with the provider's words.
  That the leader was verified, by whom and when stays: the payments their communities took
  stand on it.
- Group claims they filed: the claim, its photos of the goods and its reason stay, as they
  are why other people were refunded; a mobile number written into the reason or the
  operator's note is masked. The same for the decider's note on their own after-sales, whose
  own words are emptied by ``privacy_erasure``.
- Pickup points are not touched: a point is its community's, which another leader runs by
  now (a leader is erased only after handing it over) and where its shoppers still go.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from models.aftersale import AfterSale
from models.catalog import Product
from models.claim import GroupClaim
from models.identity import LeaderIdentity
from models.supply import ListingReview, ReviewDecision, ReviewStatus, Supplier
from models.user import ApplicationStatus, LeaderApplication
from services import off_sale
from services.phones import mask_mobiles

if TYPE_CHECKING:
    import uuid
    from datetime import datetime

WITHDRAWN = "申请人已注销账号"


async def erase_roles(user_id: uuid.UUID, *, now: datetime, summary: dict[str, int]) -> None:
    """Inside the erasure's transaction; counts what it changed into ``summary``."""
    await _suppliers(user_id, now=now, summary=summary)
    summary["leader_applications_withdrawn"] = await LeaderApplication.filter(
        user_id=user_id, status=ApplicationStatus.PENDING
    ).update(
        status=ApplicationStatus.REJECTED, decided_by_id=user_id, decided_at=now, reason=WITHDRAWN
    )
    summary["leader_identities"] = await LeaderIdentity.filter(user_id=user_id).update(
        reference="", reason=""
    )
    summary["group_claims"] = 0
    for claim in await GroupClaim.filter(filed_by_id=user_id):
        summary["group_claims"] += await GroupClaim.filter(id=claim.id).update(
            reason=mask_mobiles(claim.reason), note=mask_mobiles(claim.note)
        )
    for after_sale in await AfterSale.filter(user_id=user_id).exclude(note=""):
        await AfterSale.filter(id=after_sale.id).update(note=mask_mobiles(after_sale.note))


async def _withdrawn(subject: str, user_id: uuid.UUID, now: datetime) -> None:
    """The decision row of a withdrawal: the applicant decided, not the rules (None)."""
    await ReviewDecision.create(
        subject=subject, actor_id=user_id, outcome=ReviewStatus.REJECTED, reason=WITHDRAWN, at=now
    )


async def _suppliers(user_id: uuid.UUID, *, now: datetime, summary: dict[str, int]) -> None:
    pending = await Supplier.filter(account_id=user_id, status=ReviewStatus.PENDING)
    for supplier in pending:
        await _withdrawn(f"supplier:{supplier.id}", user_id, now)
    await Supplier.filter(id__in=[s.id for s in pending]).update(
        status=ReviewStatus.REJECTED, reason=WITHDRAWN, reviewed_by_id=user_id, reviewed_at=now
    )
    # What it sells stops being sold; a listing or a price still waiting is withdrawn, so no
    # approval puts a product of a merchant nobody runs back on sale.
    theirs = await Supplier.filter(account_id=user_id).values_list("id", flat=True)
    waiting = await ListingReview.filter(supplier_id__in=theirs, status=ReviewStatus.PENDING)
    for review in waiting:
        await _withdrawn(f"review:{review.id}", user_id, now)
    summary["listing_reviews_withdrawn"] = await ListingReview.filter(
        id__in=[r.id for r in waiting], status=ReviewStatus.PENDING
    ).update(status=ReviewStatus.REJECTED, reason=WITHDRAWN, decided_by_id=user_id, decided_at=now)
    products = await Product.filter(supplier_id__in=theirs).values_list("id", flat=True)
    stopped = await off_sale.take_off_sale(products, now=now)
    summary["products_off_sale"] = stopped.products
    summary["campaigns_ended"] = stopped.campaigns
    summary["flash_sales_closed"] = stopped.flash_sales
    summary["suppliers"] = await Supplier.filter(account_id=user_id).update(
        contact_name="", contact_phone=""
    )
