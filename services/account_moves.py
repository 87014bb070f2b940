"""What a chat-only user owns, moved to the account their chat identity is linked to.

Called inside the linking transaction, with both users' rows locked, so the move is whole or
nothing. Rows keyed by user move by plain updates, except where a unique key or a ledger says
otherwise:

- seats: one seat in an open team per user per campaign (uq_seat_open_team_per_user); if both
  users hold one in the same campaign the link is refused before anything moves;
- memberships: the account's own row wins a clash, the chat user's is deleted (nothing
  references a membership, and one person is one member of a community);
- check-ins: the account's own row wins a clash, the chat user's is left (a day's points
  were earned by it);
- points: the ledger is append-only, so the balance moves as a pair of entries (out, in);
- coupons: each moves unless the account already holds the template's per-person limit;
- invite bindings: first touch wins, so the chat user's bindings as invitee move only when
  the account has none; bindings where the chat user invited someone move to the account,
  except one that would make the account its own inviter.

Earnings the chat user earned as an inviter stay in its (append-only) ledger; chat-only users
rarely have any, and moving money between ledgers deserves its own statement lines.
"""

from __future__ import annotations

import uuid

from models.activity import CheckIn, PointsEntry
from models.bargain import Bargain, BargainCut, BargainStatus
from models.community import Membership
from models.coupon import Coupon
from models.groupbuy import Seat, Team
from models.growth import InviteBinding, ShareCode, Visit
from models.order import Order
from qunshop.errors import Conflict, ErrorCode
from services import points


async def refuse_clashes(from_id: uuid.UUID, to_id: uuid.UUID) -> None:
    """Both users hold a seat in an open team of one campaign: neither can simply move."""
    theirs = await Seat.filter(user_id=to_id, in_open_team=True).values_list(
        "campaign_id", flat=True
    )
    if (
        theirs
        and await Seat.filter(
            user_id=from_id, in_open_team=True, campaign_id__in=list(theirs)
        ).exists()
    ):
        raise Conflict(
            ErrorCode.ACCOUNT_LINK_CONFLICT,
            "this chat identity and your account each hold a seat in the same group buy; "
            "finish or cancel one of them, then link again",
        )


async def move_all(from_id: uuid.UUID, to_id: uuid.UUID, *, link_id: uuid.UUID) -> dict[str, int]:
    """Move everything of ``from_id`` to ``to_id``; returns how many rows of each kind moved."""
    moved = {
        "orders": await Order.filter(user_id=from_id).update(user_id=to_id),
        "seats": await Seat.filter(user_id=from_id).update(user_id=to_id),
        "teams_led": await Team.filter(head_id=from_id).update(head_id=to_id),
        "share_codes": await ShareCode.filter(sharer_id=from_id).update(sharer_id=to_id),
        "visits": await Visit.filter(user_id=from_id).update(user_id=to_id),
    }
    await Visit.filter(sharer_id=from_id).update(sharer_id=to_id)
    moved["memberships"] = await _move_unclashing(Membership, from_id, to_id, key="community_id")
    await Membership.filter(user_id=from_id).delete()  # the clashes: the account is a member
    moved["checkins"] = await _move_unclashing(CheckIn, from_id, to_id, key=("community_id", "day"))
    moved["points"] = await _move_points(from_id, to_id, link_id=link_id)
    moved["invite_bindings"] = await _move_bindings(from_id, to_id)
    moved["coupons"] = await _move_coupons(from_id, to_id)
    moved["bargains"] = await _move_bargains(from_id, to_id)
    return moved


async def _move_coupons(from_id: uuid.UUID, to_id: uuid.UUID) -> int:
    """Coupons move, each numbered after the account's own of its template; those past the
    template's per-person limit stay behind (two identities do not make two people)."""
    count = 0
    mine = await Coupon.filter(user_id=from_id).select_related("template").order_by("claimed_at")
    for coupon in mine:
        nths = await Coupon.filter(user_id=to_id, template_id=coupon.template_id).values_list(
            "nth", flat=True
        )
        if len(nths) >= coupon.template.per_user_limit:
            continue
        count += await Coupon.filter(id=coupon.id).update(
            user_id=to_id, nth=max(nths, default=0) + 1
        )
    return count


async def _move_bargains(from_id: uuid.UUID, to_id: uuid.UUID) -> int:
    """Bargains started in chat move, unless the account has a live one on the same offer;
    cuts move, unless the account cut that bargain too or started it."""
    live = BargainStatus.EXPIRED
    held = set(
        await Bargain.filter(starter_id=to_id, status__not=live).values_list("offer_id", flat=True)
    )
    count = 0
    for bargain_id, offer_id, status in await Bargain.filter(starter_id=from_id).values_list(
        "id", "offer_id", "status"
    ):
        if status is live or offer_id not in held:
            count += await Bargain.filter(id=bargain_id).update(starter_id=to_id)
    cut_by_account = set(
        await BargainCut.filter(helper_id=to_id).values_list("bargain_id", flat=True)
    )
    for cut_id, bargain_id in await BargainCut.filter(helper_id=from_id).values_list(
        "id", "bargain_id"
    ):
        own = await Bargain.filter(id=bargain_id, starter_id=to_id).exists()
        if bargain_id not in cut_by_account and not own:
            count += await BargainCut.filter(id=cut_id).update(helper_id=to_id)
    return count


async def _move_unclashing(
    model: type[Membership] | type[CheckIn],
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    *,
    key: str | tuple[str, ...],
) -> int:
    keys = (key,) if isinstance(key, str) else key
    held = {tuple(row) for row in await model.filter(user_id=to_id).values_list(*keys)}
    count = 0
    for row in await model.filter(user_id=from_id).values("id", *keys):
        if tuple(row[k] for k in keys) not in held:
            count += await model.filter(id=row["id"]).update(user_id=to_id)
    return count


async def _move_points(from_id: uuid.UUID, to_id: uuid.UUID, *, link_id: uuid.UUID) -> int:
    """The balance, as an out entry and an in entry (the ledger is append-only). Points are
    the person's, shop-wide (services/points.py): one pair moves them all."""
    total = await points.balance(from_id)
    if total <= 0:
        return 0
    ref = f"link:{link_id.hex[:24]}"
    await PointsEntry.create(user_id=from_id, delta=-total, reason="account_link", ref=f"{ref}:out")
    await PointsEntry.create(user_id=to_id, delta=total, reason="account_link", ref=f"{ref}:in")
    return total


async def _move_bindings(from_id: uuid.UUID, to_id: uuid.UUID) -> int:
    moved = 0
    if not await InviteBinding.filter(invitee_id=to_id).exists():
        moved += (
            await InviteBinding.filter(invitee_id=from_id)
            .exclude(inviter_id=to_id)
            .update(invitee_id=to_id)
        )
    moved += (
        await InviteBinding.filter(inviter_id=from_id)
        .exclude(invitee_id=to_id)
        .update(inviter_id=to_id)
    )
    return moved
