"""H5 visits: a page opened in a browser is a visit with no user (nobody is logged in).

The state changes through AlterField with no database step, the column through one plain
statement (it keeps the table's triggers and indexes as they are).
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.growth import VisitSource


class AlterFieldState(ops.AlterField):
    """AlterField for the migration state only; RunSQL changes the database."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


class Migration(migrations.Migration):
    dependencies = [("models", "0014_user_avatar")]

    operations = [
        AlterFieldState(
            model_name="Visit",
            name="user",
            field=fields.ForeignKeyField(
                "models.User",
                source_field="user_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="visits",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        # The enum's new value: a state change (the column is a VARCHAR either way).
        AlterFieldState(
            model_name="Visit",
            name="source",
            field=fields.CharEnumField(
                description="ENTRY: entry\nFOLLOW: follow\nGROUP: group\nH5: h5",
                enum_type=VisitSource,
                max_length=16,
            ),
        ),
        ops.RunSQL(
            'ALTER TABLE "visits" ALTER COLUMN "user_id" DROP NOT NULL',
            reverse_sql='DELETE FROM "visits" WHERE "user_id" IS NULL; '
            'ALTER TABLE "visits" ALTER COLUMN "user_id" SET NOT NULL',
        ),
    ]
