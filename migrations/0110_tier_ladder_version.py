"""A member's tier follows the ladder: ``tier_rules.ladder_version`` is raised by every change
of the ladder, and ``member_tiers.ladder_version`` says which version a member was last
calculated under; a member read under an older one is recalculated (services/tiers.py)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0106_models_agree")]

    initial = False

    operations = [
        ops.AddField(
            model_name="TierRules", name="ladder_version", field=fields.IntField(default=0)
        ),
        ops.AddField(
            model_name="MemberTier", name="ladder_version", field=fields.IntField(default=0)
        ),
        # Members calculated before this migration are recalculated on their next read.
        ops.RunSQL(
            'UPDATE "tier_rules" SET "ladder_version" = 1',
            reverse_sql="SELECT 1",
        ),
    ]
