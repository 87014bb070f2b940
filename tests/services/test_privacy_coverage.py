"""The archive and the erasure cover every table that mentions a person (issue 19, item 5).

The schema is read, not a list: every column with a foreign key to ``users`` is covered by
the models' relations, and a column that names a person without a key must be one the
export reads (``privacy.PERSON_IDS``). A person who wrote in every place this round added
(reviews, posts, comments, likes, questions, answers, after-sales, reports, moderation, an
address, a rollup row) finds each table in the archive, and after the erasure no table holds
her openid, nickname or what she wrote.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from tortoise import connections

from models.aftersale import AfterSale, AfterSaleKind, AfterSaleReason
from models.delivery import Address
from models.moderation import ContentReport, ItemStatus, ModerationItem, Shown
from models.order import Order
from models.post import Comment, Post, PostKind, PostLike
from models.qa import Answer, Question
from models.review import Review
from models.rollup import MemberStats
from qunshop.config import Settings
from services import privacy, privacy_erasure
from services.auth import Principal
from tests.journeys.test_journey_privacy import tables_mentioning
from tests.support.factories import make_campaign, make_user

if TYPE_CHECKING:
    from aiohttp.test_utils import TestClient
    from redis.asyncio import Redis

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
NICKNAME, WORDS = "小周同学", "小周同学说:西瓜很甜"

_KEYS = """
SELECT cl.relname AS tbl, att.attname AS col
FROM pg_constraint con
JOIN pg_class cl ON cl.oid = con.conrelid
JOIN pg_class ref ON ref.oid = con.confrelid
JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = ANY (con.conkey)
WHERE con.contype = 'f' AND ref.relname = 'users'
"""
_PERSONISH = """
SELECT table_name AS tbl, column_name AS col FROM information_schema.columns
WHERE table_schema = current_schema() AND data_type = 'uuid'
  AND (column_name IN ('user_id', 'actor_id') OR column_name LIKE '%\\_by\\_id')
"""


async def test_every_column_naming_a_person_is_read_by_the_export(api: TestClient) -> None:
    db = connections.get("default")
    keyed = {(r["tbl"], r["col"]) for r in await db.execute_query_dict(_KEYS)}
    related = {(r.model._meta.db_table, f"{r.column}_id") for r in privacy.person_relations()}
    related |= {(r.model._meta.db_table, r.column) for r in privacy.person_relations()}
    assert keyed <= related, keyed - related
    unkeyed = {(r["tbl"], r["col"]) for r in await db.execute_query_dict(_PERSONISH)} - keyed
    read = {(m._meta.db_table, c) for m, c in privacy.PERSON_IDS}
    assert unkeyed <= read, unkeyed - read


async def test_what_she_wrote_is_in_her_archive_and_gone_after_erasure(
    settings: Settings, redis: Redis
) -> None:
    campaign = await make_campaign()
    community = await campaign.community
    sku = await campaign.sku
    product_id = (await sku.product).id
    she = await make_user(nickname=NICKNAME)
    other = await make_user(nickname="邻居")
    order = await Order.create(
        out_trade_no="QSDONE0001",
        kind="direct",
        user=she,
        sku_id=sku.id,
        community=community,
        unit_price=100,
        amount=100,
        status="picked_up",
    )
    text = {"text": WORDS, "shown": Shown.VISIBLE, "created_at": NOW}
    await Review.create(
        order=order, author=she, product_id=product_id, rating=5, images=["https://i/a.jpg"], **text
    )
    post = await Post.create(community=community, author=she, kind=PostKind.SHOW, **text)
    theirs = await Post.create(
        community=community,
        author=other,
        kind=PostKind.POST,
        text="今天团购西瓜",
        created_at=NOW,
        shown=Shown.VISIBLE,
    )
    await Comment.create(post=theirs, community=community, author=she, **text)
    await PostLike.create(post=theirs, user=she, created_at=NOW)
    question = await Question.create(product_id=product_id, author=she, **text)
    await Answer.create(question=question, author=she, **text)
    await AfterSale.create(
        order=order,
        user=she,
        kind=AfterSaleKind.REFUND_ONLY,
        reason=AfterSaleReason.QUALITY,
        detail=WORDS,
        photos=["https://i/b.jpg"],
        amount=100,
        due_at=NOW + timedelta(days=2),
        created_at=NOW,
    )
    item = await ModerationItem.create(
        kind="nickname",
        ref=str(she.id),
        author=she,
        text=NICKNAME,
        status=ItemStatus.REVIEW,
        payload={"nickname": NICKNAME},
        created_at=NOW,
    )
    await ContentReport.create(item=item, reporter=she, reason=WORDS, created_at=NOW)
    await Address.create(
        user=she, recipient_sealed="", phone_sealed="", detail="1 号楼", created_at=NOW
    )
    await MemberStats.create(
        community_id=community.id, user_id=she.id, joined_at=NOW, orders=1, spent=100
    )
    principal = Principal(user_id=she.id, role=she.role)

    archive = await privacy.export(principal=principal, settings=settings, now=NOW)
    mentioning = await tables_mentioning(str(she.id), she.openid, NICKNAME)
    assert set(mentioning) <= set(archive["tables"]), set(mentioning) - set(archive["tables"])
    for table in (
        "reviews",
        "posts",
        "comments",
        "post_likes",
        "questions",
        "answers",
        "after_sales",
        "moderation_items",
        "content_reports",
        "addresses",
        "member_stats",
    ):
        assert table in archive["tables"], table

    await privacy_erasure.erase(principal=principal, settings=settings, now=NOW, redis=redis)
    assert await tables_mentioning(she.openid, NICKNAME, WORDS, "https://i/") == {}
    assert await Post.get(id=theirs.id).values_list("text", flat=True) == "今天团购西瓜"
    assert await Post.get(id=post.id).values_list("text", flat=True) == ""
    assert not await Address.filter(user_id=she.id).exists()
    assert await MemberStats.filter(user_id=she.id).count() == 1  # the rollup keeps its sums
    assert await Order.filter(id=order.id, amount=100).exists()
