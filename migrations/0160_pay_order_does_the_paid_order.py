"""The pay notify's statement does what an honoured payment owes, not the round trips after it.

After ``qunshop_pay_order`` (0130) the notify made six more round trips in its transaction
for an honoured payment: the tier recalculation without a ladder, the points earned, the
first-order coupon templates, the earnings context, the buyer's invite binding and the
accruals. Each rule moves here once (its Python copy is deleted) and the Python callers that
remain call the same function:

- ``qunshop_binding_of(user, at)``: the user's invite binding in force at ``at`` (the latest
  by generation, unless it has lapsed); ``qunshop_inviters_of(user, at, levels)``: the chain
  of inviters, nearest first, stopping at a lapsed binding or a repeat (services/invites.py).
- ``qunshop_earn_points(...)``: a paid order's points, one a whole yuan times the member
  tier's multiplier (percent), written once (services/points.py).
- ``qunshop_accrue_earnings(order, now, scope, default_bps, group_window)``: the order tied
  to its buyer's last group visit within ``group_window`` when it has no group chat; the
  community leader's share and the two invite levels accrued frozen, each once by ``ref``;
  answers the rows appended (services/earnings.py). The growth rules' defaults, for a shop
  without a row, are passed in from services/growth_rules.DEFAULTS.
- ``qunshop_pay_order`` is 0130's function; for an honoured payment it then calls
  ``qunshop_tiers_without_ladder`` (0131; its error caught and answered, the payment stands),
  earns the points at the plain multiplier where that statement settled the member (no
  ladder, or failed: no perks), answers the active first-order coupon templates when this is
  the buyer's first paid order (Python grants them: a grant is coupons.issue), and accrues
  the earnings. The order's completion of its team stays where it was, before these; the
  refunds the completion owes are owed by Python after the statement, so they now find this
  order's accruals already written and take them back as any refund does.
- ``p_alone``: the notify asks the statement first without a transaction around it (no
  BEGIN and COMMIT round trips). A payment Python must follow in the same transaction
  (refused, filling its team, a live share card, first-order coupons to grant, a tier
  ladder) is then answered ``in_transaction`` before anything is written, under the same
  locks, and the notify asks again inside a transaction. Every other payment is the one
  statement, its own transaction.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0130 = importlib.import_module("migrations.0130_pay_order_completes_the_team")

BINDING_OF = """
CREATE FUNCTION qunshop_binding_of(p_user_id uuid, p_at timestamptz)
RETURNS SETOF invite_bindings LANGUAGE sql STABLE AS $$
    SELECT * FROM (
        SELECT * FROM invite_bindings WHERE invitee_id = p_user_id
         ORDER BY generation DESC LIMIT 1
    ) latest
     WHERE latest.expires_at IS NULL OR latest.expires_at > p_at
$$
"""

INVITERS_OF = """
CREATE FUNCTION qunshop_inviters_of(p_user_id uuid, p_at timestamptz, p_levels integer)
RETURNS uuid[] LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_chain uuid[] := '{}';
    v_current uuid := p_user_id;
    v_inviter uuid;
BEGIN
    WHILE cardinality(v_chain) < p_levels LOOP
        v_inviter := (SELECT inviter_id FROM qunshop_binding_of(v_current, p_at));
        EXIT WHEN v_inviter IS NULL OR v_inviter = ANY (v_chain) OR v_inviter = p_user_id;
        v_chain := v_chain || v_inviter;
        v_current := v_inviter;
    END LOOP;
    RETURN v_chain;
END
$$
"""

EARN_POINTS = """
CREATE FUNCTION qunshop_earn_points(
    p_user_id uuid, p_community_id uuid, p_order_id uuid, p_amount integer,
    p_multiplier_pct integer, p_now timestamptz
) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    v_earned integer := (p_amount / 100) * p_multiplier_pct / 100;  -- a point a whole yuan
BEGIN
    IF v_earned <= 0 THEN
        RETURN 0;
    END IF;
    INSERT INTO points_ledger (id, user_id, community_id, delta, reason, ref, created_at)
    VALUES (gen_random_uuid(), p_user_id, p_community_id, v_earned, 'order',
            'order:' || p_order_id || ':earn', p_now);
    RETURN v_earned;
END
$$
"""

ACCRUE_EARNINGS = """
CREATE FUNCTION qunshop_accrue_earnings(
    p_order_id uuid, p_now timestamptz, p_scope text, p_default_bps integer[],
    p_group_window interval
) RETURNS SETOF earnings_ledger LANGUAGE plpgsql AS $$
DECLARE
    o orders%ROWTYPE;
    v_leader uuid;
    v_bps integer[];
    v_chain uuid[];
BEGIN
    SELECT * INTO o FROM orders WHERE id = p_order_id;
    IF coalesce(o.chat_id, '') = '' THEN  -- the group of its buyer's last group visit
        UPDATE orders SET chat_id = v.opengid
          FROM (SELECT opengid FROM visits
                 WHERE user_id = o.user_id AND source = 'group'
                   AND created_at >= p_now - p_group_window AND created_at <= p_now
                 ORDER BY created_at DESC
                 LIMIT 1) v
         WHERE orders.id = o.id AND orders.chat_id IS NULL AND v.opengid IS NOT NULL;
    END IF;
    SELECT leader_id INTO v_leader FROM communities WHERE id = o.community_id;
    SELECT ARRAY[leader_share_bps, invite_level1_bps, invite_level2_bps] INTO v_bps
      FROM growth_rules WHERE scope = p_scope;
    v_bps := coalesce(v_bps, p_default_bps);
    v_chain := qunshop_inviters_of(o.user_id, p_now, 2);  -- no third level
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

PAY_ORDER = """
CREATE FUNCTION qunshop_pay_order(
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
    v_succeeded record;
    v_tier record;
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

    IF v_outcome = 'honoured' THEN
        -- A first paid order earns the first-order coupons (the templates read first: most
        -- shops have none, and then the buyer's history is not).
        SELECT array_agg(id ORDER BY created_at) INTO first_order_templates
          FROM coupon_templates WHERE active AND grant_rule = 'first_order';
        IF first_order_templates IS NOT NULL AND EXISTS (
            SELECT 1 FROM orders WHERE user_id = o.user_id AND paid_at IS NOT NULL AND id <> o.id
        ) THEN
            first_order_templates := NULL;
        END IF;
        card := o.kind = 'group' AND EXISTS (
            SELECT 1 FROM team_cards WHERE team_cards.team_id = t.id AND expires_at > p_now
        );
    END IF;
    -- Asked alone (no transaction around the statement): a payment that Python must follow
    -- in the same transaction (refused, filling its team, a share card, first-order coupons,
    -- a tier ladder's standing) writes nothing here and is asked again inside one.
    IF p_alone AND (
        v_outcome <> 'honoured' OR card OR first_order_templates IS NOT NULL
        OR (o.kind = 'group' AND t.seats_paid + 1 >= t.size)
        OR EXISTS (SELECT 1 FROM tier_levels)
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
    SELECT * INTO v_tier FROM qunshop_tiers_without_ladder(
        o.user_id, p_now, gen_random_uuid(), p_tier_window_days, p_tier_timezone, p_tier_rules_id
    );
    tier_settled := v_tier.written OR v_tier.failed IS NOT NULL;
    tier_failed := v_tier.failed;
    IF tier_settled THEN
        PERFORM qunshop_earn_points(o.user_id, o.community_id, o.id, o.amount, p_points_pct, p_now);
    END IF;
    SELECT count(*) INTO accrued
      FROM qunshop_accrue_earnings(o.id, p_now, p_growth_scope, p_growth_bps, p_group_window);
END
$$
"""

_SIGNATURE = "(text, text, integer, jsonb, timestamptz)"
_NEW_SIGNATURE = (
    "(text, text, integer, jsonb, timestamptz, integer, text, integer, integer, text, integer[],"
    " interval, boolean)"
)
FORWARD = [
    BINDING_OF,
    INVITERS_OF,
    EARN_POINTS,
    ACCRUE_EARNINGS,
    f"DROP FUNCTION qunshop_pay_order{_SIGNATURE}",
    PAY_ORDER,
]
BACKWARD = [
    f"DROP FUNCTION qunshop_pay_order{_NEW_SIGNATURE}",
    _0130.PAY_ORDER,
    "DROP FUNCTION qunshop_accrue_earnings(uuid, timestamptz, text, integer[], interval)",
    "DROP FUNCTION qunshop_earn_points(uuid, uuid, uuid, integer, integer, timestamptz)",
    "DROP FUNCTION qunshop_inviters_of(uuid, timestamptz, integer)",
    "DROP FUNCTION qunshop_binding_of(uuid, timestamptz)",
]


async def forward(apps, schema_editor) -> None:
    for sql in FORWARD:
        await schema_editor._run_sql(sql)


async def backward(apps, schema_editor) -> None:
    for sql in BACKWARD:
        await schema_editor._run_sql(sql)


class Migration(migrations.Migration):
    dependencies = [("models", "0151_orders_by_campaign_unread")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
