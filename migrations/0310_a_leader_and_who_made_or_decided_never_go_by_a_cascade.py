"""A community's leader, and who made or decided a thing, are keys that restrict, not cascade.

Tortoise's ``ForeignKeyField`` defaults to ``ON DELETE CASCADE``. Migration 0280 made the
money and order records' keys restrict; these were left cascading, so deleting a leader's
user row by hand deleted their community and everything hanging off it (pickup point,
products and SKUs, campaigns, activities, posts, members), and deleting an operator's row
deleted the campaigns, products, coupon templates, bargain offers, segments and broadcasts
they made, and the applications, reviews and decisions they decided. Only a record of
money refused it, and only when there was one. No code deletes a user or a community (an
erased account is anonymised and keeps its rows: services/privacy_erasure.py); from now on
the database refuses a hand-made delete too, naming the key.

RESTRICT, every one of them:

- ``communities.leader_id``: a community is its leader's.
- ``created_by_id`` of ``activities``, ``bargain_offers``, ``broadcasts``, ``campaigns``,
  ``coupon_templates``, ``products``, ``segments``: who made it.
- ``growth_rules.updated_by_id``, ``leader_applications.decided_by_id``,
  ``listing_reviews.decided_by_id``, ``review_decisions.actor_id``,
  ``suppliers.reviewed_by_id``: who changed the rules, or decided.

The last five are nullable, and ``SET NULL`` would keep the rows; but their NULL already
says something else: not decided yet (an application, a listing, a supplier), decided by
the rules (a review decision), the defaults nobody set (the growth rules). Set to NULL, a
decision a person made would read as one nobody made, in the very log kept to say who did.

Each key keeps its name. The keys are made again ``NOT VALID``, together in one transaction
(the tables locked for a moment: no row is read), then each is validated in a transaction of
its own, which locks its table ``SHARE UPDATE EXCLUSIVE`` only: reads and writes go on while
its rows are checked against ``users``. So the migration is not atomic: one transaction
around it would hold the first step's locks through every validation (as 0280's did,
re-adding its keys valid: each checked under an exclusive lock). Run again after a failure,
it does the same work again.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

# (model, its table, field, related_name, nullable): every key names users.
KEYS = [
    ("Community", "communities", "leader", "led_communities", False),
    ("Activity", "activities", "created_by", "activities_created", False),
    ("BargainOffer", "bargain_offers", "created_by", "bargain_offers_opened", False),
    ("Broadcast", "broadcasts", "created_by", "broadcasts_sent", False),
    ("Campaign", "campaigns", "created_by", "campaigns_created", False),
    ("CouponTemplate", "coupon_templates", "created_by", "coupon_templates", False),
    ("Product", "products", "created_by", "products_created", False),
    ("Segment", "segments", "created_by", "segments_created", False),
    ("GrowthRules", "growth_rules", "updated_by", "growth_rules", True),
    ("LeaderApplication", "leader_applications", "decided_by", "leader_decisions", True),
    ("ListingReview", "listing_reviews", "decided_by", "reviews_decided", True),
    ("ReviewDecision", "review_decisions", "actor", "review_decisions", True),
    ("Supplier", "suppliers", "reviewed_by", "suppliers_reviewed", True),
]


def _constraint(table: str, name: str) -> str:
    return f"{table}_{name}_id_fkey"


def _rekey(on_delete: str, *, valid: bool) -> str:
    """Each key dropped and made again under its name, in one statement."""
    return ";\n".join(
        f'ALTER TABLE "{table}" DROP CONSTRAINT "{_constraint(table, name)}", '
        f'ADD CONSTRAINT "{_constraint(table, name)}" FOREIGN KEY ("{name}_id") '
        f'REFERENCES "users" ("id") ON DELETE {on_delete}{"" if valid else " NOT VALID"}'
        for _, table, name, _, _ in KEYS
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0280_money_and_order_records_never_go_by_a_cascade")]

    initial = False
    atomic = False  # see the docstring: each validation in a transaction of its own

    operations = [
        ops.RunSQL(_rekey("RESTRICT", valid=False), reverse_sql=_rekey("CASCADE", valid=True)),
        *(
            ops.RunSQL(
                f'ALTER TABLE "{table}" VALIDATE CONSTRAINT "{_constraint(table, name)}"',
                reverse_sql=ops.RunSQL.noop,
            )
            for _, table, name, _, _ in KEYS
        ),
        StateOnly(
            *(
                ops.AlterField(
                    model_name=model,
                    name=name,
                    field=fields.ForeignKeyField(
                        "models.User",
                        source_field=f"{name}_id",
                        db_constraint=True,
                        to_field="id",
                        related_name=related_name,
                        null=null,
                        on_delete=OnDelete.RESTRICT,
                    ),
                )
                for model, _, name, related_name, null in KEYS
            )
        ),
    ]
