"""A join is refused outside its campaign's window; subscribe consents never go negative.

- ``qunshop_join_team`` (0010) gains the check that starting a team already had: the campaign
  runs now (starts_at <= now < ends_at), else QS409 campaign_not_active. A team opened before
  the campaign ended takes no new members after it; it still closes at its own deadline.
- ``ck_subscribe_remaining``, which the model declares and 0008 left out (CreateModel skips
  Meta.constraints, see 0003).
"""

import importlib

from tortoise import migrations
from tortoise.migrations import operations as ops

_0010 = importlib.import_module("migrations.0010_join_team_function")
_AFTER = "    SELECT * INTO c FROM campaigns WHERE id = team.campaign_id;\n"
_CHECK = """
    IF NOT (c.starts_at <= p_now AND p_now < c.ends_at) THEN
        RAISE EXCEPTION USING ERRCODE = 'QS409', MESSAGE = 'campaign_not_active';
    END IF;
"""
assert _0010.CREATE.count(_AFTER) == 1
OLD = _0010.CREATE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
NEW = OLD.replace(_AFTER, _AFTER + _CHECK)


class Migration(migrations.Migration):
    dependencies = [("models", "0010_join_team_function")]

    operations = [
        ops.RunSQL(NEW, reverse_sql=OLD),
        ops.RunSQL(
            'ALTER TABLE "subscribe_consents" ADD CONSTRAINT "ck_subscribe_remaining" '
            "CHECK (remaining >= 0)",
            reverse_sql='ALTER TABLE "subscribe_consents" DROP CONSTRAINT "ck_subscribe_remaining"',
        ),
    ]
