"""The points ledger is append-only, as the earnings ledger is (0006): updates and deletes
are refused (TRUNCATE, the tests' cleanup, is not a row change)."""

from tortoise import migrations
from tortoise.migrations import operations as ops

MESSAGE = "points_ledger is append-only"


async def forward(apps, schema_editor) -> None:
    await schema_editor._run_sql(
        "CREATE FUNCTION points_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$"
    )
    await schema_editor._run_sql(
        'CREATE TRIGGER "points_ledger_append_only" BEFORE UPDATE OR DELETE '
        'ON "points_ledger" FOR EACH ROW EXECUTE FUNCTION points_ledger_append_only()'
    )


async def backward(apps, schema_editor) -> None:
    await schema_editor._run_sql('DROP TRIGGER "points_ledger_append_only" ON "points_ledger"')
    await schema_editor._run_sql("DROP FUNCTION points_ledger_append_only()")


class Migration(migrations.Migration):
    dependencies = [("models", "0008_subscribe_consents")]

    operations = [ops.RunPython(forward, backward)]
