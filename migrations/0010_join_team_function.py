"""Joining a team in one statement on PostgreSQL: ``qunshop_join_team(...)``.

services/groupbuy.py's join_team, as one PL/pgSQL function, so a join is one round trip
instead of about ten. Its checks, in the lock order of every team use case (the team row,
then the campaign row):

- the team, by id or by code (QS404 team_not_found);
- the seat: a conditional update (open, before its deadline, seats_held < size); when it
  matches nothing, a fresh read tells team_full from team_closed (QS409);
- the per-user limit on reserved and paid seats (QS409 already_in_team when one of them is in
  an open team, else user_limit_reached);
- the stock: a conditional update (QS409 campaign_sold_out);
- the order and the seat, inserted; uq_seat_open_team_per_user refusing the seat (a concurrent
  join of the same user) is QS409 already_in_team.

A RAISE aborts the statement, so a refusal leaves every row as it was. The caller generates the
ids and the out_trade_no. The status and kind literals are the models' enum values
(TeamStatus.OPEN, SeatStatus.RESERVED/PAID, OrderKind.GROUP, OrderStatus.PENDING_PAYMENT).
"""

from tortoise import migrations
from tortoise.migrations import operations as ops

SIGNATURE = (
    "qunshop_join_team(uuid, varchar, uuid, timestamptz, timestamptz, uuid, uuid, varchar, "
    "varchar)"
)

CREATE = """
CREATE FUNCTION qunshop_join_team(
    p_team_id uuid,
    p_code varchar,
    p_user_id uuid,
    p_now timestamptz,
    p_created_at timestamptz,
    p_order_id uuid,
    p_seat_id uuid,
    p_out_trade_no varchar,
    p_chat_id varchar,
    OUT team teams,
    OUT ord orders,
    OUT seat seats
) LANGUAGE plpgsql AS $$
DECLARE
    c campaigns;
    v_team_id uuid := p_team_id;
    v_held integer;
    v_until timestamptz;
BEGIN
    IF v_team_id IS NULL THEN
        SELECT id INTO v_team_id FROM teams WHERE code = p_code;
    END IF;

    -- The seat: a checked conditional update, which also locks the team row (first).
    UPDATE teams SET seats_held = seats_held + 1
     WHERE id = v_team_id AND status = 'open' AND seats_held < size AND deadline_at > p_now
    RETURNING * INTO team;
    IF NOT FOUND THEN
        SELECT * INTO team FROM teams WHERE id = v_team_id;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'QS404', MESSAGE = 'team_not_found';
        END IF;
        IF team.status = 'open' AND team.deadline_at > p_now THEN
            RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'team_full';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'team_closed';
    END IF;

    SELECT * INTO c FROM campaigns WHERE id = team.campaign_id;

    SELECT count(*) INTO v_held FROM seats
     WHERE campaign_id = c.id AND user_id = p_user_id AND status IN ('reserved', 'paid');
    IF v_held >= c.per_user_limit THEN
        IF EXISTS (
            SELECT 1 FROM seats WHERE campaign_id = c.id AND user_id = p_user_id AND in_open_team
        ) THEN
            RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'already_in_team';
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'user_limit_reached',
            DETAIL = c.per_user_limit::text;
    END IF;

    -- The stock: a checked conditional update, which locks the campaign row (second). The
    -- inserts follow both locks: their foreign-key checks then lock rows this transaction
    -- already holds, instead of piling shared locks (multixacts) onto the hot rows.
    UPDATE campaigns SET stock_left = stock_left - 1 WHERE id = c.id AND stock_left >= 1;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'campaign_sold_out';
    END IF;

    -- A joiner is never the head: the group price.
    v_until := p_now + make_interval(mins => c.reservation_minutes);
    INSERT INTO orders (
        id, out_trade_no, kind, user_id, community_id, sku_id, campaign_id, team_id, quantity,
        unit_price, amount, status, reserved_until, chat_id, created_at, updated_at
    ) VALUES (
        p_order_id, p_out_trade_no, 'group', p_user_id, c.community_id, c.sku_id, c.id, team.id,
        1, c.group_price, c.group_price, 'pending_payment', v_until, p_chat_id, p_created_at,
        p_created_at
    ) RETURNING * INTO ord;

    INSERT INTO seats (
        id, team_id, campaign_id, user_id, order_id, is_head, status, in_open_team,
        reserved_until, created_at
    ) VALUES (
        p_seat_id, team.id, c.id, p_user_id, p_order_id, false, 'reserved', true, v_until,
        p_created_at
    )
    ON CONFLICT (campaign_id, user_id) WHERE in_open_team DO NOTHING
    RETURNING * INTO seat;
    IF NOT FOUND THEN  -- uq_seat_open_team_per_user: a concurrent join of this user won
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'already_in_team';
    END IF;
END
$$
"""


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(CREATE)


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql(f"DROP FUNCTION {SIGNATURE}")


class Migration(migrations.Migration):
    dependencies = [("models", "0009_points_append_only")]

    operations = [ops.RunPython(forward, backward)]
