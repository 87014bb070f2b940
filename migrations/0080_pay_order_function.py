"""A pay notify is one statement: ``qunshop_pay_order``, as a join is ``qunshop_join_team``.

In one round trip, inside the caller's transaction, the function:

1. finds the order by ``out_trade_no`` (``unknown`` if none) and checks the amount notified
   against the order's (``mismatch``);
2. locks the team (a group order), then the order: the same order of locks as a join and a
   release, so payments, joins and releases of one team queue instead of deadlocking;
3. records the payment exactly once per transaction id (``payments.transaction_id`` is
   unique; ``ON CONFLICT DO NOTHING``): a repeated notify, even one racing the first, answers
   ``repeat`` and changes nothing (one already committed is answered before the locks);
4. honours it only if the order still awaits payment and, for a group order, its seat is still
   reserved in an open team; otherwise the payment is recorded ``refunded`` and the answer is
   ``unhonourable`` (services/payments.py owes the refund);
5. a new-user offer holds only if the buyer has paid no other order: the buyer's row is locked
   first, so two payments of one person are read one at a time (``offer_used`` otherwise);
6. moves the order on (``pending_payment`` to ``paid_awaiting_team`` for a group order, to
   ``confirmed`` otherwise: transitions services/orders.TRANSITIONS allows and whose pricing
   hooks do nothing), stamps ``paid_at`` and ``transaction_id``, spends the order's coupon if
   it holds one (``coupon_off > 0``: a locked coupon always takes something off), marks the
   seat paid and counts it on the team;
7. answers ``honoured`` with ``completed`` true when that was the team's last seat (the caller
   completes the team in the same transaction: services/groupbuy.complete) and ``card`` true
   when the team has a live share card to update.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

PAY_ORDER = """
CREATE FUNCTION qunshop_pay_order(
    p_out_trade_no text, p_transaction_id text, p_amount integer, p_payload jsonb,
    p_now timestamptz,
    OUT outcome text, OUT order_id uuid, OUT team_id uuid, OUT completed boolean,
    OUT card boolean
) LANGUAGE plpgsql AS $$
DECLARE
    o orders%ROWTYPE;
    t teams%ROWTYPE;
    v_seat uuid;
    v_outcome text := 'honoured';
BEGIN
    completed := false;
    card := false;
    SELECT * INTO o FROM orders WHERE out_trade_no = p_out_trade_no;
    IF NOT FOUND THEN
        outcome := 'unknown';
        RETURN;
    END IF;
    order_id := o.id;
    team_id := o.team_id;
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
        RETURN;
    END IF;

    UPDATE orders SET
        status = CASE WHEN o.kind = 'group' THEN 'paid_awaiting_team' ELSE 'confirmed' END,
        paid_at = p_now,
        transaction_id = p_transaction_id
    WHERE id = o.id AND status = 'pending_payment';
    IF o.coupon_off > 0 THEN
        UPDATE coupons SET status = 'used', used_at = p_now
        WHERE coupons.order_id = o.id AND status = 'locked';
    END IF;
    IF o.kind = 'group' THEN
        UPDATE seats SET status = 'paid' WHERE id = v_seat AND status = 'reserved';
        UPDATE teams SET seats_paid = seats_paid + 1 WHERE id = t.id
        RETURNING seats_paid = size INTO completed;
        card := EXISTS (
            SELECT 1 FROM team_cards WHERE team_cards.team_id = t.id AND expires_at > p_now
        );
    END IF;
END
$$
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0073_recommendations")]

    initial = False

    operations = [
        ops.RunSQL(
            PAY_ORDER,
            reverse_sql="DROP FUNCTION qunshop_pay_order(text, text, integer, jsonb, timestamptz)",
        ),
    ]
