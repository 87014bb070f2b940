"""The migration state catches up with this round's model changes, so ``makemigrations`` finds
nothing again: the delivery tables' descriptions (their recipients sealed, 0100) and the seat
status a failed team's paid seats take (``refunded``, 0111). Nothing changes in the database
but the column comment."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import CheckConstraint

from models.groupbuy import SeatStatus


class Migration(migrations.Migration):
    dependencies = [("models", "0111_failed_team_seats_refunded")]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name="Address",
            options={
                "table": "addresses",
                "app": "models",
                "pk_attr": "id",
                "table_description": (
                    "A shopper's delivery address. The recipient's name and phone are sealed "
                    "with the"
                ),
            },
        ),
        ops.AlterModelOptions(
            name="HomeDelivery",
            options={
                "table": "home_deliveries",
                "app": "models",
                "constraints": (CheckConstraint(check="fee >= 0", name="ck_home_delivery_fee"),),
                "pk_attr": "id",
                "table_description": (
                    "An order delivered to the buyer's door instead of picked up, for a fee. The"
                ),
            },
        ),
        ops.AlterField(
            model_name="Seat",
            name="status",
            field=fields.CharEnumField(
                description="RESERVED: reserved\nPAID: paid\nRELEASED: released\nREFUNDED: refunded",
                enum_type=SeatStatus,
                max_length=16,
                default=SeatStatus.RESERVED,
            ),
        ),
    ]
