"""The authorization matrix: every /api/v1 endpoint called as anonymous, as another
community's shopper and as another community's leader, aimed at community A's things.

The endpoint list comes from the app's router, so a new endpoint without an entry here fails
the test. For every call:

- anonymous gets 401 where the endpoint needs a login;
- a refused call (4xx) changes no row (an audit log may gain one);
- an allowed call (the storefront is public: anyone may buy, join a team, share, join a
  community) changes no existing row outside the tables the entry names, and never A's
  orders, seats, memberships, products, pickup point or activities;
- no response body carries A's order ids, pickup code, hidden product or order amounts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from models.user import User
from qunshop.config import Settings
from qunshop.keys import REDIS
from services.auth import session_key_name
from tests.security.rows import changed_tables, rewritten_tables, snapshot
from tests.security.world import Side, World, build_world
from tests.support.fake_wechat import FakeWeChat
from tests.support.growth import encrypt_open_data, new_session_key

Body = Callable[[World, User | None], Any]
REFUSED = frozenset({403, 404})
# Never rewritten by another community's people, whatever they are allowed to do.
VICTIM_TABLES = frozenset(
    {
        "orders",
        "seats",
        "memberships",
        "products",
        "communities",
        "pickup_points",
        "activities",
        "flash_sales",
        "payments",
        "refunds",
    }
)


@dataclass(frozen=True)
class Entry:
    """What each caller may get from one endpoint aimed at side A."""

    body: Body | None = None
    query: Callable[[World], dict[str, str]] | None = None
    ids: Callable[[Side], dict[str, str]] | None = None  # path values beyond the defaults
    anonymous: frozenset[int] = frozenset({401})
    shopper: frozenset[int] = REFUSED
    leader: frozenset[int] = REFUSED
    changes: frozenset[str] = frozenset()  # tables whose rows an allowed call may rewrite
    audit: frozenset[str] = frozenset()  # tables a refused call may add a row to


def _s(*codes: int) -> frozenset[int]:
    return frozenset(codes)


OK, CREATED = _s(200), _s(201)
NOBODY = "00000000-0000-4000-8000-000000000000"  # an id nothing has
PUBLIC = {"anonymous": OK, "shopper": OK, "leader": OK}
OWN = {"shopper": OK, "leader": OK}


def default_ids(side: Side) -> dict[str, str]:
    return {
        "campaign_id": side.campaign_id,
        "community_id": side.community_id,
        "activity_id": side.activity_id,
        "order_id": side.direct_order_id,
        "sale_id": side.sale_id,
        "product_id": side.product_id,
        "sku_id": side.sku_id,
        "team_ref": side.team_code,
        "code": side.share_code,
        "offer_id": side.bargain_offer_id,
        "bargain_ref": side.bargain_code,
    }


def _later(hours: int) -> str:
    return (datetime.now(tz=UTC) + timedelta(hours=hours)).isoformat()


def campaign_body(world: World, _: User | None) -> dict[str, Any]:
    a = world.a
    return {
        "community_id": a.community_id,
        "sku_id": a.sku_id,
        "title": "hijack",
        "group_price": 1,
        "team_size": 2,
        "starts_at": _later(1),
        "ends_at": _later(48),
        "stock_cap": 1,
    }


def group_entry(world: World, actor: User | None) -> dict[str, Any]:
    """Open data sealed with the caller's own session key, naming A's order."""
    key = world.session_keys.get(actor.id) if actor else None
    payload = {
        "opengid": "G-intruder-group",
        "watermark": {"appid": world.settings.wechat_appid, "timestamp": int(_now())},
    }
    data, iv = encrypt_open_data(key or new_session_key(), payload)
    return {
        "encrypted_data": data,
        "iv": iv,
        "team_ref": world.a.team_code,
        "order_id": world.a.direct_order_id,
    }


def _now() -> float:
    return datetime.now(tz=UTC).timestamp()


NO_APPLICATION = "00000000-0000-4000-8000-000000000000"
ADMINS_ONLY = {"shopper": _s(403), "leader": _s(403)}


def _target(side: Side) -> dict[str, str]:
    return {"user_id": str(side.leader.id), "role": "leader", "application_id": NO_APPLICATION}


def _bill(side: Side) -> dict[str, str]:
    return {"bill_date": "2026-01-01", "difference_id": "00000000-0000-4000-8000-0000000d1ff0"}


def _claim(side: Side) -> dict[str, str]:
    return {"claim_id": "00000000-0000-4000-8000-00000000c1a1"}


def _after_sale(side: Side) -> dict[str, str]:
    return {"after_sale_id": side.after_sale_id}


def _template(side: Side) -> dict[str, str]:
    return {"template_id": NO_APPLICATION}  # no such coupon template


def _nothing(side: Side) -> dict[str, str]:
    names = ("item_id", "word_id", "review_id", "post_id", "follow_id", "question_id", "answer_id")
    return dict.fromkeys(names, NO_APPLICATION)


def _no_segment(side: Side) -> dict[str, str]:
    return {"segment_id": NO_APPLICATION}


ENTRIES: dict[tuple[str, str], Entry] = {
    ("GET", "/api/v1/admin/scheduler"): Entry(shopper=_s(403), leader=_s(403)),
    # Moderation: operators only; reports and reviews only of what one may see or owns.
    ("GET", "/api/v1/admin/moderation/words"): Entry(**ADMINS_ONLY),
    ("POST", "/api/v1/admin/moderation/words"): Entry(
        body=lambda w, _: {"words": ["劫持"]}, **ADMINS_ONLY
    ),
    ("DELETE", "/api/v1/admin/moderation/words/{word_id}"): Entry(ids=_nothing, **ADMINS_ONLY),
    ("GET", "/api/v1/admin/moderation/queue"): Entry(**ADMINS_ONLY),
    ("POST", "/api/v1/admin/moderation/items/{item_id}/approve"): Entry(
        ids=_nothing, **ADMINS_ONLY
    ),
    ("POST", "/api/v1/admin/moderation/items/{item_id}/reject"): Entry(ids=_nothing, **ADMINS_ONLY),
    ("POST", "/api/v1/reports"): Entry(
        body=lambda w, _: {"kind": "review", "ref": NO_APPLICATION},
        shopper=_s(404),
        leader=_s(404),
    ),
    ("POST", "/api/v1/orders/{order_id}/review"): Entry(
        body=lambda w, _: {"rating": 1}, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/reviews/{review_id}/reply"): Entry(
        body=lambda w, _: {"text": "劫持"}, ids=_nothing, shopper=_s(403), leader=_s(404)
    ),
    ("GET", "/api/v1/products/{product_id}/reviews"): Entry(**PUBLIC),
    # Q&A: anyone asks about a product; only its buyers and leader answer.
    ("POST", "/api/v1/products/{product_id}/questions"): Entry(
        body=lambda w, _: {"text": "甜吗"}, shopper=CREATED, leader=CREATED
    ),
    ("GET", "/api/v1/products/{product_id}/questions"): Entry(**PUBLIC),
    ("POST", "/api/v1/questions/{question_id}/answers"): Entry(
        body=lambda w, _: {"text": "劫持"}, ids=_nothing, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/answers/{answer_id}/best"): Entry(
        ids=_nothing, shopper=_s(404), leader=_s(404)
    ),
    # Posts: members of A post in A; feeds and follows are public or one's own.
    ("POST", "/api/v1/communities/{community_id}/posts"): Entry(
        body=lambda w, _: {"text": "劫持"}, shopper=_s(403), leader=_s(403)
    ),
    ("GET", "/api/v1/communities/{community_id}/posts"): Entry(**PUBLIC),
    ("GET", "/api/v1/me/feed"): Entry(**OWN),
    ("POST", "/api/v1/posts/{post_id}/likes"): Entry(ids=_nothing, shopper=_s(404), leader=_s(404)),
    ("DELETE", "/api/v1/posts/{post_id}/likes"): Entry(
        ids=_nothing, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/posts/{post_id}/comments"): Entry(
        body=lambda w, _: {"text": "劫持"}, ids=_nothing, shopper=_s(404), leader=_s(404)
    ),
    ("GET", "/api/v1/posts/{post_id}/comments"): Entry(
        ids=_nothing, anonymous=_s(404), shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/me/follows"): Entry(
        body=lambda w, _: {"community_id": w.a.community_id}, shopper=CREATED, leader=CREATED
    ),
    ("GET", "/api/v1/me/follows"): Entry(**OWN),
    ("DELETE", "/api/v1/me/follows/{follow_id}"): Entry(
        ids=_nothing, shopper=_s(404), leader=_s(404)
    ),
    ("GET", "/api/v1/campaigns/{campaign_id}/reviews"): Entry(**PUBLIC),
    # Accounts, roles and leaders: admins only, or the caller's own.
    ("GET", "/api/v1/admin/leader-applications"): Entry(**ADMINS_ONLY),
    ("POST", "/api/v1/admin/leader-applications/{application_id}/approve"): Entry(
        ids=_target, **ADMINS_ONLY
    ),
    ("POST", "/api/v1/admin/leader-applications/{application_id}/reject"): Entry(
        body=lambda w, _: {"reason": "no"}, ids=_target, **ADMINS_ONLY
    ),
    ("POST", "/api/v1/admin/users/{user_id}/roles"): Entry(
        body=lambda w, _: {"role": "admin"}, ids=_target, **ADMINS_ONLY
    ),
    ("DELETE", "/api/v1/admin/users/{user_id}/roles/{role}"): Entry(ids=_target, **ADMINS_ONLY),
    ("GET", "/api/v1/me/leader/application"): Entry(shopper=_s(404), leader=_s(404)),
    # A shopper's application is their own new row; a leader already leads.
    ("POST", "/api/v1/me/leader/application"): Entry(
        body=lambda w, _: {
            "community_name": "hijack",
            "pickup_name": "x",
            "pickup_address": "y",
        },
        shopper=CREATED,
        leader=_s(409),
    ),
    ("POST", "/api/v1/me/leader/chat-code"): Entry(shopper=_s(403), leader=CREATED),
    ("POST", "/api/v1/me/links"): Entry(
        body=lambda w, _: {"token": "not-a-link"}, shopper=_s(400), leader=_s(400)
    ),
    ("POST", "/api/v1/attribution/entries"): Entry(
        body=lambda w, _: {"code": w.a.share_code}, **OWN
    ),
    # The order is A's: refused before anything is bound to the intruder's group.
    ("POST", "/api/v1/attribution/group-entries"): Entry(
        body=group_entry, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/campaigns"): Entry(body=campaign_body, shopper=_s(403), leader=_s(403)),
    ("GET", "/api/v1/campaigns"): Entry(
        query=lambda w: {"community_id": w.a.community_id}, **PUBLIC
    ),
    ("GET", "/api/v1/campaigns/{campaign_id}"): Entry(**PUBLIC),
    ("GET", "/api/v1/campaigns/{campaign_id}/teams"): Entry(**PUBLIC),
    ("GET", "/api/v1/campaigns/{campaign_id}/share"): Entry(**OWN),
    # Only the campaign's own leader (or an admin) pauses, resumes or closes it.
    ("POST", "/api/v1/campaigns/{campaign_id}/pause"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/campaigns/{campaign_id}/resume"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/campaigns/{campaign_id}/close"): Entry(shopper=_s(403), leader=_s(403)),
    # Joining A's team comes first (called in this table's order): a seat held in it
    # refuses the same caller a team of their own in that campaign (409).
    ("POST", "/api/v1/teams/{team_ref}/join"): Entry(
        body=lambda w, _: {},
        shopper=CREATED,
        leader=_s(201, 409),  # 409 once the shopper's seat filled the team
        # its seats; the campaign's stock (its reserve, or a stock slice refilled from it)
        changes=frozenset({"teams", "campaigns", "campaign_stock_slices"}),
    ),
    # Buying from another community's storefront is allowed: a team of one's own.
    ("POST", "/api/v1/campaigns/{campaign_id}/teams"): Entry(
        body=lambda w, _: {},
        shopper=_s(201, 409),
        leader=_s(201, 409),
        changes=frozenset({"campaigns", "campaign_stock_slices"}),
    ),
    ("POST", "/api/v1/communities"): Entry(
        body=lambda w, _: {"name": "mine now", "leader_id": str(w.b.leader.id)},
        shopper=_s(403),
        leader=_s(403),
    ),
    # The card (name, leader, pickup point, member count) is what a shopper joins by.
    ("GET", "/api/v1/communities/{community_id}"): Entry(**OWN),
    ("POST", "/api/v1/communities/{community_id}/activities"): Entry(
        body=lambda w, _: {"kind": "announcement", "text": "spam", "run_at": _later(1)},
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/communities/{community_id}/activities"): Entry(
        shopper=_s(403), leader=_s(403)
    ),
    ("GET", "/api/v1/communities/{community_id}/activities/{activity_id}"): Entry(
        shopper=_s(403), leader=_s(403)
    ),
    ("PATCH", "/api/v1/communities/{community_id}/activities/{activity_id}"): Entry(
        body=lambda w, _: {"title": "defaced"}, shopper=_s(403), leader=_s(403)
    ),
    ("DELETE", "/api/v1/communities/{community_id}/activities/{activity_id}"): Entry(
        shopper=_s(403), leader=_s(403)
    ),
    # A check-in is the caller's own row (points in that community).
    ("POST", "/api/v1/communities/{community_id}/checkin"): Entry(),  # members only
    ("GET", "/api/v1/communities/{community_id}/groups"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/communities/{community_id}/members"): Entry(**OWN),
    # A's doors to deliver to, with recipients: A's leader and admins only.
    ("GET", "/api/v1/communities/{community_id}/home-deliveries"): Entry(
        shopper=_s(403), leader=_s(403)
    ),
    # Handing A's community over (to the caller themself) is for admins only.
    ("PUT", "/api/v1/communities/{community_id}/leader"): Entry(
        body=lambda w, actor: {"leader_id": str(actor.id) if actor else NOBODY},
        shopper=_s(403),
        leader=_s(403),
    ),
    ("PUT", "/api/v1/communities/{community_id}/pickup-point"): Entry(
        body=lambda w, _: {"name": "elsewhere", "address": "a trap", "hours": "0-24"},
        shopper=_s(403),
        leader=_s(403),
    ),
    # Outside development the simulation is refused to everyone, before the order is read.
    ("POST", "/api/v1/dev/orders/{order_id}/simulate-payment"): Entry(
        anonymous=_s(403), shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/dev/session"): Entry(
        body=lambda w, _: {"openid": w.a.shopper.openid},
        anonymous=_s(403),
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/flash-sales/{sale_id}"): Entry(**PUBLIC),
    # The sale opens later: refused as not started, for everyone alike.
    ("POST", "/api/v1/flash-sales/{sale_id}/buy"): Entry(
        body=lambda w, _: {"quantity": 1}, shopper=_s(201, 409), leader=_s(201, 409)
    ),
    ("GET", "/api/v1/growth/rules"): Entry(**OWN),
    ("PUT", "/api/v1/growth/rules"): Entry(
        body=lambda w, _: {
            "leader_share_bps": 3000,
            "invite_commission_bps": [500],
            "binding_scope": "any",
            "binding_days": None,
        },
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/leaderboards"): Entry(
        query=lambda w: {"scope": "community", "id": w.a.community_id, "board": "sharers"}, **OWN
    ),
    ("GET", "/api/v1/me"): Entry(**OWN),
    ("GET", "/api/v1/me/communities"): Entry(**OWN),
    ("GET", "/api/v1/me/earnings"): Entry(**OWN),
    ("GET", "/api/v1/me/earnings/statements"): Entry(**OWN),
    # One's own money only: nothing is available to withdraw in this world (422), and the
    # amount leaves nobody else's balance.
    ("POST", "/api/v1/me/withdrawals"): Entry(
        body=lambda w, _: {"amount": 100}, shopper=_s(422), leader=_s(422)
    ),
    ("GET", "/api/v1/me/withdrawals"): Entry(**OWN),
    ("GET", "/api/v1/me/invite"): Entry(query=lambda w: {"community_id": w.a.community_id}, **OWN),
    ("GET", "/api/v1/me/teams"): Entry(**OWN),
    ("PATCH", "/api/v1/me/profile"): Entry(
        body=lambda w, _: {"nickname": "新名字"}, changes=frozenset({"users"}), **OWN
    ),
    ("GET", "/api/v1/me/subscriptions"): Entry(**OWN),
    # The caller's own consent: the only rows it may change.
    ("POST", "/api/v1/me/subscriptions"): Entry(
        body=lambda w, _: {"template_ids": ["team-reminder"]},
        changes=frozenset({"subscribe_consents"}),
        **OWN,
    ),
    ("POST", "/api/v1/orders"): Entry(
        body=lambda w, _: {"sku_id": w.a.sku_id, "community_id": w.a.community_id},
        shopper=CREATED,
        leader=CREATED,
        changes=frozenset({"skus"}),  # the stock it takes
    ),
    ("GET", "/api/v1/orders"): Entry(**OWN),
    ("GET", "/api/v1/orders/{order_id}"): Entry(shopper=_s(404), leader=_s(404)),
    ("POST", "/api/v1/orders/{order_id}/cancel"): Entry(shopper=_s(404), leader=_s(404)),
    ("GET", "/api/v1/orders/{order_id}/pickup"): Entry(
        ids=lambda a: {"order_id": a.paid_order_id}, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/orders/{order_id}/prepay"): Entry(shopper=_s(404), leader=_s(404)),
    # Delivery batches: side A's plan and batch, neither a shopper's nor B's leader's.
    ("PUT", "/api/v1/communities/{community_id}/delivery-plan"): Entry(
        body=lambda w, _: {"cutoff": "06:00"}, shopper=_s(403), leader=_s(403)
    ),
    ("GET", "/api/v1/communities/{community_id}/delivery-plan"): Entry(**OWN),
    ("GET", "/api/v1/batches"): Entry(
        query=lambda w: {"community_id": w.a.community_id}, shopper=_s(403), leader=_s(403)
    ),
    ("GET", "/api/v1/batches/{batch_id}"): Entry(
        ids=lambda a: {"batch_id": a.batch_id}, shopper=_s(403), leader=_s(404)
    ),
    ("POST", "/api/v1/batches/{batch_id}/close"): Entry(
        ids=lambda a: {"batch_id": a.batch_id}, shopper=_s(403), leader=_s(404)
    ),
    ("GET", "/api/v1/admin/deliveries"): Entry(
        query=lambda w: {"date": "2026-12-08"}, shopper=_s(403), leader=_s(403)
    ),
    # Suppliers: anyone may apply; only operators decide; a supplier's own listings only.
    ("POST", "/api/v1/suppliers"): Entry(
        body=lambda w, _: {
            "name": "planted supplier",
            "contact_name": "x",
            "contact_phone": "13800138000",
            "business_licence": "91360700MA35XXXX1A",
        },
        shopper=CREATED,
        leader=CREATED,
    ),
    ("GET", "/api/v1/me/supplier"): Entry(shopper=_s(200, 404), leader=_s(200, 404)),
    ("GET", "/api/v1/me/supplier/reviews"): Entry(shopper=_s(200, 404), leader=_s(200, 404)),
    ("POST", "/api/v1/me/supplier/products"): Entry(
        body=lambda w, _: {"title": "planted", "skus": [{"name": "x", "price": 1}]},
        shopper=_s(403, 404),
        leader=_s(403, 404),
    ),
    ("POST", "/api/v1/me/supplier/skus/{sku_id}/price"): Entry(
        body=lambda w, _: {"price": 1}, shopper=_s(403, 404), leader=_s(403, 404)
    ),
    ("GET", "/api/v1/admin/suppliers"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/admin/suppliers/{supplier_id}/approve"): Entry(
        ids=lambda a: {"supplier_id": NOBODY}, shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/admin/suppliers/{supplier_id}/reject"): Entry(
        body=lambda w, _: {"reason": "no"},
        ids=lambda a: {"supplier_id": NOBODY},
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/admin/reviews"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/admin/reviews/{review_id}/approve"): Entry(
        ids=lambda a: {"review_id": NOBODY}, shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/admin/reviews/{review_id}/reject"): Entry(
        body=lambda w, _: {"reason": "no"},
        ids=lambda a: {"review_id": NOBODY},
        shopper=_s(403),
        leader=_s(403),
    ),
    # A leader's own identity; shoppers may not verify one (B's leader verifies their own).
    ("POST", "/api/v1/me/leader/identity"): Entry(
        body=lambda w, _: {"real_name": "王五", "phone": "13800138000"},
        shopper=_s(403),
        leader=OK,
        changes=frozenset({"leader_identities"}),
    ),
    ("GET", "/api/v1/me/leader/identity"): Entry(shopper=_s(404), leader=OK),
    # Home delivery: one's own addresses; A's orders are not another's to send home.
    ("POST", "/api/v1/me/addresses"): Entry(
        body=lambda w, _: {"recipient": "x", "phone": "13800138000", "detail": "y"},
        shopper=CREATED,
        leader=CREATED,
    ),
    ("GET", "/api/v1/me/addresses"): Entry(**OWN),
    ("POST", "/api/v1/orders/{order_id}/home-delivery"): Entry(
        body=lambda w, _: {"address_id": NOBODY}, shopper=_s(404), leader=_s(404)
    ),
    ("GET", "/api/v1/orders/{order_id}/home-delivery"): Entry(shopper=_s(404), leader=_s(404)),
    ("POST", "/api/v1/home-deliveries/{order_id}/dispatch"): Entry(
        body=lambda w, _: {"tracking_no": "SF123456"}, shopper=_s(403), leader=_s(404)
    ),
    ("POST", "/api/v1/home-deliveries/{order_id}/delivered"): Entry(
        shopper=_s(403), leader=_s(404)
    ),
    ("GET", "/api/v1/pickups/today"): Entry(
        query=lambda w: {"community_id": w.a.community_id}, shopper=_s(403), leader=_s(403)
    ),
    # 到货 of side A's community: neither a shopper nor another community's leader.
    ("POST", "/api/v1/pickups/arrived"): Entry(
        body=lambda w, _: {"community_id": w.a.community_id}, shopper=_s(403), leader=_s(403)
    ),
    # Every attempt is logged in pickup_verifications, refused ones too.
    ("POST", "/api/v1/pickups/verify"): Entry(
        body=lambda w, _: {"code": w.a.pickup_code},
        shopper=_s(403),
        leader=_s(404),  # another community's code reads as an unknown one
        audit=frozenset({"pickup_verifications"}),
    ),
    ("POST", "/api/v1/products"): Entry(
        body=lambda w, _: {
            "title": "planted",
            "community_id": w.a.community_id,
            "skus": [{"name": "x", "price": 1, "stock": 1}],
        },
        shopper=_s(403),
        leader=_s(403),
    ),
    # Prices and stock are public: read without logging in too.
    ("GET", "/api/v1/products"): Entry(
        query=lambda w: {"community_id": w.a.community_id}, **PUBLIC
    ),
    # A's inactive product: only its leader and admins see it.
    ("GET", "/api/v1/products/{product_id}"): Entry(
        ids=lambda a: {"product_id": a.hidden_product_id},
        anonymous=_s(404),
        shopper=_s(404),
        leader=_s(404),
    ),
    ("PATCH", "/api/v1/products/{product_id}"): Entry(
        body=lambda w, _: {"title": "defaced"}, shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/products/{product_id}/skus"): Entry(
        body=lambda w, _: {"name": "planted", "price": 1, "stock": 1},
        shopper=_s(403),
        leader=_s(403),
    ),
    # Logging in is for everyone; a code WeChat does not know is refused to everyone.
    ("POST", "/api/v1/session"): Entry(
        body=lambda w, _: {"code": "someone-elses-code"},
        anonymous=_s(401),
        shopper=_s(401),
        leader=_s(401),
    ),
    ("GET", "/api/v1/share-codes/{code}/wxacode"): Entry(**PUBLIC),
    ("PATCH", "/api/v1/skus/{sku_id}"): Entry(
        body=lambda w, _: {"price": 1}, shopper=_s(403), leader=_s(403)
    ),
    ("GET", "/api/v1/teams/{team_ref}"): Entry(**PUBLIC),
    ("GET", "/api/v1/teams/{team_ref}/share"): Entry(**OWN),
    # After-sales: A's request is decided by A's leader or an admin, seen by its buyer.
    ("POST", "/api/v1/orders/{order_id}/after-sales"): Entry(
        body=lambda w, _: {"kind": "refund_only", "reason": "quality"},
        shopper=_s(404),
        leader=_s(404),
    ),
    ("GET", "/api/v1/after-sales"): Entry(**OWN),
    ("GET", "/api/v1/after-sales/{after_sale_id}"): Entry(ids=_after_sale),
    ("POST", "/api/v1/after-sales/{after_sale_id}/approve"): Entry(
        ids=_after_sale, shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/after-sales/{after_sale_id}/reject"): Entry(
        ids=_after_sale,
        body=lambda w, _: {"reason": "no"},
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/leader/after-sales"): Entry(shopper=_s(403), leader=OK),
    ("GET", "/api/v1/admin/return-rules"): Entry(shopper=_s(403), leader=_s(403)),
    # Reconciliation: admins only.
    ("GET", "/api/v1/admin/reconciliation"): Entry(**ADMINS_ONLY),
    ("GET", "/api/v1/admin/reconciliation/{bill_date}"): Entry(ids=_bill, **ADMINS_ONLY),
    ("POST", "/api/v1/admin/reconciliation/{bill_date}/run"): Entry(ids=_bill, **ADMINS_ONLY),
    ("POST", "/api/v1/admin/reconciliation/differences/{difference_id}/resolve"): Entry(
        ids=_bill, body=lambda w, _: {"note": "ok"}, **ADMINS_ONLY
    ),
    # Group claims: A's leader files, admins decide.
    ("POST", "/api/v1/communities/{community_id}/claims"): Entry(
        body=lambda w, _: {
            "sku_id": w.a.sku_id,
            "delivery_date": "2026-01-01",
            "units": 1,
            "reason": "hijack",
        },
        shopper=_s(403),
        leader=_s(403),
    ),
    ("GET", "/api/v1/communities/{community_id}/claims"): Entry(shopper=_s(403), leader=_s(403)),
    ("GET", "/api/v1/claims/{claim_id}"): Entry(ids=_claim, shopper=_s(403), leader=_s(404)),
    ("GET", "/api/v1/admin/claims"): Entry(shopper=_s(403), leader=_s(403)),
    ("POST", "/api/v1/admin/claims/{claim_id}/approve"): Entry(
        ids=_claim, shopper=_s(403), leader=_s(403)
    ),
    ("POST", "/api/v1/admin/claims/{claim_id}/reject"): Entry(
        ids=_claim, body=lambda w, _: {"reason": "no"}, shopper=_s(403), leader=_s(403)
    ),
    ("PUT", "/api/v1/admin/return-rules"): Entry(
        body=lambda w, _: {"category": "fresh", "no_reason_return": False},
        shopper=_s(403),
        leader=_s(403),
    ),
    # Coupons and points (issue 16): templates are the operators'; a coupon, points and an
    # order's discounts are the caller's own (side A's order is nobody else's to price).
    ("GET", "/api/v1/admin/coupon-templates"): Entry(**ADMINS_ONLY),
    ("POST", "/api/v1/admin/coupon-templates"): Entry(
        body=lambda w, _: {
            "name": "x",
            "kind": "amount",
            "amount_off": 1,
            "stock_total": 1,
            "valid_days": 1,
        },
        **ADMINS_ONLY,
    ),
    ("POST", "/api/v1/admin/coupon-templates/{template_id}/close"): Entry(
        ids=_template, **ADMINS_ONLY
    ),
    ("POST", "/api/v1/admin/coupon-templates/{template_id}/grants"): Entry(
        body=lambda w, _: {"user_ids": [NO_APPLICATION]}, ids=_template, **ADMINS_ONLY
    ),
    ("GET", "/api/v1/coupon-templates"): Entry(**PUBLIC),
    ("POST", "/api/v1/coupon-templates/{template_id}/claim"): Entry(
        ids=_template, shopper=_s(404), leader=_s(404)
    ),
    ("POST", "/api/v1/coupon-templates/{template_id}/exchange"): Entry(
        ids=_template, shopper=_s(404), leader=_s(404)
    ),
    ("GET", "/api/v1/me/coupons"): Entry(**OWN),
    ("GET", "/api/v1/me/points"): Entry(**OWN),
    ("GET", "/api/v1/skus/{sku_id}/prices"): Entry(**PUBLIC),
    ("PUT", "/api/v1/orders/{order_id}/discounts"): Entry(
        body=lambda w, _: {"points": 0}, shopper=_s(404), leader=_s(404)
    ),
    # Bargains: admins open offers; anyone reads a card; shoppers start their own and cut
    # others' (that rewrites the bargain's row, never A's orders); only the starter buys.
    ("POST", "/api/v1/admin/bargain-offers"): Entry(
        body=lambda w, _: {"sku_id": w.a.sku_id, "floor_price": 1, "helpers_needed": 1, "hours": 1},
        **ADMINS_ONLY,
    ),
    ("POST", "/api/v1/admin/bargain-offers/{offer_id}/close"): Entry(**ADMINS_ONLY),
    ("GET", "/api/v1/bargain-offers"): Entry(**PUBLIC),
    ("POST", "/api/v1/bargain-offers/{offer_id}/bargains"): Entry(shopper=CREATED, leader=CREATED),
    ("GET", "/api/v1/me/bargains"): Entry(**OWN),
    ("GET", "/api/v1/bargains/{bargain_ref}"): Entry(**PUBLIC),
    ("GET", "/api/v1/bargains/{bargain_ref}/share"): Entry(**PUBLIC),
    ("POST", "/api/v1/bargains/{bargain_ref}/cuts"): Entry(
        shopper=CREATED, leader=CREATED, changes=frozenset({"bargains"})
    ),
    ("POST", "/api/v1/bargains/{bargain_ref}/order"): Entry(shopper=_s(403), leader=_s(403)),
    # Member tiers: admins set the ladder; each member reads their own.
    ("GET", "/api/v1/admin/tiers"): Entry(**ADMINS_ONLY),
    ("PUT", "/api/v1/admin/tiers"): Entry(
        body=lambda w, _: {"levels": [{"name": "hijack", "threshold": 0}]}, **ADMINS_ONLY
    ),
    ("GET", "/api/v1/me/tier"): Entry(**OWN),
    # Dashboards: the community's leader or an operator; the ranking, operators only.
    ("GET", "/api/v1/communities/{community_id}/dashboard"): Entry(**ADMINS_ONLY),
    ("GET", "/api/v1/communities/{community_id}/dashboard.csv"): Entry(**ADMINS_ONLY),
    ("GET", "/api/v1/admin/stats/communities"): Entry(**ADMINS_ONLY),
    # Recommendations: products and counts of buyers, readable by anyone.
    ("GET", "/api/v1/communities/{community_id}/popular"): Entry(**PUBLIC),
    ("GET", "/api/v1/products/{product_id}/bought-together"): Entry(**PUBLIC),
    # Segments: the community's leader or an operator (A's segments are not B's to see).
    ("GET", "/api/v1/communities/{community_id}/rfm"): Entry(**ADMINS_ONLY),
    ("GET", "/api/v1/communities/{community_id}/segments"): Entry(**ADMINS_ONLY),
    ("POST", "/api/v1/communities/{community_id}/segments"): Entry(
        body=lambda w, _: {"name": "x", "rule": {}}, **ADMINS_ONLY
    ),
    ("GET", "/api/v1/segments/{segment_id}/members"): Entry(
        ids=_no_segment, shopper=_s(403), leader=_s(404)
    ),
    ("GET", "/api/v1/segments/{segment_id}/broadcasts"): Entry(
        ids=_no_segment, shopper=_s(403), leader=_s(404)
    ),
    ("POST", "/api/v1/segments/{segment_id}/broadcasts"): Entry(
        body=lambda w, _: {"text": "hi"}, ids=_no_segment, shopper=_s(403), leader=_s(404)
    ),
    # People's rights over their data: the caller's own; an operator's read of someone's.
    ("GET", "/api/v1/me/export"): Entry(**OWN),
    ("GET", "/api/v1/me/personal"): Entry(**OWN),
    ("PATCH", "/api/v1/me/personal"): Entry(
        body=lambda w, _: {"phone": "13900000000"},
        changes=frozenset({"personal_details"}),
        **OWN,
    ),
    ("GET", "/api/v1/admin/users/{user_id}/personal"): Entry(ids=_target, **ADMINS_ONLY),
    # Last: it erases the caller (a leader is refused; a shopper with orders on their way too).
    ("DELETE", "/api/v1/me"): Entry(
        shopper=_s(200, 409),
        leader=_s(409),
        changes=frozenset({"users", "chat_identities", "follows", "leader_applications"}),
    ),
}


def api_routes(client: TestClient) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in client.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/v1/")
        and route.method != "HEAD"  # aiohttp's twin of each GET
    }


def _values(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [v for value in node.values() for v in _values(value)]
    if isinstance(node, list):
        return [v for value in node for v in _values(value)]
    return [node]


def leaks(text: str, side: Side) -> list[str]:
    """What of ``side``'s private data the body shows."""
    found = [marker for marker in side.private_ids() if marker in text]
    try:
        values = _values(json.loads(text))
    except ValueError:
        values = []
    found += [str(v) for v in values if isinstance(v, int) and v in side.private_amounts]
    return found


async def _call(
    client: TestClient, world: World, method: str, path: str, entry: Entry, actor: User | None
) -> tuple[int, str]:
    ids = {**default_ids(world.a), **(entry.ids(world.a) if entry.ids else {})}
    url = path.format(**ids)
    kwargs: dict[str, Any] = {"headers": world.headers(actor)}
    if entry.query is not None:
        kwargs["params"] = entry.query(world)
    if entry.body is not None:
        kwargs["json"] = entry.body(world, actor)
    resp = await client.request(method, url, **kwargs)
    return resp.status, (await resp.read()).decode(errors="replace")  # the wxacode is a PNG


async def test_every_api_endpoint_has_an_entry(client: TestClient) -> None:
    routes = api_routes(client)
    assert len(routes) >= 45
    missing = sorted(routes - ENTRIES.keys())
    stale = sorted(ENTRIES.keys() - routes)
    assert not missing, f"endpoints without an authorization entry: {missing}"
    assert not stale, f"entries for endpoints that no longer exist: {stale}"


async def test_nobody_reads_or_changes_another_communitys_things(
    client: TestClient, settings: Settings, wechat: FakeWeChat
) -> None:
    world = await build_world(client, settings, wechat)
    redis = client.server.app[REDIS]
    for user in (world.b.shopper, world.b.leader):  # logged in with WeChat, as the app knows
        world.session_keys[user.id] = new_session_key()
        await redis.set(session_key_name(user.id), world.session_keys[user.id])
    callers = {"anonymous": None, "shopper": world.b.shopper, "leader": world.b.leader}
    failures: list[str] = []
    calls = 0
    for (method, path), entry in ENTRIES.items():
        for caller, actor in callers.items():
            expected: frozenset[int] = getattr(entry, caller)
            before = await snapshot()
            status, text = await _call(client, world, method, path, entry, actor)
            after = await snapshot()
            calls += 1
            where = f"{method} {path} as {caller}"
            if status not in expected:
                failures.append(f"{where}: {status} (expected {sorted(expected)}): {text[:300]}")
            if found := leaks(text, world.a):
                failures.append(f"{where}: the body shows A's {found}: {text[:300]}")
            if status >= 400:
                touched = [t for t in changed_tables(before, after) if t not in entry.audit]
                touched += [t for t in rewritten_tables(before, after) if t in entry.audit]
                if touched:
                    failures.append(f"{where}: refused ({status}) but changed {touched}")
            else:
                rewritten = rewritten_tables(before, after)
                if bad := [t for t in rewritten if t in VICTIM_TABLES or t not in entry.changes]:
                    failures.append(f"{where}: allowed ({status}) and rewrote {bad}")
    assert calls == 3 * len(ENTRIES)
    assert not failures, "\n".join(failures)
