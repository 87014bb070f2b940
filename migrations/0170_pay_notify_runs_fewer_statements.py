"""The pay notify's statement runs fewer statements for the same answer.

Measured per notify on one connection (bench/p5_notify_sql.py), each statement a function
runs costs its executor start and end, locks and plan checks besides what it reads and
writes, so the statements an honoured payment runs are fewer, none of them new:

- ``qunshop_pay_order``: what it reads once the order and its buyer are locked (the
  first-order coupon templates, whether the buyer paid before, the order's reserved seat,
  the team's live share card, whether a tier ladder exists) is one statement, not four or
  five; each read is still made only where it was (``paid_before`` only for a new-user
  offer or a first-order template, the seat only for a group order, the ladder only when
  asked alone). The tiers and the points are called as expressions (``:=``), not as
  queries (``SELECT * FROM`` and ``PERFORM`` start an executor around the call).
- ``qunshop_accrue_order_earnings(order, ...)`` is 0160's ``qunshop_accrue_earnings`` given
  the order's row: the notify hands it the row its update answered (the accrual reads only
  its id, buyer, community, amount and group chat, none of which the payment changes), so
  it does not read the order again; ``qunshop_accrue_earnings(order_id, ...)`` (Python's
  entry, services/earnings.on_paid) reads the row and calls it, so the rule stays in one
  place. What it reads is one statement: the buyer's last group visit (the order is updated
  only when there is one: an ``UPDATE`` that changes nothing still opens all of the order's
  indexes), the community's leader, the growth rules, and the buyer's binding in force; the
  inviters' chain is asked of ``qunshop_inviters_of`` only when there is a binding (without
  one its first step ends the chain empty).
- ``orders_price_fixed`` fires only when its condition holds (a trigger ``WHEN``, checked
  without calling PL/pgSQL): the function raises exactly where it raised, and an update of
  an order awaiting payment (the pay notify's) no longer calls it.
- ``points_ledger_balance``: an entry that adds points (``delta >= 0``) is added to the
  balance by one ``INSERT ... ON CONFLICT DO UPDATE`` (the first entry of a person made
  three statements: an update that found no row, the insert, the update). The CHECK judges
  the row the statement leaves: a new row holding a non-negative delta, or the old balance
  plus it, both as before. A spend (``delta < 0``) keeps the update first, so the CHECK
  still judges the balance less the spend, never the spend alone.

No foreign key or trigger is dropped: each check still guards every other writer, and the
keys' ``ON DELETE CASCADE`` is how an erased person's rows go.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0030 = importlib.import_module("migrations.0030_order_breakdown")
_0032 = importlib.import_module("migrations.0032_points_balances")
_0160 = importlib.import_module("migrations.0160_pay_order_does_the_paid_order")

ACCRUE_ORDER_EARNINGS = """
CREATE FUNCTION qunshop_accrue_order_earnings(
    o orders, p_now timestamptz, p_scope text, p_default_bps integer[],
    p_group_window interval
) RETURNS SETOF earnings_ledger LANGUAGE plpgsql AS $$
DECLARE
    v_opengid text;
    v_leader uuid;
    v_bps integer[];
    v_inviter uuid;
    v_chain uuid[] := '{}';
BEGIN
    SELECT CASE WHEN coalesce(o.chat_id, '') = '' THEN (  -- its buyer's last group visit
               SELECT opengid FROM visits
                WHERE user_id = o.user_id AND source = 'group'
                  AND created_at >= p_now - p_group_window AND created_at <= p_now
                ORDER BY created_at DESC
                LIMIT 1
           ) END,
           (SELECT leader_id FROM communities WHERE id = o.community_id),
           (SELECT ARRAY[leader_share_bps, invite_level1_bps, invite_level2_bps]
              FROM growth_rules WHERE scope = p_scope),
           (SELECT inviter_id FROM qunshop_binding_of(o.user_id, p_now))
      INTO v_opengid, v_leader, v_bps, v_inviter;
    IF v_opengid IS NOT NULL THEN  -- the order tied to that group
        UPDATE orders SET chat_id = v_opengid WHERE id = o.id AND chat_id IS NULL;
    END IF;
    v_bps := coalesce(v_bps, p_default_bps);
    IF v_inviter IS NOT NULL THEN  -- no binding in force: no inviter at any level
        v_chain := qunshop_inviters_of(o.user_id, p_now, 2);  -- no third level
    END IF;
    RETURN QUERY
    INSERT INTO earnings_ledger AS e
           (id, earner_id, kind, amount, frozen_delta, rate_bps, ref,
            order_id, community_id, event, available_delta, base, created_at)
    SELECT gen_random_uuid(), s.earner_id, s.kind, s.amount, s.amount, s.bps,
           o.id || ':' || s.kind || ':accrue', o.id,
           CASE WHEN v_leader IS NOT NULL THEN o.community_id END, 'accrue', 0, o.amount, p_now
      FROM (SELECT x.n, x.kind, x.earner_id, x.bps,
                   (o.amount::bigint * x.bps / 10000)::integer AS amount
              FROM (VALUES (1, 'leader_share', v_leader, v_bps[1]),
                           (2, 'invite_l1', v_chain[1], v_bps[2]),
                           (3, 'invite_l2', v_chain[2], v_bps[3])) AS x (n, kind, earner_id, bps)
           ) s
     WHERE s.earner_id IS NOT NULL AND s.amount > 0
     ORDER BY s.n
    ON CONFLICT (ref) DO NOTHING
    RETURNING e.*;
END
$$
"""

ACCRUE_EARNINGS = """
CREATE OR REPLACE FUNCTION qunshop_accrue_earnings(
    p_order_id uuid, p_now timestamptz, p_scope text, p_default_bps integer[],
    p_group_window interval
) RETURNS SETOF earnings_ledger LANGUAGE sql AS $$
    SELECT a.* FROM orders o,
           qunshop_accrue_order_earnings(o, p_now, p_scope, p_default_bps, p_group_window) a
     WHERE o.id = p_order_id
$$
"""

PAY_ORDER = """
CREATE OR REPLACE FUNCTION qunshop_pay_order(
    p_out_trade_no text, p_transaction_id text, p_amount integer, p_payload jsonb,
    p_now timestamptz,
    p_tier_window_days integer, p_tier_timezone text, p_tier_rules_id integer,
    p_points_pct integer, p_growth_scope text, p_growth_bps integer[], p_group_window interval,
    p_alone boolean,
    OUT outcome text, OUT order_id uuid, OUT ord orders, OUT team teams,
    OUT completed boolean, OUT card boolean, OUT owed_orders uuid[], OUT owed_amounts integer[],
    OUT tier_settled boolean, OUT tier_failed text, OUT first_order_templates uuid[],
    OUT accrued integer
) LANGUAGE plpgsql AS $$
DECLARE
    o orders%ROWTYPE;
    t teams%ROWTYPE;
    v_seat uuid;
    v_outcome text := 'honoured';
    v_paid_before boolean;
    v_card boolean;
    v_ladder boolean;
    v_succeeded record;
    v_tier record;
    v_earned integer;
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
        -- What the payment's outcome and its follow-ups depend on, read once under the
        -- locks: a first paid order earns the first-order coupons (the templates first: most
        -- shops have none, and then the buyer's history is not read).
        SELECT f.templates,
               (o.new_user_offer OR f.templates IS NOT NULL) AND EXISTS (
                   SELECT 1 FROM orders
                    WHERE user_id = o.user_id AND paid_at IS NOT NULL AND id <> o.id
               ),
               CASE WHEN o.kind = 'group' THEN (
                   SELECT id FROM seats WHERE seats.order_id = o.id AND status = 'reserved'
               ) END,
               o.kind = 'group' AND EXISTS (
                   SELECT 1 FROM team_cards WHERE team_cards.team_id = t.id AND expires_at > p_now
               ),
               p_alone AND EXISTS (SELECT 1 FROM tier_levels)
          INTO first_order_templates, v_paid_before, v_seat, v_card, v_ladder
          FROM (SELECT array_agg(id ORDER BY created_at) AS templates
                  FROM coupon_templates WHERE active AND grant_rule = 'first_order') f;
        IF o.new_user_offer AND v_paid_before THEN
            v_outcome := 'offer_used';
        ELSIF o.kind = 'group' AND (v_seat IS NULL OR t.status IS DISTINCT FROM 'open') THEN
            v_outcome := 'unhonourable';  -- the seat was released, or the team closed
        END IF;
    END IF;

    IF v_outcome = 'honoured' THEN
        IF v_paid_before THEN
            first_order_templates := NULL;
        END IF;
        card := v_card;
    ELSE
        first_order_templates := NULL;
    END IF;
    -- Asked alone (no transaction around the statement): a payment that Python must follow
    -- in the same transaction (refused, filling its team, a share card, first-order coupons,
    -- a tier ladder) writes nothing here and is asked again inside one.
    IF p_alone AND (
        v_outcome <> 'honoured' OR card OR first_order_templates IS NOT NULL
        OR (o.kind = 'group' AND t.seats_paid + 1 >= t.size)
        OR v_ladder
    ) THEN
        outcome := 'in_transaction';
        card := false;
        first_order_templates := NULL;
        RETURN;
    END IF;

    INSERT INTO payments (id, order_id, transaction_id, amount, outcome, payload, received_at)
    VALUES (
        gen_random_uuid(), o.id, p_transaction_id, p_amount,
        CASE WHEN v_outcome = 'honoured' THEN 'honoured' ELSE 'refunded' END, p_payload, p_now
    )
    ON CONFLICT (transaction_id) DO NOTHING;
    IF NOT FOUND THEN
        outcome := 'repeat';
        card := false;
        first_order_templates := NULL;
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
    END IF;

    -- The member's tier (no ladder: settled here, no perks; a ladder: Python's standing).
    v_tier := qunshop_tiers_without_ladder(
        o.user_id, p_now, gen_random_uuid(), p_tier_window_days, p_tier_timezone, p_tier_rules_id
    );
    tier_settled := v_tier.written OR v_tier.failed IS NOT NULL;
    tier_failed := v_tier.failed;
    IF tier_settled THEN
        v_earned := qunshop_earn_points(
            o.user_id, o.community_id, o.id, o.amount, p_points_pct, p_now
        );
    END IF;
    SELECT count(*) INTO accrued
      FROM qunshop_accrue_order_earnings(ord, p_now, p_growth_scope, p_growth_bps, p_group_window);
END
$$
"""

PRICE_FIXED = """
CREATE OR REPLACE FUNCTION qunshop_orders_price_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN  -- fired only WHEN the price of an order no longer awaiting payment would change
    RAISE EXCEPTION 'the price of an order no longer awaiting payment is fixed';
END $$"""
PRICE_FIXED_TRIGGER = """
CREATE TRIGGER "orders_price_fixed" BEFORE UPDATE ON "orders" FOR EACH ROW
WHEN (OLD.status <> 'pending_payment' AND (
        NEW.amount, NEW.unit_price, NEW.quantity, NEW.list_price, NEW.member_off,
        NEW.coupon_off, NEW.points_used, NEW.points_off
    ) IS DISTINCT FROM (
        OLD.amount, OLD.unit_price, OLD.quantity, OLD.list_price, OLD.member_off,
        OLD.coupon_off, OLD.points_used, OLD.points_off
    ))
EXECUTE FUNCTION qunshop_orders_price_fixed()"""

POINTS_BALANCE = """
CREATE OR REPLACE FUNCTION qunshop_points_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.delta >= 0 THEN  -- the row left is the new delta or the balance plus it: >= 0
        INSERT INTO points_balances AS b (user_id, balance) VALUES (NEW.user_id, NEW.delta)
        ON CONFLICT (user_id) DO UPDATE SET balance = b.balance + excluded.balance;
        RETURN NULL;
    END IF;
    -- A spend: not INSERT ... ON CONFLICT DO UPDATE, the CHECK would judge the delta alone.
    UPDATE points_balances SET balance = balance + NEW.delta WHERE user_id = NEW.user_id;
    IF NOT FOUND THEN
        INSERT INTO points_balances (user_id, balance) VALUES (NEW.user_id, 0)
        ON CONFLICT (user_id) DO NOTHING;
        UPDATE points_balances SET balance = balance + NEW.delta WHERE user_id = NEW.user_id;
    END IF;
    RETURN NULL;
END $$"""

_PRICE_FIXED_0030 = next(
    s
    for s in _0030.FORWARD
    if "qunshop_orders_price_fixed()" in s and s.startswith("CREATE FUNCTION")
)
_POINTS_BALANCE_0032 = next(
    s for s in _0032.FORWARD if "qunshop_points_balance()" in s and s.startswith("CREATE FUNCTION")
)

FORWARD = [
    ACCRUE_ORDER_EARNINGS,
    ACCRUE_EARNINGS,
    PAY_ORDER,
    'DROP TRIGGER "orders_price_fixed" ON "orders"',
    PRICE_FIXED,
    PRICE_FIXED_TRIGGER,
    POINTS_BALANCE,
]
BACKWARD = [
    _POINTS_BALANCE_0032.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    'DROP TRIGGER "orders_price_fixed" ON "orders"',
    _PRICE_FIXED_0030.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    'CREATE TRIGGER "orders_price_fixed" BEFORE UPDATE ON "orders" '
    "FOR EACH ROW EXECUTE FUNCTION qunshop_orders_price_fixed()",
    _0160.PAY_ORDER.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1),
    "DROP FUNCTION qunshop_accrue_earnings(uuid, timestamptz, text, integer[], interval)",
    _0160.ACCRUE_EARNINGS,
    "DROP FUNCTION qunshop_accrue_order_earnings(orders, timestamptz, text, integer[], interval)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0160_pay_order_does_the_paid_order")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
