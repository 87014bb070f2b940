"""Leaders' identity keeps the verdict only: the real name and phone checked are the person's
sealed details (``personal_details``, services/personal.py), never held in the clear."""

from tortoise import migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0063_home_delivery")]

    initial = False

    operations = [
        ops.RemoveField(model_name="LeaderIdentity", name="real_name"),
        ops.RemoveField(model_name="LeaderIdentity", name="phone"),
    ]
