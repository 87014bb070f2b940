"""The last keys whose cascade deleted business records: they restrict now.

0280 made the money and order records' keys restrict, 0310 a community's leader and who made
or decided a thing. Still cascading were keys whose delete took records with it that nobody
chose to delete: deleting a supplier's account deleted the supplier and, through it, its
products and listing reviews; deleting a user deleted the teams they started, their share
codes and every invite binding and visit they brought (the attribution the inviter's
rewards are computed from), what they wrote (posts with everybody's comments on them, Q&A,
reviews) and the moderation log about it; deleting a community, a campaign, a product or a
SKU deleted campaigns, teams, activities, flash sales, coupon templates, segments and their
broadcasts, bargain offers and listing reviews. No code deletes any of those parents (an
erased account is anonymised and keeps what it wrote: services/privacy_erasure.py); from now
on the database refuses a hand-made delete too, naming the key.

RESTRICT, each a record of its own (what it holds):

- to ``users``: ``suppliers.account_id`` (a supplier and its products), ``teams.head_id``
  (a team), ``share_codes.sharer_id``, ``invite_bindings.inviter_id`` and ``invitee_id``,
  ``visits.sharer_id`` and ``user_id``, ``broadcast_deliveries.user_id`` (attribution:
  who brought whom, who a broadcast reached), ``leader_applications.user_id`` (an
  application and its decision), ``author_id`` of ``posts``, ``comments``, ``questions``,
  ``answers``, ``reviews``, ``moderation_items`` and ``content_reports.reporter_id`` (what
  people wrote, which the erasure keeps, emptied, so what hangs on it still adds up, and
  the moderation log about it).
- to ``communities``: ``activities``, ``campaigns``, ``products``, ``coupon_templates``,
  ``segments`` (what the community sells and runs), ``share_codes``, ``invite_bindings``,
  ``visits`` (attribution), ``leader_applications`` (the application that made it).
- to ``campaigns``: ``teams``, ``share_codes``, ``invite_bindings``, ``visits``, ``posts``
  (a leader's post is not lost with what it names); ``posts.product_id`` likewise.
- to ``skus``: ``campaigns``, ``bargain_offers``, ``flash_sales``, ``listing_reviews``;
  to ``products`` and ``suppliers``: ``listing_reviews`` (the review log); ``products.
  supplier_id``; ``share_codes.team_id``; ``invite_bindings.code_id`` and ``visits.code_id``
  (a share code's attribution); ``visits.follow_id`` (the visit a follow brought);
  ``broadcasts.segment_id`` (what was sent, to whom).

CASCADE kept, the child being part of its parent (a row that means nothing without it), and
every record that could name it held by a restricting key above:

- the person's own rows, to ``users``: ``account_links`` (both), ``chat_identities``,
  ``leader_identities``, ``addresses``, ``personal_details``, ``subscribe_consents``,
  ``erasures``, ``memberships``, ``member_tiers``, ``checkins`` (the points are in the
  restricting ledger), ``mutes``, ``offences``, ``post_likes``, ``followings`` (follower and
  leader).
- the community's own: ``pickup_points``, ``delivery_plans``, ``memberships``, ``checkins``,
  ``followings``, its feed (``posts``, ``comments``, ``questions``, ``answers``,
  ``moderation_items``) and ``reviews`` (each has an order, whose key restricts).
- part of the thing above: ``skus.product_id`` (a product's variants), ``sku_prices``,
  ``return_rules``, ``questions.product_id`` and its ``answers``, ``comments.post_id`` and
  ``parent_id``, ``post_likes.post_id``, ``reviews`` (product, campaign, order: see 0280),
  ``campaign_stock_slices``, ``team_cards``, ``team_reminders``, ``activity_runs``,
  ``flash_sales.activity_id``, ``broadcast_deliveries.broadcast_id``,
  ``content_reports.item_id``, ``media_checks.item_id``, ``account_links.identity_id``,
  ``bargain_cuts.bargain_id`` and ``bill_differences.run_id`` (0280).
- ``member_tiers.level_id`` stays ``SET NULL``: a level removed from the ladder
  (services/tiers.py) leaves its members unranked until the next evaluation.

As 0310 did: each key keeps its name, is made again ``NOT VALID`` (all together, in one
transaction: the tables locked for a moment, no row read), then each table's keys are
validated in a transaction of their own, which locks it ``SHARE UPDATE EXCLUSIVE`` only:
reads and writes go on while its rows are checked. So the migration is not atomic; run again
after a failure, it does the same work again.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from migrations._keys import by_table, rekey, restricting, validate

TABLES = {
    "Campaign": "campaigns",
    "Community": "communities",
    "Follow": "follows",
    "Product": "products",
    "Segment": "segments",
    "ShareCode": "share_codes",
    "Sku": "skus",
    "Supplier": "suppliers",
    "Team": "teams",
    "User": "users",
}

# (model, its table, field, the model it names, related_name, shape): see migrations/_keys.py
KEYS = [
    ("Supplier", "suppliers", "account", "User", "suppliers", True),
    ("Team", "teams", "head", "User", "teams_started", False),
    ("Team", "teams", "campaign", "Campaign", "teams", False),
    ("ShareCode", "share_codes", "sharer", "User", "share_codes", False),
    ("ShareCode", "share_codes", "community", "Community", "share_codes", True),
    ("ShareCode", "share_codes", "campaign", "Campaign", "share_codes", True),
    ("ShareCode", "share_codes", "team", "Team", "share_codes", True),
    ("InviteBinding", "invite_bindings", "inviter", "User", "invitees", False),
    ("InviteBinding", "invite_bindings", "invitee", "User", "invited_by", False),
    ("InviteBinding", "invite_bindings", "community", "Community", "bindings", True),
    ("InviteBinding", "invite_bindings", "campaign", "Campaign", "bindings", True),
    ("InviteBinding", "invite_bindings", "code", "ShareCode", "bindings", True),
    ("Visit", "visits", "sharer", "User", "visits_brought", True),
    ("Visit", "visits", "user", "User", "visits", True),
    ("Visit", "visits", "community", "Community", "visits", True),
    ("Visit", "visits", "campaign", "Campaign", "visits", True),
    ("Visit", "visits", "code", "ShareCode", "visits", True),
    ("Visit", "visits", "follow", "Follow", "visit", "1:1?"),
    ("Delivery", "broadcast_deliveries", "user", "User", "deliveries", False),
    ("LeaderApplication", "leader_applications", "user", "User", "leader_applications", False),
    (
        "LeaderApplication",
        "leader_applications",
        "community",
        "Community",
        "leader_applications",
        True,
    ),
    ("Post", "posts", "author", "User", "posts", False),
    ("Post", "posts", "campaign", "Campaign", "posts", True),
    ("Post", "posts", "product", "Product", "posts", True),
    ("Comment", "comments", "author", "User", "comments", False),
    ("Question", "questions", "author", "User", "questions", False),
    ("Answer", "answers", "author", "User", "answers", False),
    ("Review", "reviews", "author", "User", "reviews", False),
    ("ModerationItem", "moderation_items", "author", "User", "moderation_items", True),
    ("ContentReport", "content_reports", "reporter", "User", "content_reports", False),
    ("Activity", "activities", "community", "Community", "activities", False),
    ("Campaign", "campaigns", "community", "Community", "campaigns", False),
    ("Campaign", "campaigns", "sku", "Sku", "campaigns", False),
    ("Product", "products", "community", "Community", "products", True),
    ("Product", "products", "supplier", "Supplier", "products", True),
    ("CouponTemplate", "coupon_templates", "community", "Community", "coupon_templates", True),
    ("Segment", "segments", "community", "Community", "segments", False),
    ("Broadcast", "broadcasts", "segment", "Segment", "broadcasts", False),
    ("BargainOffer", "bargain_offers", "sku", "Sku", "bargain_offers", False),
    ("FlashSale", "flash_sales", "sku", "Sku", "flash_sales", False),
    ("ListingReview", "listing_reviews", "sku", "Sku", "listing_reviews", True),
    ("ListingReview", "listing_reviews", "product", "Product", "listing_reviews", False),
    ("ListingReview", "listing_reviews", "supplier", "Supplier", "listing_reviews", False),
]


class Migration(migrations.Migration):
    dependencies = [("models", "0310_a_leader_and_who_made_or_decided_never_go_by_a_cascade")]

    initial = False
    atomic = False  # see the docstring: each table validated in a transaction of its own

    operations = [
        ops.RunSQL(
            rekey(KEYS, TABLES, "RESTRICT", valid=False), reverse_sql=rekey(KEYS, TABLES, "CASCADE")
        ),
        *(
            ops.RunSQL(validate(table, columns), reverse_sql=ops.RunSQL.noop)
            for table, columns in by_table(KEYS, TABLES).items()
        ),
        restricting(KEYS),
    ]
