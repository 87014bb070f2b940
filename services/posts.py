"""Community posts: 晒单 and posts in a community's feed, likes, comments with one level of
replies. Everything written is moderated first (services/moderation.py) and shown only
once it passed; a post may tag a product or a campaign of its community.

Likes are rows (``post_likes``, unique per person and post), never a counter column: a like
is one ``INSERT ... ON CONFLICT DO NOTHING``, so many people liking one post at once do not
queue on one row's lock, and the count is what the rows say (one grouped count per page).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tortoise import connections
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.catalog import Product
from models.community import Community, Membership
from models.groupbuy import Campaign
from models.moderation import Shown
from models.post import Comment, Following, Post, PostKind, PostLike
from models.user import User
from qunshop.errors import ErrorCode, Forbidden, Invalid, NotFound
from services import communities, cursors, moderation
from services.ids import parse_uuid

if TYPE_CHECKING:
    from tortoise.queryset import QuerySet

    from services.auth import Principal

moderation.register(moderation.Kind.POST, moderation.Target(Post))
moderation.register(moderation.Kind.COMMENT, moderation.Target(Comment))

PAGE = 20
MAX_PAGE = 100
TEXT_MAX = 1000
IMAGES_MAX = 9
_LIKE_SQL = (
    "INSERT INTO post_likes (id, post_id, user_id, created_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (post_id, user_id) DO NOTHING"
)
_COUNTS_SQL = (
    "SELECT post_id, count(*) AS n FROM {table} WHERE post_id = ANY($1::uuid[]){extra} "
    "GROUP BY post_id"
)


@dataclass(frozen=True)
class PostView:
    post: Post
    author: str  # nickname
    likes: int
    comments: int
    liked: bool  # by the viewer


@dataclass(frozen=True)
class Written:
    post: Post
    held: bool
    reason: str


@dataclass(frozen=True)
class Thread:
    comment: Comment
    author: str
    replies: list[tuple[Comment, str]]


async def _may_post(principal: Principal, community: Community) -> None:
    if principal.is_admin or community.leader_id == principal.user_id:
        return
    if not await Membership.exists(user_id=principal.user_id, community_id=community.id):
        raise Forbidden(ErrorCode.NOT_COMMUNITY_MEMBER, "join the community to post in it")


async def _tags(
    community: Community, product_id: str | None, campaign_id: str | None
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    product = campaign = None
    if product_id is not None:
        key = parse_uuid(product_id)
        product = await Product.get_or_none(id=key) if key else None
        if product is None or product.community_id not in (None, community.id):
            raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, "no such product in this community")
    if campaign_id is not None:
        key = parse_uuid(campaign_id)
        campaign = await Campaign.get_or_none(id=key, community_id=community.id) if key else None
        if campaign is None:
            raise NotFound(ErrorCode.CAMPAIGN_NOT_FOUND, "no such campaign in this community")
    return (product.id if product else None), (campaign.id if campaign else None)


async def create(
    *,
    principal: Principal,
    community_id: str,
    kind: PostKind,
    text: str,
    images: list[str],
    now: datetime,
    product_id: str | None = None,
    campaign_id: str | None = None,
    wechat: moderation.Screen | None = None,
) -> Written:
    if not text.strip() and not images:
        raise Invalid(ErrorCode.VALIDATION_FAILED, "a post needs text or images")
    if len(text) > TEXT_MAX or len(images) > IMAGES_MAX:
        raise Invalid(ErrorCode.VALIDATION_FAILED, "too long, or too many images")
    community = await communities.get_community(community_id)
    await _may_post(principal, community)
    product, campaign = await _tags(community, product_id, campaign_id)
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.POST, author=author, text=text, now=now, wechat=wechat, images=images
    )
    async with in_transaction():
        post = await Post.create(
            community_id=community.id,
            author_id=author.id,
            kind=kind,
            text=text.strip(),
            images=images,
            product_id=product,
            campaign_id=campaign,
            shown=verdict.shown,
            created_at=now,
        )
        await moderation.hold(
            kind=moderation.Kind.POST,
            ref=str(post.id),
            verdict=verdict,
            author=author,
            text=post.text,
            images=images,
            community_id=community.id,
            now=now,
        )
    return Written(post=post, held=verdict.held, reason=verdict.reason)


async def _visible(post_id: str) -> Post:
    key = parse_uuid(post_id)
    post = await Post.get_or_none(id=key, shown=Shown.VISIBLE) if key else None
    if post is None:
        raise NotFound(ErrorCode.POST_NOT_FOUND, "no such post")
    return post


async def _counts(table: str, ids: list[uuid.UUID], extra: str = "") -> dict[uuid.UUID, int]:
    if not ids:
        return {}
    sql = _COUNTS_SQL.format(table=table, extra=extra)
    rows = await connections.get("default").execute_query_dict(sql, [ids])
    return {row["post_id"]: row["n"] for row in rows}


async def _views(posts: list[Post], viewer: uuid.UUID | None) -> list[PostView]:
    ids = [p.id for p in posts]
    likes = await _counts("post_likes", ids)
    comments = await _counts("comments", ids, " AND shown = 'visible'")
    mine = set()
    if viewer is not None and ids:
        mine = set(
            await PostLike.filter(post_id__in=ids, user_id=viewer).values_list("post_id", flat=True)
        )
    names = dict(
        await User.filter(id__in={p.author_id for p in posts}).values_list("id", "nickname")
    )
    return [
        PostView(
            post=p,
            author=str(names.get(p.author_id, "")),
            likes=likes.get(p.id, 0),
            comments=comments.get(p.id, 0),
            liked=p.id in mine,
        )
        for p in posts
    ]


async def _page(
    query: QuerySet[Post],
    *,
    viewer: uuid.UUID | None,
    limit: int,
    cursor: str | None,
    before: datetime | None,
) -> tuple[list[PostView], str | None]:
    """A feed's shown posts, newest first, ``limit`` after ``cursor`` (services/cursors: posts
    sharing a time keep one order across pages); and the cursor of the next page (None: this
    was the last). ``before`` is the older way in: posts strictly older than it."""
    query = query.filter(shown=Shown.VISIBLE)
    if before is not None:
        query = query.filter(created_at__lt=before)
    found, more = await cursors.page(query, limit=min(max(limit, 1), MAX_PAGE), cursor=cursor)
    return await _views(found, viewer), more


async def community_feed(
    *,
    community_id: str,
    viewer: uuid.UUID | None,
    limit: int = PAGE,
    cursor: str | None = None,
    before: datetime | None = None,
) -> tuple[list[PostView], str | None]:
    """The community's shown posts, newest first, a page at a time (``_page``)."""
    community = await communities.get_community(community_id)
    query = Post.filter(community_id=community.id)
    return await _page(query, viewer=viewer, limit=limit, cursor=cursor, before=before)


async def following_feed(
    *,
    principal: Principal,
    limit: int = PAGE,
    cursor: str | None = None,
    before: datetime | None = None,
) -> tuple[list[PostView], str | None]:
    """Shown posts in the communities one follows and by the leaders one follows, newest
    first, a page at a time (``_page``)."""
    follows = await Following.filter(follower_id=principal.user_id).values(
        "leader_id", "community_id"
    )
    leaders = [f["leader_id"] for f in follows if f["leader_id"]]
    places = [f["community_id"] for f in follows if f["community_id"]]
    wanted = [Q(community_id__in=places)] if places else []
    wanted += [Q(author_id__in=leaders)] if leaders else []
    if not wanted:
        return [], None
    query = Post.filter(Q(*wanted, join_type=Q.OR))
    return await _page(query, viewer=principal.user_id, limit=limit, cursor=cursor, before=before)


async def like(*, principal: Principal, post_id: str, now: datetime) -> tuple[int, bool]:
    """Like a shown post, once per person: (the post's likes, liked)."""
    post = await _visible(post_id)
    await connections.get("default").execute_query(
        _LIKE_SQL, [uuid.uuid4(), post.id, principal.user_id, now]
    )
    return await PostLike.filter(post_id=post.id).count(), True


async def unlike(*, principal: Principal, post_id: str) -> tuple[int, bool]:
    post = await _visible(post_id)
    await PostLike.filter(post_id=post.id, user_id=principal.user_id).delete()
    return await PostLike.filter(post_id=post.id).count(), False


async def comment(
    *,
    principal: Principal,
    post_id: str,
    text: str,
    now: datetime,
    parent_id: str | None = None,
    wechat: moderation.Screen | None = None,
) -> tuple[Comment, bool]:
    """Comment on a shown post, or reply to one of its comments (one level: a reply to a
    reply answers the comment it is under)."""
    post = await _visible(post_id)
    if not text.strip() or len(text) > TEXT_MAX:
        raise Invalid(ErrorCode.VALIDATION_FAILED, f"1 to {TEXT_MAX} characters")
    parent = None
    if parent_id is not None:
        key = parse_uuid(parent_id)
        parent = await Comment.get_or_none(id=key, post_id=post.id) if key else None
        if parent is None or parent.shown is not Shown.VISIBLE:
            raise NotFound(ErrorCode.COMMENT_NOT_FOUND, "no such comment on this post")
    top = parent.parent_id or parent.id if parent is not None else None
    author = await User.get(id=principal.user_id)
    verdict = await moderation.screen(
        kind=moderation.Kind.COMMENT, author=author, text=text, now=now, wechat=wechat
    )
    async with in_transaction():
        made = await Comment.create(
            post_id=post.id,
            community_id=post.community_id,
            author_id=author.id,
            parent_id=top,
            text=text.strip(),
            shown=verdict.shown,
            created_at=now,
        )
        await moderation.hold(
            kind=moderation.Kind.COMMENT,
            ref=str(made.id),
            verdict=verdict,
            author=author,
            text=made.text,
            community_id=post.community_id,
            now=now,
        )
    return made, verdict.held


async def thread(*, post_id: str) -> list[Thread]:
    """A post's shown comments, oldest first, each with its shown replies."""
    post = await _visible(post_id)
    rows = await Comment.filter(post_id=post.id, shown=Shown.VISIBLE).order_by("created_at", "id")
    names = dict(
        await User.filter(id__in={c.author_id for c in rows}).values_list("id", "nickname")
    )
    tops = [c for c in rows if c.parent_id is None]
    return [
        Thread(
            comment=c,
            author=str(names.get(c.author_id, "")),
            replies=[(r, str(names.get(r.author_id, ""))) for r in rows if r.parent_id == c.id],
        )
        for c in tops
    ]
