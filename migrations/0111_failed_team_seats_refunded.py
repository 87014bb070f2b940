"""A failed team's paid seats are ``refunded``: the money went back, so the seat no longer
counts against the campaign's per-person limit (``groupbuy._check_user_limit`` and
``qunshop_join_team`` both count only ``reserved`` and ``paid`` seats). Seats of teams that
failed before this migration are put right."""

from tortoise import migrations
from tortoise.migrations import operations as ops

FORWARD = """UPDATE seats SET status = 'refunded', in_open_team = false
  FROM teams
 WHERE seats.team_id = teams.id AND teams.status = 'failed' AND seats.status = 'paid'"""
BACKWARD = "UPDATE seats SET status = 'paid' WHERE status = 'refunded'"


class Migration(migrations.Migration):
    dependencies = [("models", "0110_tier_ladder_version")]

    initial = False

    operations = [ops.RunSQL(FORWARD, reverse_sql=BACKWARD)]
