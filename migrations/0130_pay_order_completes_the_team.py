"""The pay notify's statement answers with the order's row and completes the team itself.

After ``qunshop_pay_order`` (0080) the notify read the order again (a round trip and an ORM
query), and a payment that filled its team made about eleven more round trips to complete it
(services/groupbuy.py). Now:

- ``qunshop_succeed_team(team, now)`` is a team's success, the one place it is written: the
  price the team reached (its campaign's ``price_tiers``: the lowest tier price whose
  ``min_members`` the paid members reach, never above the group price), the team succeeded
  at that price with its paid seats as held, its seats out of the open-team index, its paid
  orders confirmed (``paid_awaiting_team`` to ``confirmed``: a transition
  services/orders.TRANSITIONS allows and whose pricing hook does nothing). It answers the
  team's row and the refunds the tier price owes: for each order whose unit price is above
  it, the fall ``(unit_price - price) * quantity`` less the member discount's share of it (the
  discount was taken off ``unit_price``), at most what the order paid. A coupon or points
  stay as they were. The caller owes those refunds (services/refunds.owe) and publishes the
  news. A team closing at its deadline (``groupbuy.close_team``) releases its reserved seats
  first; a team its last payment fills has none.
- ``qunshop_pay_order`` is 0080's function with three changes: it answers ``ord`` (the
  order's row as the statement leaves it; the order as it was when the payment is not
  honoured), ``team`` (the team's row after the payment, for a group order) in place of
  ``team_id``, and, when the payment fills the team, calls ``qunshop_succeed_team`` and
  answers its refunds (``owed_orders``, ``owed_amounts``).

A function's answer cannot change in place, so this drops and creates it (0080's text,
backward).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0080 = importlib.import_module("migrations.0080_pay_order_function")

SUCCEED_TEAM = """
CREATE FUNCTION qunshop_succeed_team(
    p_team_id uuid, p_now timestamptz,
    OUT team teams, OUT owed_orders uuid[], OUT owed_amounts integer[]
) LANGUAGE plpgsql AS $$
DECLARE
    v_price integer;
BEGIN
    -- The price the team reached (阶梯团): the lowest tier its paid members reach.
    SELECT least(c.group_price, (
               SELECT min((x->>'price')::integer) FROM jsonb_array_elements(c.price_tiers) x
                WHERE (x->>'min_members')::integer <= t.seats_paid
           ))
      INTO v_price
      FROM teams t JOIN campaigns c ON c.id = t.campaign_id
     WHERE t.id = p_team_id;
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
END
$$
"""

PAY_ORDER = """
CREATE FUNCTION qunshop_pay_order(
    p_out_trade_no text, p_transaction_id text, p_amount integer, p_payload jsonb,
    p_now timestamptz,
    OUT outcome text, OUT order_id uuid, OUT ord orders, OUT team teams,
    OUT completed boolean, OUT card boolean, OUT owed_orders uuid[], OUT owed_amounts integer[]
) LANGUAGE plpgsql AS $$
DECLARE
    o orders%ROWTYPE;
    t teams%ROWTYPE;
    v_seat uuid;
    v_outcome text := 'honoured';
    v_succeeded record;
BEGIN
    completed := false;
    card := false;
    SELECT * INTO o FROM orders WHERE out_trade_no = p_out_trade_no;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    order_id := o.id;
    IF o.amount <> p_amount THEN
        outcome := 'mismatch';
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM payments WHERE transaction_id = p_transaction_id) THEN
        outcome := 'repeat';  -- the common repeat, answered without waiting for the locks
        RETURN;
    END IF;
    IF o.kind = 'group' AND o.team_id IS NOT NULL THEN
        SELECT * INTO t FROM teams WHERE id = o.team_id FOR UPDATE;
    END IF;
    SELECT * INTO o FROM orders WHERE id = o.id FOR UPDATE;

    IF o.status <> 'pending_payment' THEN
        v_outcome := 'unhonourable';  -- cancelled, or already paid by another transaction
    ELSE
        -- One person's payments one at a time, so "never paid before" is read truly.
        PERFORM 1 FROM users WHERE id = o.user_id FOR UPDATE;
        IF o.new_user_offer AND EXISTS (
            SELECT 1 FROM orders
            WHERE user_id = o.user_id AND paid_at IS NOT NULL AND id <> o.id
        ) THEN
            v_outcome := 'offer_used';
        ELSIF o.kind = 'group' THEN
            SELECT id INTO v_seat FROM seats WHERE seats.order_id = o.id AND status = 'reserved';
            IF v_seat IS NULL OR t.status IS DISTINCT FROM 'open' THEN
                v_outcome := 'unhonourable';  -- the seat was released, or the team closed
            END IF;
        END IF;
    END IF;

    INSERT INTO payments (id, order_id, transaction_id, amount, outcome, payload, received_at)
    VALUES (
        gen_random_uuid(), o.id, p_transaction_id, p_amount,
        CASE WHEN v_outcome = 'honoured' THEN 'honoured' ELSE 'refunded' END, p_payload, p_now
    )
    ON CONFLICT (transaction_id) DO NOTHING;
    IF NOT FOUND THEN
        outcome := 'repeat';
        RETURN;
    END IF;
    outcome := v_outcome;
    IF v_outcome <> 'honoured' THEN
        ord := o;
        RETURN;
    END IF;

    UPDATE orders SET
        status = CASE WHEN o.kind = 'group' THEN 'paid_awaiting_team' ELSE 'confirmed' END,
        paid_at = p_now,
        transaction_id = p_transaction_id
    WHERE id = o.id AND status = 'pending_payment'
    RETURNING * INTO ord;
    IF o.coupon_off > 0 THEN
        UPDATE coupons SET status = 'used', used_at = p_now
        WHERE coupons.order_id = o.id AND status = 'locked';
    END IF;
    IF o.kind = 'group' THEN
        UPDATE seats SET status = 'paid' WHERE id = v_seat AND status = 'reserved';
        UPDATE teams SET seats_paid = seats_paid + 1 WHERE id = t.id RETURNING * INTO team;
        completed := team.seats_paid = team.size;
        IF completed THEN  -- the team's last seat: it succeeds (no seat is left reserved)
            SELECT * INTO v_succeeded FROM qunshop_succeed_team(t.id, p_now);
            team := v_succeeded.team;
            owed_orders := v_succeeded.owed_orders;
            owed_amounts := v_succeeded.owed_amounts;
            SELECT * INTO ord FROM orders WHERE id = o.id;  -- confirmed with its team
        END IF;
        card := EXISTS (
            SELECT 1 FROM team_cards WHERE team_cards.team_id = t.id AND expires_at > p_now
        );
    END IF;
END
$$
"""

_SIGNATURE = "(text, text, integer, jsonb, timestamptz)"
FORWARD = [
    SUCCEED_TEAM,
    f"DROP FUNCTION qunshop_pay_order{_SIGNATURE}",
    PAY_ORDER,
]
BACKWARD = [
    f"DROP FUNCTION qunshop_pay_order{_SIGNATURE}",
    _0080.PAY_ORDER,
    "DROP FUNCTION qunshop_succeed_team(uuid, timestamptz)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0121_orders_indexes_a_join_skips")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
