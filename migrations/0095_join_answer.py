"""A join answers in one round trip: ``qunshop_join_team`` also returns the product and members.

Every join's answer shows the team's product and its members (#12). They were two more
queries after the join, each a round trip with its query overhead, so a join cost three
(BENCHMARKS.md, round 3 join). Now the function reads them after it holds the seat, this
join's seat among the members, and returns them with the rows:

- ``qunshop_sku_briefs(sku_ids)``: a SKU as a card shows it (``qunshop_brief``: product and
  SKU names, list price, the product's images as JSON text);
- ``qunshop_team_members(team_ids)``: who holds a seat (reserved or paid) in each team, the
  head first (``qunshop_member``).

``services.storefront`` reads briefs and members through the same two functions, so each read
has one text wherever it is answered. The join's rules are 0020's text unchanged; only two OUT
parameters and the two reads at its end are added (marked below). A function's result type
cannot change in place, so this drops and creates it (as 0020's text, backward).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0010 = importlib.import_module("migrations.0010_join_team_function")
_0020 = importlib.import_module("migrations.0020_stock_slices")

BRIEF_TYPE = """
CREATE TYPE qunshop_brief AS (
    sku_id uuid, sku_name varchar, price integer, product_id uuid, title varchar, images text
)
"""
MEMBER_TYPE = """
CREATE TYPE qunshop_member AS (
    team_id uuid, nickname varchar, avatar_url varchar, is_head boolean, paid boolean
)
"""

BRIEFS = """
CREATE FUNCTION qunshop_sku_briefs(p_sku_ids uuid[]) RETURNS SETOF qunshop_brief
LANGUAGE sql STABLE AS $$
    SELECT k.id, k.name::varchar, k.price, p.id, p.title::varchar, p.images::text
      FROM skus k JOIN products p ON p.id = k.product_id
     WHERE k.id = ANY(p_sku_ids)
$$
"""

MEMBERS = """
CREATE FUNCTION qunshop_team_members(p_team_ids uuid[]) RETURNS SETOF qunshop_member
LANGUAGE sql STABLE AS $$
    SELECT s.team_id, u.nickname::varchar, u.avatar_url::varchar, s.is_head,
           s.status = 'paid'
      FROM seats s JOIN users u ON u.id = s.user_id
     WHERE s.team_id = ANY(p_team_ids) AND s.status IN ('reserved', 'paid')
     ORDER BY s.is_head DESC, s.created_at
$$
"""

# --- 0095: the one change to qunshop_join_team ---
_OUT_BEFORE = "    OUT seat seats\n) LANGUAGE plpgsql"
_OUT_AFTER = (
    "    OUT seat seats,\n    OUT product qunshop_brief,\n    OUT members qunshop_member[]\n"
    ") LANGUAGE plpgsql"
)
_END_BEFORE = """\
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'already_in_team';
    END IF;
END
$$
"""
_END_AFTER = """\
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'already_in_team';
    END IF;

    -- What the answer shows beside the rows (0095), read after the seat so that it is
    -- among the members: the answer needs no second round trip.
    SELECT * INTO product FROM qunshop_sku_briefs(ARRAY[c.sku_id]);
    members := ARRAY(SELECT m FROM qunshop_team_members(ARRAY[team.id]) m);
END
$$
"""
# --- end of 0095's change ---
OLD_JOIN = _0020.NEW_JOIN
assert OLD_JOIN.count(_OUT_BEFORE) == 1 and OLD_JOIN.count(_END_BEFORE) == 1
NEW_JOIN = OLD_JOIN.replace(_OUT_BEFORE, _OUT_AFTER).replace(_END_BEFORE, _END_AFTER)
DROP_JOIN = f"DROP FUNCTION {_0010.SIGNATURE}"

FORWARD = [BRIEF_TYPE, MEMBER_TYPE, BRIEFS, MEMBERS, DROP_JOIN, NEW_JOIN]
BACKWARD = [
    DROP_JOIN,
    OLD_JOIN,
    "DROP FUNCTION qunshop_team_members(uuid[])",
    "DROP FUNCTION qunshop_sku_briefs(uuid[])",
    "DROP TYPE qunshop_member",
    "DROP TYPE qunshop_brief",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0090_coupon_claims_together")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
