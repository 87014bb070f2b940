"""Home delivery's recipients are sealed at rest, as people's own details are (0064).

``addresses`` and ``home_deliveries`` gain ``recipient_sealed`` and ``phone_sealed``
(AES-256-GCM under the personal-data key, the row's id bound in: services/personal.py);
the rows there are sealed, and the clear ``recipient`` and ``phone`` columns are dropped.

The key is the settings' (``QUNSHOP_PERSONAL_DATA_KEY``, or derived from
``QUNSHOP_SECRET_KEY``): run ``qunshop migrate`` with the server's environment. The settings
are read only when there is a row to seal, so an empty database needs no key.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

TABLES = ("addresses", "home_deliveries")


async def seal_rows(apps, schema_editor) -> None:
    from qunshop.config import Settings
    from services.personal import data_key, seal

    db = schema_editor.client
    key = None
    for table in TABLES:
        await db.execute_query(f"UPDATE \"{table}\" SET recipient_sealed = '', phone_sealed = ''")
        rows = await db.execute_query_dict(f'SELECT id, recipient, phone FROM "{table}"')
        if rows and key is None:
            key = data_key(Settings())
        for row in rows:
            await db.execute_query(
                f'UPDATE "{table}" SET recipient_sealed = $1, phone_sealed = $2 WHERE id = $3',
                [
                    seal(row["recipient"], key=key, owner=row["id"]),
                    seal(row["phone"], key=key, owner=row["id"]),
                    row["id"],
                ],
            )


class Migration(migrations.Migration):
    dependencies = [("models", "0095_join_answer")]

    initial = False

    operations = [
        # Added empty-able, filled (sealed) by the rows' own values, then made NOT NULL.
        *(
            ops.AddField(model_name=model, name=name, field=fields.TextField(null=True))
            for model in ("Address", "HomeDelivery")
            for name in ("recipient_sealed", "phone_sealed")
        ),
        ops.RunPython(seal_rows),
        *(
            ops.AlterField(model_name=model, name=name, field=fields.TextField(default=""))
            for model in ("Address", "HomeDelivery")
            for name in ("recipient_sealed", "phone_sealed")
        ),
        *(
            ops.RemoveField(model_name=model, name=name)
            for model in ("Address", "HomeDelivery")
            for name in ("recipient", "phone")
        ),
    ]
