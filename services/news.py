"""News when things happen: 成团, 未成团 with its refund, 到货 with the pickup code, a refund
done, a seat about to lapse, an order that lapsed unpaid (a team's seat, a direct, a flash or
a bargain's order, with the way back in). Each is told once, however often its cause is replayed.

Two steps, both through the outbox:

1. ``publish`` writes one "news.publish" row in the transaction where the thing happened,
   keyed by the event and its subject: a payment that rolls back announces nothing, and a
   notify delivered ten times announces once.
2. After the commit the outbox runs ``fan_out``: it reads who is concerned, has the door's
   ``Words`` render each message (templates/chat/news/), and queues one "chat.send" row per
   recipient, each keyed ``news:<event>:<subject>:<recipient>``, so a fan-out run twice (a
   lease that lapsed) still sends each message once.

Who hears it:

- the group: through the community's WeCom group robot (``notify.to_group``), within the
  robot's 20 a minute and the group's daily quota (bot/messenger.py);
- each member: a mini-program subscribe message if they accepted that template (one
  consent spent), else a customer-service message if they wrote to the Official Account
  within 48 hours, else nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from models.aftersale import AfterSale, AfterSaleStatus
from models.bargain import Bargain
from models.community import Community, PickupPoint
from models.groupbuy import Campaign, Team, TeamStatus
from models.order import Order, OrderStatus
from models.outbox import OutboxMessage
from models.payment import Refund
from models.pickup import Arrival
from models.user import User
from qunshop.templates import goods_name
from services import notify, outbox, subscriptions

logger = logging.getLogger(__name__)

KIND = "news.publish"
TEAM_SUCCEEDED = "team_succeeded"
TEAM_FAILED = "team_failed"
ARRIVED = "arrived"
REFUNDED = "refunded"
ORDER_LAPSING = "order_lapsing"
# An order cancelled unpaid at its deadline: a held seat (its own, or its team's that closed),
# a direct, a flash or a bargain's order.
ORDER_LAPSED = "order_lapsed"
PICKUP_REMINDER = "pickup_reminder"
AFTER_SALE_REJECTED = "after_sale_rejected"
AFTER_SALE_ASKED = "after_sale_asked"  # to the community's leader, who decides it
SHORTAGE = "shortage"  # a delivery batch came short: these orders are refunded
EVENTS = (
    TEAM_SUCCEEDED,
    TEAM_FAILED,
    ARRIVED,
    REFUNDED,
    ORDER_LAPSING,
    ORDER_LAPSED,
    PICKUP_REMINDER,
    AFTER_SALE_REJECTED,
    AFTER_SALE_ASKED,
    SHORTAGE,
)
PAID = (
    OrderStatus.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.PICKED_UP,
    OrderStatus.COMPLETED,
)
TEAM_FAILED_REASON = "team_failed"  # services/groupbuy.py's refund reason
SHORTAGE_REASON = "shortage"  # services/batches.py's refund reason


@dataclass(frozen=True)
class Item:
    """One member's part of the news: their order, what it is and the money or code."""

    order: Order
    user: User
    title: str
    amount: int  # fen: what they paid, or what is refunded
    code: str  # the pickup code, "" when there is none
    # A decision's reason (a rejected after-sales request), a refund's reason, or why a lapsed
    # order has no way back (or TEAM_SUCCEEDED: its team closed without it).
    note: str = ""
    kind: str = ""  # an after-sales request's kind (refund_only, return_refund)
    # A lapsed seat's team still open with a free seat (join it again), a lapsed direct or
    # flash order's goods still on sale (buy again), a lapsed bargain's order's bargain still
    # running (order again at its price).
    joinable: bool = False
    # Counted, not told: they heard it otherwise (their seat lapsed), or it no longer
    # concerns them (an arrived order picked up or refunded before the news went out).
    told: bool = False


@dataclass(frozen=True)
class Facts:
    event: str
    ref: str
    title: str  # the campaign's title, or the product's
    team: Team | None
    community: Community | None  # the group told, None: no group news
    pickup_point: PickupPoint | None
    items: list[Item]
    bargain: Bargain | None = None  # a lapsed bargain's order's bargain


class Words(Protocol):
    """The door's renderer of news (scheduler/news.py)."""

    def group(self, facts: Facts) -> dict[str, Any]: ...

    def member(self, facts: Facts, item: Item) -> dict[str, Any]: ...

    def subscribe(self, facts: Facts, item: Item) -> tuple[str, str, dict[str, Any]]:
        """(template_id, page, data) of the member's subscribe message."""
        ...


async def publish(event: str, *, ref: str, now: datetime, **extra: Any) -> bool:
    """In the causing transaction: the news of ``event`` about ``ref``, once."""
    if event not in EVENTS:
        raise ValueError(f"unknown news {event!r}")
    payload = {"event": event, "ref": ref, **extra}
    return await outbox.enqueue(KIND, payload, dedupe_key=f"news:{event}:{ref}", now=now)


async def fan_out(payload: dict[str, Any], *, words: Words, now: Callable[[], datetime]) -> None:
    """Outbox handler of "news.publish": one "chat.send" row per recipient, once each."""
    at = now()
    facts = await gather(payload, now=at)
    if facts is None:
        return
    key = f"news:{facts.event}:{facts.ref}"
    if facts.community is not None and facts.items:  # 0 份 is no news
        await notify.to_group(
            community=facts.community, message=words.group(facts), dedupe_key=key, now=at
        )
    for item in facts.items:
        if item.told:
            continue
        await to_member(facts, item, words=words, dedupe_key=f"{key}:{item.order.id}", now=at)


async def to_member(
    facts: Facts, item: Item, *, words: Words, dedupe_key: str, now: datetime
) -> str | None:
    """Subscribe message with consent, else customer service within 48 h, else nothing.

    Returns the channel used (``notify.VIA_SUBSCRIBE`` or the chat's, ``notify.to_user``) or None.
    """
    template_id, page, data = words.subscribe(facts, item)
    earlier = ((notify.VIA_SUBSCRIBE, "notify:subscribe"), (notify.VIA_CUSTOM, "notify:user"))
    for via, prefix in earlier:
        if await OutboxMessage.exists(dedupe_key=notify.outbox_key(prefix, dedupe_key)):
            return via  # queued by an earlier run (its consent, if any, is spent)
    if template_id:
        try:
            async with in_transaction():  # the consent is spent only with the message queued
                if await subscriptions.spend(user_id=item.user.id, template_id=template_id):
                    if await notify.subscribe(
                        user=item.user,
                        template_id=template_id,
                        page=page,
                        data=data,
                        dedupe_key=dedupe_key,
                        now=now,
                    ):
                        return notify.VIA_SUBSCRIBE
                    raise _NotSent
        except _NotSent:
            pass
    return await notify.to_user(
        user=item.user, message=words.member(facts, item), dedupe_key=dedupe_key, now=now
    )


class _NotSent(Exception):
    """No mini-program openid: give the consent back (roll the savepoint back)."""


async def gather(payload: dict[str, Any], *, now: datetime | None = None) -> Facts | None:
    """What the news says and to whom, read after the commit; None: nothing to tell."""
    event, ref = payload.get("event"), str(payload.get("ref"))
    if event in (TEAM_SUCCEEDED, TEAM_FAILED):
        return await _team_facts(event, ref)
    if event == ARRIVED:
        return await _arrival_facts(ref, [str(i) for i in payload.get("order_ids", [])])
    if event == REFUNDED:
        return await _refund_facts(ref)
    if event == SHORTAGE:
        return await _shortage_facts(ref, [str(i) for i in payload.get("order_ids", [])])
    if event == ORDER_LAPSING:
        return await _order_facts(ORDER_LAPSING, ref, ref, OrderStatus.PENDING_PAYMENT)
    if event == ORDER_LAPSED:
        why = str(payload.get("cause") or payload.get("again") or "")
        bargain = str(payload.get("bargain_id") or "")
        return await _lapsed_facts(ref, why=why, bargain_id=bargain, now=now)
    if event == PICKUP_REMINDER:
        order_id = str(payload.get("order_id"))
        return await _order_facts(PICKUP_REMINDER, ref, order_id, OrderStatus.READY_FOR_PICKUP)
    if event == AFTER_SALE_REJECTED:
        return await _after_sale_facts(ref)
    if event == AFTER_SALE_ASKED:
        return await _after_sale_asked_facts(ref)
    logger.error("news of unknown kind %r dropped", event)
    return None


async def group_of(team: Team, campaign: Campaign) -> Community | None:
    """The group the team was started in, else its campaign's community."""
    if team.chat_id:
        bound = await Community.get_or_none(chat_id=team.chat_id)
        if bound is not None:
            return bound
    return await Community.get_or_none(id=campaign.community_id)


async def _orders(query: Any) -> list[Order]:
    return list(await query.prefetch_related("user", "sku__product").order_by("created_at"))


def _title(order: Order) -> str:
    return goods_name(order.sku.product.title, order.sku.name)


async def _team_facts(event: str, ref: str) -> Facts | None:
    team = await Team.get_or_none(id=ref)
    if team is None:
        return None
    campaign = await Campaign.get(id=team.campaign_id)
    items = []
    if event == TEAM_SUCCEEDED:
        for order in await _orders(Order.filter(team_id=team.id, status__in=PAID)):
            paid = min(order.amount, team.final_price or order.amount)
            items.append(Item(order, order.user, campaign.title, paid, order.pickup_code or ""))
    else:
        refunds: dict[Any, int] = {}
        for refund in await Refund.filter(order__team_id=team.id, reason=TEAM_FAILED_REASON):
            refunds[refund.order_id] = refunds.get(refund.order_id, 0) + refund.amount
        for order in await _orders(Order.filter(id__in=list(refunds))):
            items.append(Item(order, order.user, campaign.title, refunds[order.id], ""))
        # Seats held and never paid: their orders were cancelled; nothing is owed (amount 0).
        # A seat that lapsed before the deadline was told so then (ORDER_LAPSED): not twice.
        unpaid = Order.filter(team_id=team.id, status=OrderStatus.CANCELLED, paid_at__isnull=True)
        held = await _orders(unpaid.exclude(id__in=list(refunds)))
        told = set(
            await OutboxMessage.filter(
                kind=KIND, dedupe_key__in=[f"news:{ORDER_LAPSED}:{o.id}" for o in held]
            ).values_list("dedupe_key", flat=True)
        )
        for order in held:
            lapsed = f"news:{ORDER_LAPSED}:{order.id}" in told
            items.append(Item(order, order.user, campaign.title, 0, "", told=lapsed))
    return Facts(
        event=event,
        ref=ref,
        title=campaign.title,
        team=team,
        community=await group_of(team, campaign),
        pickup_point=await PickupPoint.get_or_none(community_id=campaign.community_id),
        items=items,
    )


async def _arrival_facts(ref: str, order_ids: list[str]) -> Facts | None:
    arrival = await Arrival.get_or_none(id=ref)
    if arrival is None:
        return None
    # The group hears what arrived, as the arrival recorded it (its orders, in the payload);
    # only those still waiting are told to come: one picked up or refunded since is not.
    found = await _orders(Order.filter(id__in=order_ids))
    items = [
        Item(
            o,
            o.user,
            _title(o),
            o.amount,
            o.pickup_code or "",
            told=o.status is not OrderStatus.READY_FOR_PICKUP,
        )
        for o in found
    ]
    return Facts(
        event=ARRIVED,
        ref=ref,
        title=items[0].title if len({i.title for i in items}) == 1 else "",
        team=None,
        community=await Community.get(id=arrival.community_id),
        pickup_point=await PickupPoint.get_or_none(community_id=arrival.community_id),
        items=items,
    )


async def _refund_facts(ref: str) -> Facts | None:
    refund = await Refund.get_or_none(id=ref)
    if refund is None:
        return None
    order = (await _orders(Order.filter(id=refund.order_id)))[0]
    item = Item(order, order.user, _title(order), refund.amount, "", note=refund.reason)
    return Facts(REFUNDED, ref, item.title, None, None, None, [item])


async def _shortage_facts(ref: str, order_ids: list[str]) -> Facts | None:
    """Each buyer whose order a short delivery could not fill: what goes back to them."""
    owed: dict[Any, int] = {}
    for refund in await Refund.filter(order_id__in=order_ids, reason=SHORTAGE_REASON):
        owed[refund.order_id] = owed.get(refund.order_id, 0) + refund.amount
    found = await _orders(Order.filter(id__in=list(owed)))
    items = [Item(o, o.user, _title(o), owed[o.id], "") for o in found]
    if not items:
        return None
    point = await PickupPoint.get_or_none(community_id=found[0].community_id)
    return Facts(SHORTAGE, ref, items[0].title, None, None, point, items)


async def _order_facts(event: str, ref: str, order_id: str, status: OrderStatus) -> Facts | None:
    """One buyer's news about one order, if the order is still ``status``."""
    found = await _orders(Order.filter(id=order_id, status=status))
    if not found:
        return None  # paid, released or picked up meanwhile: nothing to say
    order = found[0]
    item = Item(order, order.user, _title(order), order.amount, order.pickup_code or "")
    point = await PickupPoint.get_or_none(community_id=order.community_id)
    return Facts(event, ref, item.title, None, None, point, [item])


async def _lapsed_facts(
    ref: str, *, why: str, bargain_id: str, now: datetime | None
) -> Facts | None:
    """The holder of an order cancelled unpaid at its deadline, and their way back.

    A team's seat: which campaign and team, and whether that team can still be joined (open,
    a seat free, its deadline not passed); ``why`` is ``TEAM_SUCCEEDED`` when the team closed
    without them. A direct, flash or bargain's order: ``why`` is what its service found at
    the lapse, "" (it may be bought again) or why not (services/checkout.py); a bargain's
    names its bargain (``bargain_id``), whose code and price the way back gives.
    """
    found = await _orders(Order.filter(id=ref, status=OrderStatus.CANCELLED, paid_at__isnull=True))
    if not found:
        return None
    order = found[0]
    point = await PickupPoint.get_or_none(community_id=order.community_id)
    if order.team_id is None:
        item = Item(order, order.user, _title(order), order.amount, "", note=why, joinable=not why)
        bargain = await Bargain.get_or_none(id=bargain_id) if bargain_id else None
        return Facts(ORDER_LAPSED, ref, item.title, None, None, point, [item], bargain)
    team = await Team.get(id=order.team_id)
    campaign = await Campaign.get(id=team.campaign_id)
    joinable = (
        team.status is TeamStatus.OPEN
        and team.seats_held < team.size
        and (now is None or team.deadline_at > now)
    )
    item = Item(order, order.user, campaign.title, order.amount, "", note=why, joinable=joinable)
    return Facts(ORDER_LAPSED, ref, campaign.title, team, None, point, [item])


async def _after_sale_facts(ref: str) -> Facts | None:
    """The buyer of a rejected after-sales request, told why."""
    sale = await AfterSale.get_or_none(id=ref, status=AfterSaleStatus.REJECTED)
    if sale is None:
        return None
    order = (await _orders(Order.filter(id=sale.order_id)))[0]
    item = Item(order, order.user, _title(order), sale.amount, "", note=sale.note)
    return Facts(AFTER_SALE_REJECTED, ref, item.title, None, None, None, [item])


async def _after_sale_asked_facts(ref: str) -> Facts | None:
    """The leader of the order's community, told of a request that waits for them (a
    leader's own request is an admin's to decide: no news)."""
    sale = await AfterSale.get_or_none(id=ref, status=AfterSaleStatus.PENDING)
    if sale is None or sale.community_id is None:
        return None
    community = await Community.get_or_none(id=sale.community_id)
    if community is None or community.leader_id == sale.user_id:
        return None
    leader = await User.get(id=community.leader_id)
    order = (await _orders(Order.filter(id=sale.order_id)))[0]
    item = Item(
        order, leader, _title(order), sale.amount, "", note=sale.detail, kind=sale.kind.value
    )
    return Facts(AFTER_SALE_ASKED, ref, item.title, None, None, None, [item])
