"""Who counts as a community's member, the one rule every count of members reads.

A member is someone who joined the community (``memberships``: the mini-program's 加入, a
leader's own community) or who paid an order in it through any door: the group chat, the
mini-program or an H5 page. Most buyers never press 加入: they come from a group's card or a
team link and pay, and they are the community's people as much as those who did. Each
person counts once, a member since the first of the two (joining, or the first payment),
which is the week their cohort is counted in. A paid order later refunded still made its
buyer a member: they came and bought. An order never paid makes nobody a member.

The rule is one SQL shape, ``members_sql(where)``, with the caller's condition on
``community_id`` / ``user_id`` applied inside both halves, so that each half is read through
its own indexes and never the whole ``orders`` table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import connections

if TYPE_CHECKING:
    import uuid
    from datetime import datetime


def members_sql(where: str) -> str:
    """``SELECT community_id, user_id, joined_at`` of the members that ``where`` picks; the
    condition may name only ``community_id`` and ``user_id`` (and the caller's parameters)."""
    return f"""
SELECT community_id, user_id, min(since) AS joined_at FROM (
  SELECT community_id, user_id, joined_at AS since FROM memberships WHERE {where}
  UNION ALL
  SELECT community_id, user_id, min(paid_at) FROM orders
  WHERE paid_at IS NOT NULL AND community_id IS NOT NULL AND {where}
  GROUP BY community_id, user_id
) AS joined GROUP BY community_id, user_id"""


_COUNTS = f"""
SELECT community_id, count(*) AS n FROM ({members_sql("community_id = ANY($1::uuid[])")}) m
GROUP BY community_id
"""
_JOINED_BETWEEN = f"""
SELECT count(*) AS n FROM ({members_sql("community_id = $1")}) m
WHERE joined_at >= $2 AND joined_at < $3
"""


async def counts(community_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Each community's members, one query for any number of communities."""
    if not community_ids:
        return {}
    rows = await connections.get("default").execute_query_dict(_COUNTS, [community_ids])
    return {row["community_id"]: row["n"] for row in rows}


async def joined_between(community_id: uuid.UUID, since: datetime, until: datetime) -> int:
    """The members who became members in ``[since, until)``: new members."""
    rows = await connections.get("default").execute_query_dict(
        _JOINED_BETWEEN, [community_id, since, until]
    )
    return rows[0]["n"]
