"""Money and order records never go by a cascade: their foreign keys are ``ON DELETE RESTRICT``.

Tortoise's ``ForeignKeyField`` defaults to ``ON DELETE CASCADE``, so deleting a user, a
community, a SKU, a campaign or a team deleted its orders, payments, refunds, seats and
ledgers with it: the books (accounting, disputes, WeChat Pay's daily bill) lost rows nobody
chose to delete. No code deletes any of those parents (campaigns close, activities are
cancelled, an erased account is anonymised and keeps its rows: services/privacy_erasure.py);
from now on the database refuses a hand-made delete too, naming the key, instead of
cascading. Each key below keeps its name, so later migrations still find it.

RESTRICT, every key of these children (what each holds):

- ``orders`` (user, community, sku, campaign, team), ``payments`` (order), ``refunds``
  (order, payment), ``seats`` (team, campaign, user, order): the orders and their money.
- ``earnings_ledger`` (earner, order, community), ``earning_statements`` (earner),
  ``points_ledger`` (user, community), ``points_balances`` (user): the ledgers and what they
  add up to.
- ``coupons`` (template, user, order): money off, held or spent on an order.
- ``after_sales`` (order, user, community, decided_by, refund), ``group_claims``
  (community, filed_by, sku, decided_by), ``claim_lines`` (claim, order, refund): requests
  for money back, who decided them and the refunds they made.
- ``home_deliveries`` (order): the delivery fee charged; ``delivery_batches`` (community,
  pickup_point, arrival), ``batch_orders`` (batch, order, sku, supplier), ``batch_shortages``
  (batch, sku), ``pickup_arrivals`` (community, confirmed_by), ``pickup_verifications``
  (order, verifier): what was delivered, arrived short (a shortage refund's cause names its
  batch) and picked up, and who said so.
- ``bargains`` (offer, starter, sku, order) and ``bargain_cuts`` (helper): the price a
  bargain reached, and each cut's part of it.
- ``bill_differences`` (resolved_by): the reconciliation's differences and who resolved them.

CASCADE kept, because the child is part of its parent and nothing else refers to it:

- ``bargain_cuts.bargain_id``: a cut exists only inside its bargain (its amount is already
  in the bargain's ``price_now``); the bargain itself goes only by a delete of its own row,
  every key above it restricting.
- ``bill_differences.run_id``: a day's differences belong to that day's run; a rerun
  replaces them itself (services/reconciliation.py).
- ``reviews.order_id``: words and a rating about an order, no money.

Every other key stays as it was: its child is no record of money or orders (posts, likes,
visits, share codes, bindings, memberships, chat identities, moderation, ...), or it is a
definition above the records (teams, campaigns, products, SKUs, coupon templates, bargain
offers, pickup points): a cascade through one of those reaches a record's RESTRICT key
and the whole delete is refused.

Re-adding a key checks the child's rows against the parent once (they hold already: the
old key kept them so).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

from migrations._keys import rekey, restricting

TABLES = {
    "Arrival": "pickup_arrivals",
    "BargainOffer": "bargain_offers",
    "Campaign": "campaigns",
    "Community": "communities",
    "CouponTemplate": "coupon_templates",
    "DeliveryBatch": "delivery_batches",
    "GroupClaim": "group_claims",
    "Order": "orders",
    "Payment": "payments",
    "PickupPoint": "pickup_points",
    "Refund": "refunds",
    "Sku": "skus",
    "Supplier": "suppliers",
    "Team": "teams",
    "User": "users",
}

# (model, its table, field, the model it names, related_name, shape): see migrations/_keys.py
KEYS = [
    ("AfterSale", "after_sales", "community", "Community", "after_sales", True),
    ("AfterSale", "after_sales", "decided_by", "User", "after_sale_decisions", True),
    ("AfterSale", "after_sales", "order", "Order", "after_sales", False),
    ("AfterSale", "after_sales", "refund", "Refund", "after_sales", True),
    ("AfterSale", "after_sales", "user", "User", "after_sales", False),
    ("Arrival", "pickup_arrivals", "community", "Community", "arrivals", False),
    ("Arrival", "pickup_arrivals", "confirmed_by", "User", "arrivals_confirmed", False),
    ("Bargain", "bargains", "offer", "BargainOffer", "bargains", False),
    ("Bargain", "bargains", "order", "Order", "bargains", True),
    ("Bargain", "bargains", "sku", "Sku", "bargains", False),
    ("Bargain", "bargains", "starter", "User", "bargains_started", False),
    ("BargainCut", "bargain_cuts", "helper", "User", "bargain_cuts", False),
    ("BatchOrder", "batch_orders", "batch", "DeliveryBatch", "lines", False),
    ("BatchOrder", "batch_orders", "order", "Order", "batch_line", "1:1"),
    ("BatchOrder", "batch_orders", "sku", "Sku", "batch_lines", False),
    ("BatchOrder", "batch_orders", "supplier", "Supplier", "batch_lines", True),
    ("BatchShortage", "batch_shortages", "batch", "DeliveryBatch", "shortages", False),
    ("BatchShortage", "batch_shortages", "sku", "Sku", "shortages", False),
    ("BillDifference", "bill_differences", "resolved_by", "User", "bill_resolutions", True),
    ("ClaimLine", "claim_lines", "claim", "GroupClaim", "lines", False),
    ("ClaimLine", "claim_lines", "order", "Order", "claim_lines", False),
    ("ClaimLine", "claim_lines", "refund", "Refund", "claim_lines", True),
    ("Coupon", "coupons", "order", "Order", "coupons", True),
    ("Coupon", "coupons", "template", "CouponTemplate", "coupons", False),
    ("Coupon", "coupons", "user", "User", "coupons", False),
    ("DeliveryBatch", "delivery_batches", "arrival", "Arrival", "batches", True),
    ("DeliveryBatch", "delivery_batches", "community", "Community", "batches", False),
    ("DeliveryBatch", "delivery_batches", "pickup_point", "PickupPoint", "batches", True),
    ("EarningEntry", "earnings_ledger", "community", "Community", "earnings", True),
    ("EarningEntry", "earnings_ledger", "earner", "User", "earnings", False),
    ("EarningEntry", "earnings_ledger", "order", "Order", "earnings", False),
    ("EarningStatement", "earning_statements", "earner", "User", "earning_statements", False),
    ("GroupClaim", "group_claims", "community", "Community", "claims", False),
    ("GroupClaim", "group_claims", "decided_by", "User", "claims_decided", True),
    ("GroupClaim", "group_claims", "filed_by", "User", "claims_filed", False),
    ("GroupClaim", "group_claims", "sku", "Sku", "claims", False),
    ("HomeDelivery", "home_deliveries", "order", "Order", "home_delivery", "1:1"),
    ("Order", "orders", "campaign", "Campaign", "orders", True),
    ("Order", "orders", "community", "Community", "orders", True),
    ("Order", "orders", "sku", "Sku", "orders", False),
    ("Order", "orders", "team", "Team", "orders", True),
    ("Order", "orders", "user", "User", "orders", False),
    ("Payment", "payments", "order", "Order", "payments", False),
    ("PickupVerification", "pickup_verifications", "order", "Order", "verifications", True),
    ("PickupVerification", "pickup_verifications", "verifier", "User", "verifications", False),
    ("PointsBalance", "points_balances", "user", "User", "points_balance", "pk"),
    ("PointsEntry", "points_ledger", "community", "Community", "points", True),
    ("PointsEntry", "points_ledger", "user", "User", "points", False),
    ("Refund", "refunds", "order", "Order", "refunds", False),
    ("Refund", "refunds", "payment", "Payment", "refunds", False),
    ("Seat", "seats", "campaign", "Campaign", "seats", False),
    ("Seat", "seats", "order", "Order", "seat", "1:1"),
    ("Seat", "seats", "team", "Team", "seats", False),
    ("Seat", "seats", "user", "User", "seats", False),
]


class Migration(migrations.Migration):
    dependencies = [("models", "0270_flash_orders_name_their_sale")]

    initial = False

    operations = [
        ops.RunSQL(rekey(KEYS, TABLES, "RESTRICT"), reverse_sql=rekey(KEYS, TABLES, "CASCADE")),
        restricting(KEYS),
    ]
