"""H5 visits: a page opened in a browser is a visit with no user (nobody is logged in).

The column change is plain SQL: Tortoise's AlterField rebuilds a SQLite table and loses
the triggers 0003/0006 put on it (see 0007), so the state changes through AlterField with
no database step, and the database through RunPython. On SQLite, dropping a NOT NULL is
one of the schema edits the documentation allows through ``writable_schema``.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.growth import VisitSource

NOT_NULL = '"user_id" CHAR(36) NOT NULL'
NULLABLE = '"user_id" CHAR(36)'


class AlterFieldState(ops.AlterField):
    """AlterField for the migration state only; RunPython changes the database."""

    async def database_forward(self, app_label, old_state, new_state, state_editor=None):
        return None

    async def database_backward(self, app_label, old_state, new_state, state_editor=None):
        return None


async def _sqlite_swap(schema_editor, old: str, new: str) -> None:
    client = schema_editor.client
    await client.execute_script(
        "PRAGMA writable_schema = ON;"
        f"UPDATE sqlite_master SET sql = replace(sql, '{old}', '{new}') "
        "WHERE type = 'table' AND name = 'visits';"
        "PRAGMA writable_schema = OFF;"
    )


async def forward(apps, schema_editor) -> None:
    if schema_editor.DIALECT == "postgres":
        await schema_editor._run_sql('ALTER TABLE "visits" ALTER COLUMN "user_id" DROP NOT NULL')
        return
    await _sqlite_swap(schema_editor, NOT_NULL, NULLABLE)


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql('DELETE FROM "visits" WHERE "user_id" IS NULL')
    if schema_editor.DIALECT == "postgres":
        await schema_editor._run_sql('ALTER TABLE "visits" ALTER COLUMN "user_id" SET NOT NULL')
        return
    await _sqlite_swap(schema_editor, NULLABLE, NOT_NULL)


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
        ops.RunPython(forward, backward),
    ]
