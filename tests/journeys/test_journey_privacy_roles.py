"""The erasure reaches what a person ran or asked for besides shopping (services.privacy_roles).

Through the doors: a supplier's contact person erases their account; the supplier stays, its
contact goes. Applications still waiting are withdrawn, so nobody approves an erased account
into a supplier or a leader. An operator who verified an identity and filed a group claim
with a phone number in it erases theirs: the verified status and the claim stay, the
provider's reference and the number go. The archive holds the supplier and its decisions,
and an operator's archive does not hold the contacts of the suppliers they reviewed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason, AfterSaleStatus
from models.audit import AuditEntry
from models.claim import GroupClaim
from models.identity import IdentityStatus, LeaderIdentity
from models.order import Order
from models.supply import ReviewDecision, ReviewStatus, Supplier
from models.user import ApplicationStatus, LeaderApplication, Role, User
from services.phones import MASKED
from services.privacy import WITHHELD
from services.privacy_roles import WITHDRAWN
from tests.journeys.doors import Doors
from tests.journeys.test_journey_privacy import books, tables_mentioning
from tests.support.factories import auth, make_community, make_sku, make_user

if TYPE_CHECKING:
    from datetime import datetime

    from models.catalog import Sku

CONTACT, CONTACT_PHONE = "刘经理", "13712345678"
SUPPLIER = {
    "name": "赣南果园合作社",
    "contact_name": CONTACT,
    "contact_phone": CONTACT_PHONE,
    "business_licence": "91360700MA35XXXX1A",
}
APPLICATION = {"community_name": "翠湖小区团", "pickup_name": "北门", "pickup_address": "翠湖 1 号"}


async def _an_approved_supplier(doors: Doors) -> tuple[User, User, dict[str, Any]]:
    """Liu applies as a supplier and an operator approves it."""
    liu = await make_user(nickname="老刘")
    operator = await make_user(Role.ADMIN, nickname="运营")
    as_liu = auth(liu, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, applied = await doors.api("POST", "/api/v1/suppliers", as_liu, json=SUPPLIER)
    assert status == 201, applied
    status, _ = await doors.api(
        "POST", f"/api/v1/admin/suppliers/{applied['id']}/approve", as_operator
    )
    assert status == 200
    return liu, operator, applied


async def test_the_archive_holds_her_supplier_not_those_she_reviewed(doors: Doors) -> None:
    liu, operator, applied = await _an_approved_supplier(doors)
    # Liu's archive holds the supplier, its contact and the decision on it; the operator's
    # holds the supplier they reviewed without its contact person.
    as_liu = auth(liu, doors.settings, doors.clock.now())
    status, archive = await doors.api("GET", "/api/v1/me/export", as_liu)
    assert status == 200
    (mine,) = archive["tables"]["suppliers"]
    assert (mine["contact_name"], mine["contact_phone"]) == (CONTACT, CONTACT_PHONE)
    (decision,) = archive["tables"]["review_decisions"]
    assert (decision["subject"], decision["outcome"]) == (f"supplier:{applied['id']}", "approved")
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, theirs = await doors.api("GET", "/api/v1/me/export", as_operator)
    (reviewed,) = theirs["tables"]["suppliers"]
    assert (reviewed["contact_name"], reviewed["contact_phone"]) == (WITHHELD, WITHHELD)


async def test_a_suppliers_contact_erased_the_supplier_kept(doors: Doors) -> None:
    liu, operator, applied = await _an_approved_supplier(doors)
    as_liu = auth(liu, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, waiting = await doors.api(
        "POST", "/api/v1/me/leader/application", as_liu, json=APPLICATION
    )
    assert status == 201, waiting

    before = await books()
    status, _ = await doors.api("DELETE", "/api/v1/me", as_liu)
    assert status == 200
    assert await tables_mentioning(CONTACT, CONTACT_PHONE, liu.openid) == {}
    assert await books() == before
    # The merchant stays as registered: its products are in other people's orders.
    supplier = await Supplier.get(id=applied["id"])
    assert (supplier.contact_name, supplier.contact_phone) == ("", "")
    assert (supplier.name, supplier.business_licence) == (SUPPLIER["name"], "91360700MA35XXXX1A")
    assert supplier.status is ReviewStatus.APPROVED and supplier.account_id == liu.id

    # The leader application that waited is withdrawn: no community for an erased account.
    application = await LeaderApplication.get(id=waiting["id"])
    assert (application.status, application.reason) == (ApplicationStatus.REJECTED, WITHDRAWN)
    status, refused = await doors.api(
        "POST", f"/api/v1/admin/leader-applications/{waiting['id']}/approve", as_operator
    )
    assert (status, refused["code"]) == (409, "application_decided"), refused
    assert (await User.get(id=liu.id)).role is Role.SHOPPER


async def test_a_supplier_application_still_waiting_is_withdrawn(doors: Doors) -> None:
    liu = await make_user(nickname="老刘")
    operator = await make_user(Role.ADMIN, nickname="运营")
    as_liu = auth(liu, doors.settings, doors.clock.now())
    status, applied = await doors.api("POST", "/api/v1/suppliers", as_liu, json=SUPPLIER)
    assert status == 201, applied

    status, _ = await doors.api("DELETE", "/api/v1/me", as_liu)
    assert status == 200
    supplier = await Supplier.get(id=applied["id"])
    assert (supplier.status, supplier.reason) == (ReviewStatus.REJECTED, WITHDRAWN)
    (logged,) = await ReviewDecision.filter(subject=f"supplier:{applied['id']}")
    # Liu withdrew it by erasing the account: the decision is Liu's, not the rules' (None).
    assert (logged.outcome, logged.reason, logged.actor_id) == (
        ReviewStatus.REJECTED,
        WITHDRAWN,
        liu.id,
    )
    assert supplier.reviewed_by_id == liu.id
    status, refused = await doors.api(
        "POST",
        f"/api/v1/admin/suppliers/{applied['id']}/approve",
        auth(operator, doors.settings, doors.clock.now()),
    )
    assert (status, refused["code"]) == (409, "review_decided"), refused


async def _picked_up(trade: str, buyer: User, sku: Sku, arrived: datetime) -> Order:
    product = await sku.product
    return await Order.create(
        out_trade_no=trade,
        kind="direct",
        user=buyer,
        sku_id=sku.id,
        community_id=product.community_id,
        unit_price=sku.price,
        amount=sku.price,
        status="picked_up",
        arrived_at=arrived,
    )


async def test_an_identity_check_and_a_claim_keep_what_others_rely_on(doors: Doors) -> None:
    phone, spaced, real_name = "13611112222", "136 1111 2222", "周大福"
    zhou = await make_user(Role.ADMIN, nickname="运营老周")
    other = await make_user(Role.ADMIN, nickname="运营小张")
    as_zhou = auth(zhou, doors.settings, doors.clock.now())
    as_other = auth(other, doors.settings, doors.clock.now())
    status, checked = await doors.api(
        "POST", "/api/v1/me/leader/identity", as_zhou, json={"real_name": real_name, "phone": phone}
    )
    assert (status, checked["status"]) == (200, "verified"), checked
    reference = (await LeaderIdentity.get(user_id=zhou.id)).reference
    assert reference.endswith(phone[-4:])

    # A delivery arrived spoiled: Zhou files the claim, writing down a number to call.
    community = await make_community()
    sku = await make_sku(community, price=1500)
    now = doors.clock.now()
    order = await _picked_up("QSCLAIM0001", await make_user(nickname="钱阿姨"), sku, now)
    day = now.astimezone(ZoneInfo(community.timezone)).date().isoformat()
    crate = ["https://img.example.com/crate.jpg"]
    filing = {"sku_id": str(sku.id), "delivery_date": day, "units": 1, "photos": crate}
    filing["reason"] = f"整箱坏了,有疑问打我电话 {spaced}"
    claims = f"/api/v1/communities/{community.id}/claims"
    status, claim = await doors.api("POST", claims, as_zhou, json=filing)
    assert status == 201, claim
    status, decided = await doors.api(
        "POST",
        f"/api/v1/admin/claims/{claim['id']}/reject",
        as_other,
        json={"reason": f"已致电 {phone},照片看不清"},
    )
    assert status == 200, decided
    # An after-sale of Zhou's own, whose decider wrote Zhou's number into the note.
    mine = await _picked_up("QSCLAIM0002", zhou, sku, now)
    after_sale = await AfterSale.create(
        order=mine,
        user=zhou,
        kind=AfterSaleKind.REFUND_ONLY,
        reason=AfterSaleReason.QUALITY,
        amount=1500,
        status=AfterSaleStatus.REJECTED,
        note=f"已联系 +86-136-1111-2222 协商,订单 {mine.out_trade_no}",
        due_at=now,
        created_at=now,
    )

    status, _ = await doors.api("DELETE", f"/api/v1/admin/users/{zhou.id}/roles/admin", as_other)
    assert status == 200
    before = await books()
    status, _ = await doors.api("DELETE", "/api/v1/me", as_zhou)
    assert status == 200
    # Not even the audit log holds the number: the rejecting operator's note went into it
    # masked (services.audit), the act and its words otherwise as they wrote them.
    left = await tables_mentioning(phone, spaced, "136-1111-2222", real_name, reference)
    assert left == {}, left
    (entry,) = await AuditEntry.filter(action="claim.reject")
    assert (entry.actor_id, entry.after["note"]) == (other.id, f"已致电 {MASKED},照片看不清")
    assert await books() == before

    # Verified, by whom and when: the payments of a leader's communities stand on it.
    identity = await LeaderIdentity.get(user_id=zhou.id)
    assert (identity.status, identity.provider) == (IdentityStatus.VERIFIED, "standin")
    assert identity.verified_at is not None and identity.reference == ""
    # The claim is why a buyer would be refunded: it stays, without the numbers.
    kept = await GroupClaim.get(id=claim["id"])
    assert kept.reason == f"整箱坏了,有疑问打我电话 {MASKED}"
    assert kept.note == f"已致电 {MASKED},照片看不清"
    assert (kept.amount, kept.photos) == (1500, crate)
    assert (await AfterSale.get(id=after_sale.id)).note == f"已联系 {MASKED} 协商,订单 QSCLAIM0002"
    assert await Order.filter(id=order.id, amount=1500).exists()
