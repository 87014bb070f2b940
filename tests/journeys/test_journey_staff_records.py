"""Who did what, kept with what they did, and a staff member's archive holding only theirs.

Through the doors: a shopper reviews her picked-up order, asks for an after-sale and applies
to lead; a leader files a claim. Operator Zhou answers the review (the answer names Zhou in
the API and on the H5 page), rejects the after-sale, the claim and the application. Zhou's
archive holds those rows with their ids and Zhou's own decisions and reply, not the words
the others wrote. Zhou leaves: once the admin role is revoked, the erasure empties Zhou's
reply as it empties what any author wrote, and the review shows no reply.
"""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from models.audit import AuditEntry
from models.payment import Payment
from models.review import Review
from models.user import Role
from services.phones import MASKED
from services.privacy import WITHHELD
from tests.journeys.doors import Doors
from tests.journeys.test_journey_privacy_roles import _picked_up
from tests.support.factories import auth, make_community, make_sku, make_user

REVIEW = "橙子很甜，就是箱子压坏了"
DETAIL = "三个橙子烂了，照片为证"
CLAIM = "整箱到货就是坏的"
PHOTO = "https://img.example.com/bad.jpg"
PHONE = "13912345678"
APPLYING = {"community_name": "翠湖小区团", "pickup_name": "北门", "pickup_address": "翠湖 1 号"}


async def test_a_reply_names_its_writer_and_staff_archives_hold_their_own(doors: Doors) -> None:
    zhou = await make_user(Role.ADMIN, nickname="运营小周")
    other = await make_user(Role.ADMIN, nickname="运营小张")
    leader = await make_user(Role.LEADER, nickname="王团长")
    community = await make_community(leader)
    sku = await make_sku(community, price=1500)
    now = doors.clock.now()
    li = await make_user(nickname="李阿姨")
    as_li, as_zhou = auth(li, doors.settings, now), auth(zhou, doors.settings, now)
    as_leader = auth(leader, doors.settings, now)
    reviewed = await _picked_up("QSSTAFF0001", li, sku, now)
    returned = await _picked_up("QSSTAFF0002", li, sku, now)
    await Payment.create(  # paid as WeChat Pay's notify records it: what an after-sale refunds
        order=returned, transaction_id="T-QSSTAFF0002", amount=1500, outcome="honoured"
    )

    # Li reviews one order, asks money back on the other, applies to lead; Wang files a claim.
    status, written = await doors.api(
        "POST", f"/api/v1/orders/{reviewed.id}/review", as_li, json={"rating": 4, "text": REVIEW}
    )
    assert status == 201 and not written["held"], written
    review_id = written["review"]["id"]
    asked = {"kind": "refund_only", "reason": "quality", "detail": DETAIL, "photos": [PHOTO]}
    status, sale = await doors.api(
        "POST", f"/api/v1/orders/{returned.id}/after-sales", as_li, json=asked
    )
    assert status == 201, sale
    status, applied = await doors.api("POST", "/api/v1/me/leader/application", as_li, json=APPLYING)
    assert status == 201, applied
    day = now.astimezone(ZoneInfo(community.timezone)).date().isoformat()
    filing = {"sku_id": str(sku.id), "delivery_date": day, "units": 1, "photos": [PHOTO]}
    status, claim = await doors.api(
        "POST",
        f"/api/v1/communities/{community.id}/claims",
        as_leader,
        json={**filing, "reason": CLAIM},
    )
    assert status == 201, claim

    # Zhou answers and decides.
    status, replied = await doors.api(
        "POST", f"/api/v1/reviews/{review_id}/reply", as_zhou, json={"text": "已安排补发"}
    )
    assert (status, replied["reply"], replied["reply_by"]) == (200, "已安排补发", "运营小周")
    for path, reason in (
        (f"/api/v1/after-sales/{sale['id']}/reject", f"照片看不出问题,请致电 {PHONE}"),
        (f"/api/v1/admin/claims/{claim['id']}/reject", "到货签收时完好"),
        (f"/api/v1/admin/leader-applications/{applied['id']}/reject", "小区已有团长"),
    ):
        status, decided = await doors.api("POST", path, as_zhou, json={"reason": reason})
        assert status == 200, decided

    # The audit log says what Zhou did, without the number Zhou wrote down (services.audit).
    (entry,) = await AuditEntry.filter(action="after_sale.reject")
    assert entry.after["note"] == f"照片看不出问题,请致电 {MASKED}"
    assert PHONE not in json.dumps([entry.before, entry.after, entry.actor_name])

    # The reply names its writer, in the API and on the page.
    product = f"/api/v1/products/{written['review']['product_id']}/reviews"
    status, shown = await doors.api("GET", product)
    (item,) = shown["items"]
    assert (item["text"], item["reply"], item["reply_by"]) == (REVIEW, "已安排补发", "运营小周")
    page = await doors.client.get(f"/h5/products/{written['review']['product_id']}")
    assert "运营小周 回复：已安排补发" in await page.text()
    assert (await Review.get(id=review_id)).replied_by_id == zhou.id

    # Zhou's archive: the rows Zhou handled, by id, with Zhou's decisions; not Li's words.
    status, archive = await doors.api("GET", "/api/v1/me/export", as_zhou)
    assert status == 200
    tables = archive["tables"]
    (row,) = tables["reviews"]
    assert (row["id"], row["reply_text"], row["replied_by_id"]) == (
        review_id,
        "已安排补发",
        str(zhou.id),
    )
    assert (row["text"], row["images"]) == (WITHHELD, WITHHELD)
    (row,) = tables["after_sales"]
    assert (row["id"], row["status"]) == (sale["id"], "rejected")
    assert row["note"] == f"照片看不出问题,请致电 {PHONE}"  # Zhou's own words
    assert (row["detail"], row["photos"]) == (WITHHELD, WITHHELD)
    (row,) = tables["group_claims"]
    assert (row["id"], row["note"], row["reason"], row["photos"]) == (
        claim["id"],
        "到货签收时完好",
        WITHHELD,
        WITHHELD,
    )
    (row,) = tables["leader_applications"]
    assert (row["id"], row["reason"], row["community_name"], row["pickup_address"]) == (
        applied["id"],
        "小区已有团长",
        WITHHELD,
        WITHHELD,
    )
    text = json.dumps(archive, ensure_ascii=False)
    for words in (REVIEW, DETAIL, CLAIM, PHOTO, *APPLYING.values()):
        assert words not in text, words

    # Li's own archive still holds all of it: the words are hers.
    status, hers = await doors.api("GET", "/api/v1/me/export", as_li)
    (row,) = hers["tables"]["reviews"]
    assert (row["text"], row["reply_text"]) == (REVIEW, "已安排补发")
    (row,) = hers["tables"]["after_sales"]
    assert (row["detail"], row["photos"]) == (DETAIL, [PHOTO])

    # Zhou leaves: the reply goes as what any author wrote goes; who replied stays.
    as_other = auth(other, doors.settings, doors.clock.now())
    status, _ = await doors.api("DELETE", f"/api/v1/admin/users/{zhou.id}/roles/admin", as_other)
    assert status == 200
    status, _ = await doors.api("DELETE", "/api/v1/me", as_zhou)
    assert status == 200
    kept = await Review.get(id=review_id)
    assert (kept.text, kept.reply_text, kept.replied_by_id) == (REVIEW, "", zhou.id)
    status, shown = await doors.api("GET", product)
    (item,) = shown["items"]
    assert (item["text"], item["reply"], item["reply_by"]) == (REVIEW, "", "")
