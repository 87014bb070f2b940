"""A join is two statements lighter at the database: the team by its code in the seat's update,
and the seat a plain insert.

Measured one join after another on one backend (``bench.join_seq_ab``, BENCHMARKS.md round 8
joinpg), two pieces of ``qunshop_join_team`` (latest in 0120) did work the function does not
need:

- A join by code (every HTTP join) first looked the team's id up (``SELECT id FROM teams WHERE
  code = ...``, ~11 µs) and then updated the team by that id. Now the checked conditional
  update names the code itself (``teams_code_key`` finds the row as ``teams_pkey`` did); a
  join by id updates by id as before. A refusal reads the team the same way (by id, or by
  code) to tell team_not_found, team_full and team_closed apart, as before.
- The seat was inserted with ``ON CONFLICT (campaign_id, user_id) WHERE in_open_team DO
  NOTHING`` to turn a concurrent join of the same user into already_in_team. That is a
  speculative insertion: a probe of ``uq_seat_open_team_per_user`` before the insert, a
  speculative token and a second WAL record to confirm the tuple (~7 µs a join). Now the seat
  is a plain insert; ``uq_seat_open_team_per_user`` still refuses the second open seat
  (SQLSTATE 23505, which aborts the statement as the RAISE did, so nothing is written), and
  services/join_sql.py answers that violation already_in_team, as starting a team already
  does for the same index (services/groupbuy.py).

Every rule, every check and their order are 0120's; only the two pieces are replaced (marked
below). The function's parameters and result are unchanged, so it is replaced in place.
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0120 = importlib.import_module("migrations.0120_join_asks_for_member_prices")

# --- 0180: the two changes to qunshop_join_team ---
_SEAT_BEFORE = """\
    IF v_team_id IS NULL THEN
        SELECT id INTO v_team_id FROM teams WHERE code = p_code;
    END IF;

    -- The seat: a checked conditional update, which also locks the team row (first).
    UPDATE teams SET seats_held = seats_held + 1
     WHERE id = v_team_id AND status = 'open' AND seats_held < size AND deadline_at > p_now
    RETURNING * INTO team;
    IF NOT FOUND THEN
        SELECT * INTO team FROM teams WHERE id = v_team_id;
        IF NOT FOUND THEN"""
_SEAT_AFTER = """\
    -- The seat: a checked conditional update, which also locks the team row (first); by the
    -- team's code when the caller has no id (0180: no look-up of the id first).
    IF v_team_id IS NULL THEN
        UPDATE teams SET seats_held = seats_held + 1
         WHERE code = p_code AND status = 'open' AND seats_held < size AND deadline_at > p_now
        RETURNING * INTO team;
    ELSE
        UPDATE teams SET seats_held = seats_held + 1
         WHERE id = v_team_id AND status = 'open' AND seats_held < size AND deadline_at > p_now
        RETURNING * INTO team;
    END IF;
    IF NOT FOUND THEN
        IF v_team_id IS NULL THEN
            SELECT * INTO team FROM teams WHERE code = p_code;
        ELSE
            SELECT * INTO team FROM teams WHERE id = v_team_id;
        END IF;
        IF NOT FOUND THEN"""
_INSERT_BEFORE = """\
    ON CONFLICT (campaign_id, user_id) WHERE in_open_team DO NOTHING
    RETURNING * INTO seat;
    IF NOT FOUND THEN  -- uq_seat_open_team_per_user: a concurrent join of this user won
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'already_in_team';
    END IF;
"""
_INSERT_AFTER = """\
    RETURNING * INTO seat;  -- uq_seat_open_team_per_user refuses a concurrent join of this
                            -- user (23505: already_in_team, services/join_sql.py, 0180)
"""
# --- end of 0180's change ---
OLD_JOIN = _0120.NEW_JOIN.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
assert OLD_JOIN.count(_SEAT_BEFORE) == 1 and OLD_JOIN.count(_INSERT_BEFORE) == 1
NEW_JOIN = OLD_JOIN.replace(_SEAT_BEFORE, _SEAT_AFTER).replace(_INSERT_BEFORE, _INSERT_AFTER)


class Migration(migrations.Migration):
    dependencies = [("models", "0170_pay_notify_runs_fewer_statements")]

    initial = False

    operations = [ops.RunSQL(NEW_JOIN, reverse_sql=OLD_JOIN)]
