"""A member's avatar (the mini-program's chooseAvatar), shown beside their nickname on a team."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [('models', '0013_pickup_news_cards')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='avatar_url',
            field=fields.CharField(max_length=512, null=True),
        ),
    ]
