"""A payment that fills its team completes it in its own statement, asked alone.

Before, a payment that filled its team was answered ``in_transaction`` by the statement asked
alone (nothing written) and asked again inside a transaction, where Python published the
team's news (services/groupbuy.completed). Measured on one connection (bench/p5_notify_team.py
and BENCHMARKS.md, round 9), that is a second run of the locks and reads, a BEGIN, an INSERT
and a COMMIT of their own, and the server's transaction around them, for one payment in five.
Now:

- ``qunshop_team_price(campaign, members)`` is the price a team reached (its campaign's
  ``price_tiers``: the lowest tier price whose ``min_members`` the paid members reach, never
  above the group price), 0130's rule, the one place it is written.
- ``qunshop_succeed_team`` (0130) publishes the team's news itself, in the transaction of its
  success: the "news.publish" outbox row that services/news.publish wrote (the same kind,
  payload and dedupe key, tests/services/test_payments.py checks them), once, however often
  it is called. Every success writes it: a payment filling the team, or its deadline.
- ``qunshop_pay_order`` (0170), asked alone, completes the team its payment fills unless the
  success owes refunds at the team's price (Python owes them, in the transaction): under the
  team's lock the orders succeeding are its paid ones and this one, so which owe a refund is
  known before anything is written. A share card, first-order coupons, a tier ladder or a
  refusal still send it to a transaction, as before.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0130 = importlib.import_module("migrations.0130_pay_order_completes_the_team")
_0170 = importlib.import_module("migrations.0170_pay_notify_runs_fewer_statements")

TEAM_PRICE = """
CREATE FUNCTION qunshop_team_price(p_campaign_id uuid, p_members integer)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN  -- PL/pgSQL: its plan is kept for the session (a SQL function's is made at each call)
    RETURN (
        SELECT least(c.group_price, (
                   SELECT min((x->>'price')::integer) FROM jsonb_array_elements(c.price_tiers) x
                    WHERE (x->>'min_members')::integer <= p_members
               ))
          FROM campaigns c
         WHERE c.id = p_campaign_id
    );
END
$$
"""

SUCCEED_TEAM = """
CREATE OR REPLACE FUNCTION qunshop_succeed_team(
    p_team_id uuid, p_now timestamptz,
    OUT team teams, OUT owed_orders uuid[], OUT owed_amounts integer[]
) LANGUAGE plpgsql AS $$
DECLARE
    v_campaign uuid;
    v_members integer;
    v_price integer;
BEGIN
    -- The price the team reached (阶梯团): the lowest tier its paid members reach.
    SELECT campaign_id, seats_paid INTO v_campaign, v_members FROM teams WHERE id = p_team_id;
    v_price := qunshop_team_price(v_campaign, v_members);
    UPDATE teams SET status = 'succeeded', closed_at = p_now, final_price = v_price,
           seats_held = seats_paid
     WHERE id = p_team_id AND status = 'open'
    RETURNING * INTO team;
    IF NOT FOUND THEN
        RETURN;  -- closed already: nothing to do
    END IF;
    UPDATE seats SET in_open_team = false WHERE team_id = p_team_id AND in_open_team;
    -- Everyone pays the tier the team reached: the group price falls by (unit_price - price),
    -- less the member discount's share of the fall; a coupon or points stay as they were.
    WITH confirmed AS (
        UPDATE orders SET status = 'confirmed'
         WHERE orders.team_id = p_team_id AND status = 'paid_awaiting_team'
        RETURNING id, unit_price, quantity, member_off, amount
    )
    SELECT array_agg(id ORDER BY id),
           array_agg(least(
               (unit_price - v_price) * quantity
                   - (member_off - member_off * v_price / unit_price),
               amount
           ) ORDER BY id)
      INTO owed_orders, owed_amounts
      FROM confirmed
     WHERE unit_price > v_price;
    -- Its news, once (services/news.publish's row: outbox kind "news.publish", keyed by the
    -- event and the team; created_at the wall clock, as the ORM's).
    INSERT INTO outbox (id, kind, payload, dedupe_key, status, attempts, next_attempt_at,
                        last_error, created_at)
    VALUES (gen_random_uuid(), 'news.publish',
            jsonb_build_object('event', 'team_succeeded', 'ref', p_team_id::text),
            'news:team_succeeded:' || p_team_id, 'pending', 0, p_now, '', clock_timestamp())
    ON CONFLICT (dedupe_key) DO NOTHING;
END
$$
"""

_ALONE = "    -- Asked alone (no transaction around the statement)"
_OWES = """    -- Filling its team, asked alone: completed here unless the success owes refunds at
    -- the team's price (Python owes them). Under the team's lock the orders that succeed
    -- are its paid ones and this one.
    IF p_alone AND v_outcome = 'honoured' AND o.kind = 'group' AND t.seats_paid + 1 >= t.size
    THEN
        v_price := qunshop_team_price(t.campaign_id, t.seats_paid + 1);
        SELECT coalesce(bool_or(
                   unit_price > v_price AND (status = 'paid_awaiting_team' OR id = o.id)
               ), false)  -- the team's orders by its index (its few rows), then filtered
          INTO v_owes
          FROM orders
         WHERE orders.team_id = t.id;
    END IF;
"""
_EDITS = (
    (
        "    v_earned integer;\n",
        "    v_earned integer;\n    v_price integer;\n    v_owes boolean := false;\n",
    ),
    (
        "(refused, filling its team, a share card, first-order coupons,\n    -- a tier ladder)",
        "(refused, refunds its team's success owes, a share\n"
        "    -- card, first-order coupons, a tier ladder)",
    ),
    (
        "        OR (o.kind = 'group' AND t.seats_paid + 1 >= t.size)\n",
        "        OR v_owes\n",
    ),
    (_ALONE, _OWES + _ALONE),
)


def _pay_order() -> str:
    """0170's function, a payment filling its team completed alone unless refunds are owed."""
    text = _0170.PAY_ORDER
    for old, new in _EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


PAY_ORDER = _pay_order()

FORWARD = [TEAM_PRICE, SUCCEED_TEAM, PAY_ORDER]
BACKWARD = [
    _0170.PAY_ORDER,
    _0130.SUCCEED_TEAM.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    "DROP FUNCTION qunshop_team_price(uuid, integer)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0190_orders_leave_room_for_hot_updates")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
