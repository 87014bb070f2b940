"""A review's reply names who wrote it: ``reviews.replied_by_id``.

``reviews.reply_text`` held the words of a leader's (or an operator's) answer but not whose
they were: a reader could not tell who answered, an archive could not give a person their
replies, an erasure could not empty them.

- The column is nullable (a review without a reply has none) and its foreign key is
  ``ON DELETE RESTRICT``, as every key that names who made or decided a thing (0310, 0320).
- The partial index ``idx_reviews_replied_by`` holds replied reviews only: a person's
  replies, read by the archive and the erasure, and the foreign key's check.
- Existing replies are filled from the moderation queue where a held reply left its row
  (kind ``reply``, ref the review's id, whose author is the replier). A reply that was never
  held left no row: it stays NULL and is shown without a name (``团长回复``), as before.
"""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from migrations._state import StateOnly

FORWARD = ";\n".join(
    [
        'ALTER TABLE "reviews" ADD COLUMN "replied_by_id" UUID',
        """UPDATE "reviews" r SET "replied_by_id" = m.author_id
FROM "moderation_items" m
WHERE m.kind = 'reply' AND m.ref = r.id::text AND r.reply_text <> ''""",
        'ALTER TABLE "reviews" ADD CONSTRAINT "reviews_replied_by_id_fkey" FOREIGN KEY '
        '("replied_by_id") REFERENCES "users" ("id") ON DELETE RESTRICT',
        'CREATE INDEX "idx_reviews_replied_by" ON "reviews" ("replied_by_id") '
        'WHERE "replied_by_id" IS NOT NULL',
    ]
)
BACKWARD = ";\n".join(
    ['DROP INDEX "idx_reviews_replied_by"', 'ALTER TABLE "reviews" DROP COLUMN "replied_by_id"']
)


class Migration(migrations.Migration):
    dependencies = [("models", "0320_business_records_never_go_by_a_cascade")]

    initial = False

    operations = [
        ops.RunSQL(FORWARD, reverse_sql=BACKWARD),
        StateOnly(
            ops.AddField(
                model_name="Review",
                name="replied_by",
                field=fields.ForeignKeyField(
                    "models.User",
                    source_field="replied_by_id",
                    null=True,
                    db_constraint=True,
                    to_field="id",
                    related_name="review_replies",
                    on_delete=OnDelete.RESTRICT,
                ),
            )
        ),
    ]
