"""Community posts (晒单 and posts), the community and following feeds, likes, comments,
and follows of leaders and communities."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from miniapp_api.auth import optional_principal
from miniapp_api.fields import NO_NUL, NOT_BLANK, Id
from miniapp_api.spec import endpoint
from models.post import Comment, Following, PostKind
from services import follows, moderation, posts
from services.auth import Principal

TAGS = ("community",)
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[!-~]+$", max_length=512)]


class PostIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["show", "post"] = Field(default="post", description="show: 晒单")
    text: str = Field(default="", max_length=1000, pattern=NO_NUL)
    images: list[HttpsUrl] = Field(default_factory=list, max_length=9)
    product_id: Id | None = Field(default=None, description="a product of the community")
    campaign_id: Id | None = Field(default=None, description="a campaign of the community")


class PostOut(BaseModel):
    id: str
    community_id: str
    kind: str
    author: str
    text: str
    images: list[str]
    product_id: str | None
    campaign_id: str | None
    likes: int
    comments: int
    liked: bool
    created_at: datetime

    @classmethod
    def of(cls, v: posts.PostView) -> PostOut:
        p = v.post
        return cls(
            id=str(p.id),
            community_id=str(p.community_id),
            kind=p.kind.value,
            author=v.author,
            text=p.text,
            images=list(p.images),
            product_id=str(p.product_id) if p.product_id else None,
            campaign_id=str(p.campaign_id) if p.campaign_id else None,
            likes=v.likes,
            comments=v.comments,
            liked=v.liked,
            created_at=p.created_at,
        )


class WrittenOut(BaseModel):
    post: PostOut
    held: bool = Field(description="out of sight until moderation decides")
    reason: str


class Feed(BaseModel):
    items: list[PostOut]
    next_cursor: str | None = Field(
        default=None, description="pass as cursor for the next page; null: done"
    )
    next_before: datetime | None = Field(
        default=None,
        json_schema_extra={"deprecated": True},  # not Field(deprecated=): reading it warns
        description="the last post's time while more follow; as ?before= it skips posts "
        "sharing that time: page with next_cursor",
    )


class FeedQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(posts.PAGE, ge=1, le=posts.MAX_PAGE, description="items per page")
    cursor: str | None = Field(None, max_length=256, description="next_cursor of the last page")
    before: datetime | None = Field(
        default=None,
        json_schema_extra={"deprecated": True},  # not Field(deprecated=): reading it warns
        description="only posts older than this (the older way to page, which skips posts "
        "sharing the time: use cursor)",
    )


class LikesOut(BaseModel):
    likes: int
    liked: bool


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000, pattern=NOT_BLANK)
    parent_id: Id | None = Field(default=None, description="the comment this replies to")


class CommentOut(BaseModel):
    id: str
    parent_id: str | None
    author: str
    text: str
    created_at: datetime
    held: bool = False

    @classmethod
    def of(cls, c: Comment, author: str, held: bool = False) -> CommentOut:
        parent = str(c.parent_id) if c.parent_id else None
        return cls(
            id=str(c.id),
            parent_id=parent,
            author=author,
            text=c.text,
            created_at=c.created_at,
            held=held,
        )


class ThreadOut(BaseModel):
    comment: CommentOut
    replies: list[CommentOut]


class Threads(BaseModel):
    items: list[ThreadOut]


class FollowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    leader_id: Id | None = None
    community_id: Id | None = None


class FollowOut(BaseModel):
    id: str
    leader_id: str | None
    community_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, f: Following) -> FollowOut:
        return cls(
            id=str(f.id),
            leader_id=str(f.leader_id) if f.leader_id else None,
            community_id=str(f.community_id) if f.community_id else None,
            created_at=f.created_at,
        )


class Follows(BaseModel):
    items: list[FollowOut]


def _feed(page: tuple[list[posts.PostView], str | None]) -> Feed:
    found, more = page
    last = found[-1].post.created_at if more else None
    return Feed(items=[PostOut.of(v) for v in found], next_cursor=more, next_before=last)


@endpoint(
    summary="Post (or 晒单) in a community: moderated before it shows in the feed",
    tags=TAGS,
    body=PostIn,
    response=WrittenOut,
    status=201,
    auth=True,
    errors=(401, 403, 404, 422),
)
async def create_post(
    *,
    principal: Principal,
    body: PostIn,
    community_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> WrittenOut:
    done = await posts.create(
        principal=principal,
        community_id=community_id,
        kind=PostKind(body.kind),
        text=body.text,
        images=body.images,
        product_id=str(body.product_id) if body.product_id else None,
        campaign_id=str(body.campaign_id) if body.campaign_id else None,
        now=now,
        wechat=screen,
    )
    view = posts.PostView(post=done.post, author="", likes=0, comments=0, liked=False)
    return WrittenOut(post=PostOut.of(view), held=done.held, reason=done.reason)


@endpoint(
    summary="A community's feed: its shown posts, newest first, a page at a time",
    tags=TAGS,
    query=FeedQuery,
    response=Feed,
    auth=optional_principal,
    errors=(401, 404, 422),
)
async def community_feed(*, principal: Principal, query: FeedQuery, community_id: str) -> Feed:
    viewer = principal.user_id if principal.user_id.int else None
    found = await posts.community_feed(
        community_id=community_id,
        viewer=viewer,
        limit=query.limit,
        cursor=query.cursor,
        before=query.before,
    )
    return _feed(found)


@endpoint(
    summary="The caller's following feed: posts of the communities and leaders they follow, "
    "newest first, a page at a time",
    tags=TAGS,
    query=FeedQuery,
    response=Feed,
    auth=True,
    errors=(401, 422),
)
async def following_feed(*, principal: Principal, query: FeedQuery) -> Feed:
    found = await posts.following_feed(
        principal=principal, limit=query.limit, cursor=query.cursor, before=query.before
    )
    return _feed(found)


@endpoint(
    summary="Like a post (once per person; liking again changes nothing)",
    tags=TAGS,
    response=LikesOut,
    auth=True,
    errors=(401, 404),
)
async def like(*, principal: Principal, post_id: str, now: datetime) -> LikesOut:
    likes, liked = await posts.like(principal=principal, post_id=post_id, now=now)
    return LikesOut(likes=likes, liked=liked)


@endpoint(
    summary="Take one's like back",
    tags=TAGS,
    response=LikesOut,
    auth=True,
    errors=(401, 404),
)
async def unlike(*, principal: Principal, post_id: str) -> LikesOut:
    likes, liked = await posts.unlike(principal=principal, post_id=post_id)
    return LikesOut(likes=likes, liked=liked)


@endpoint(
    summary="Comment on a post, or reply to a comment (one level of replies)",
    tags=TAGS,
    body=CommentIn,
    response=CommentOut,
    status=201,
    auth=True,
    errors=(401, 403, 404, 422),
)
async def comment(
    *,
    principal: Principal,
    body: CommentIn,
    post_id: str,
    now: datetime,
    screen: moderation.Screen,
) -> CommentOut:
    made, held = await posts.comment(
        principal=principal,
        post_id=post_id,
        text=body.text,
        parent_id=str(body.parent_id) if body.parent_id else None,
        now=now,
        wechat=screen,
    )
    return CommentOut.of(made, "", held=held)


@endpoint(
    summary="A post's comments, oldest first, each with its replies",
    tags=TAGS,
    response=Threads,
    errors=(404,),
)
async def comments(*, post_id: str) -> Threads:
    found = await posts.thread(post_id=post_id)
    return Threads(
        items=[
            ThreadOut(
                comment=CommentOut.of(t.comment, t.author),
                replies=[CommentOut.of(r, name) for r, name in t.replies],
            )
            for t in found
        ]
    )


@endpoint(
    summary="Following a leader or a community (news of their new campaigns, by consent)",
    tags=TAGS,
    body=FollowIn,
    response=FollowOut,
    status=201,
    auth=True,
    errors=(401, 404, 422),
)
async def follow(*, principal: Principal, body: FollowIn, now: datetime) -> FollowOut:
    done = await follows.follow(
        principal=principal,
        leader_id=str(body.leader_id) if body.leader_id else None,
        community_id=str(body.community_id) if body.community_id else None,
        now=now,
    )
    return FollowOut.of(done)


@endpoint(summary="Whom the caller follows", tags=TAGS, response=Follows, auth=True, errors=(401,))
async def my_follows(*, principal: Principal) -> Follows:
    return Follows(items=[FollowOut.of(f) for f in await follows.mine(principal)])


@endpoint(summary="Stop following", tags=TAGS, auth=True, errors=(401, 404))
async def unfollow(*, principal: Principal, follow_id: str) -> None:
    await follows.unfollow(principal=principal, follow_id=follow_id)


def setup(app: web.Application) -> None:
    app.router.add_post("/api/v1/communities/{community_id}/posts", create_post)
    app.router.add_get("/api/v1/communities/{community_id}/posts", community_feed)
    app.router.add_get("/api/v1/me/feed", following_feed)
    app.router.add_post("/api/v1/posts/{post_id}/likes", like)
    app.router.add_delete("/api/v1/posts/{post_id}/likes", unlike)
    app.router.add_post("/api/v1/posts/{post_id}/comments", comment)
    app.router.add_get("/api/v1/posts/{post_id}/comments", comments)
    app.router.add_post("/api/v1/me/follows", follow)
    app.router.add_get("/api/v1/me/follows", my_follows)
    app.router.add_delete("/api/v1/me/follows/{follow_id}", unfollow)
