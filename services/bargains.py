"""Bargains (砍价): an admin opens a SKU, a user starts a bargain, friends cut once each.

Each cut's amount is drawn here, on the server, from what is left above the floor and the
cuts still needed: every cut but the last leaves at least one fen for each cut after it, and
the last needed cut takes exactly what is left, so the floor is reached at the last needed
cut and never passed. A cut holds the bargain's row lock (SELECT ... FOR UPDATE), is one
``bargain_cuts`` row (unique per helper, and per sequence number), and moves the bargain by a
conditional update whose row count is checked (``WHERE cuts_made = $seen AND price_now =
$seen``); CHECK constraints keep ``price_now >= floor_price`` and ``cuts_made <=
cuts_needed`` besides.

The starter buys at the price reached, before the deadline: an order of kind ``bargain``
through the ordinary orders and payments path (prepay, notify). An order that lapses unpaid
gives the unit back (services/checkout.py) and the bargain may be bought again before its
deadline; its starter hears so, or why not (``again``, the lapse news of services/news.py).
The clock expires bargains past their deadline (``expire_due``); the starter hears each cut
and the floor reached through the outbox (``NEWS``, sent by ``tell_starter``).

Closing an offer (``close_offer``) ends it: no bargain starts on it, and in the same
transaction every bargain still running on it (open, or its order lapsed) expires and its
starter is told (``NEWS``, event ``closed``). A bargain whose order was placed stays ordered: a
paid one is bought, and an unpaid one may still be paid within its reservation (the shopper
took the price before the close; cancelling under a payment in flight would only turn it into
a refund), but a lapse then invites no re-order. Start, cut and buy lock what close changes
(the offer's row for share, the bargain's row for update) and read the offer under that lock,
so none of them wins once the close has committed.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.bargain import Bargain, BargainCut, BargainOffer, BargainStatus
from models.catalog import Product, Sku
from models.community import Community
from models.limits import MAX_PRICE
from models.order import Order, OrderKind, OrderStatus
from models.user import User
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound, QunshopError
from qunshop.templates import goods_name
from services import audit, cursors, notify, orders, outbox, prices
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

RESERVATION = timedelta(minutes=15)  # the payment window of a bargain's order
MAX_HELPERS = 500
MAX_HOURS = 720
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
CODE_MAX_LENGTH = 16  # Bargain.code's column: a longer ref is no code
NEWS = "bargain.news"
CUT, REACHED, CLOSED = "cut", "reached", "closed"  # NEWS events
LIVE_ORDER = (
    OrderStatus.PENDING_PAYMENT,
    OrderStatus.PAID_AWAITING_TEAM,
    OrderStatus.CONFIRMED,
    OrderStatus.READY_FOR_PICKUP,
    OrderStatus.PICKED_UP,
    OrderStatus.COMPLETED,
)


class State:
    """A bargain as people see it (API, page, chat)."""

    OPEN = "open"  # friends may cut
    REACHED = "reached"  # the floor is reached: buy before the deadline
    ORDERED = "ordered"  # the order awaits payment
    PURCHASED = "purchased"
    EXPIRED = "expired"
    CLOSED = "closed"  # its offer was closed before it was bought


@dataclass(frozen=True)
class OfferSpec:
    sku_id: str
    floor_price: int  # fen
    helpers_needed: int
    hours: int
    new_users_only: bool = False


@dataclass(frozen=True)
class View:
    bargain: Bargain
    state: str
    title: str  # the product and its SKU
    image: str
    cuts: list[tuple[str, int]]  # (helper's nickname, fen), first cut first
    order: Order | None

    path = "pages/bargain/index"  # the mini-program page a shared card opens

    @property
    def query(self) -> str:
        return f"code={self.bargain.code}"

    @property
    def cuts_left(self) -> int:
        return self.bargain.cuts_needed - self.bargain.cuts_made

    @property
    def cut_so_far(self) -> int:
        return self.bargain.start_price - self.bargain.price_now


@dataclass(frozen=True)
class Started:
    """What ``start`` gives: the caller's bargain on the offer, and whether it is new (False:
    they had one running, which goes on; starting again is no news to its friends)."""

    view: View
    new: bool

    @property
    def bargain(self) -> Bargain:
        return self.view.bargain


@dataclass(frozen=True)
class CutResult:
    bargain: Bargain
    cut: BargainCut


def _invalid(field: str, msg: str) -> Invalid:
    return Invalid(
        ErrorCode.BARGAIN_OFFER_INVALID,
        f"{field}: {msg}",
        errors=[{"loc": ["offer", field], "msg": msg, "type": "invalid_bargain_offer"}],
    )


def draw(remaining: int, left: int, *, rand: Any = secrets) -> int:
    """One cut of ``remaining`` fen above the floor, with ``left`` cuts still needed.

    The last cut takes all that is left; any other takes between half and twice its even
    share, and always leaves one fen for each cut after it.
    """
    if left < 1 or remaining < left:
        raise ValueError(f"cannot cut {remaining} fen in {left} cuts of at least one fen")
    if left == 1:
        return remaining
    share = remaining // left
    low = max(1, share // 2)
    high = max(low, min(remaining - (left - 1), 2 * share))
    return int(low + rand.randbelow(high - low + 1))


# Offers (admins) ----------------------------------------------------------------------------


async def _sku(sku_id: str) -> Sku:
    key = parse_uuid(sku_id)
    sku = await Sku.get_or_none(id=key).prefetch_related("product") if key else None
    if sku is None or not sku.product.active:
        raise NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    return sku


def _check_room(price: int, floor_price: int, helpers: int) -> None:
    if price - floor_price < helpers:
        raise _invalid(
            "floor_price",
            f"the SKU's price ({price} fen) must be at least one fen per helper above the floor",
        )


async def open_offer(*, principal: Principal, spec: OfferSpec, now: datetime) -> BargainOffer:
    if not 1 <= spec.floor_price <= MAX_PRICE:
        raise _invalid("floor_price", f"the floor in fen must be 1..{MAX_PRICE}")
    if not 1 <= spec.helpers_needed <= MAX_HELPERS:
        raise _invalid("helpers_needed", f"a bargain needs 1..{MAX_HELPERS} helpers")
    if not 1 <= spec.hours <= MAX_HOURS:
        raise _invalid("hours", f"a bargain runs 1..{MAX_HOURS} hours")
    audit.ensure_admin(principal)
    sku = await _sku(spec.sku_id)
    prices.ensure_not_above_list(sku, {"floor_price": spec.floor_price})
    _check_room(sku.price, spec.floor_price, spec.helpers_needed)
    async with in_transaction():
        offer = await BargainOffer.create(
            sku=sku,
            floor_price=spec.floor_price,
            helpers_needed=spec.helpers_needed,
            hours=spec.hours,
            new_users_only=spec.new_users_only,
            created_by_id=principal.user_id,
            created_at=now,
        )
        await audit.record(
            actor=principal,
            action="bargain_offer.open",
            target=f"bargain_offer:{offer.id}",
            before={},
            after={**dataclasses.asdict(spec), "sku_id": str(sku.id)},
            now=now,
        )
    logger.info("bargain offer %s opened on SKU %s", offer.id, sku.id)
    return offer


async def get_offer(offer_id: str) -> BargainOffer:
    key = parse_uuid(offer_id)
    offer = await BargainOffer.get_or_none(id=key).prefetch_related("sku__product") if key else None
    if offer is None:
        raise NotFound(ErrorCode.BARGAIN_OFFER_NOT_FOUND, "no such bargain offer")
    return offer


# Every bargain still running on an offer (open, or its order lapsed unpaid) ends with it: one
# statement, each row re-checked under its lock (a cut or a buy holding it finishes first).
_END_RUNNING = f"""
UPDATE bargains SET status = '{BargainStatus.EXPIRED.value}'
WHERE offer_id = $1 AND (
    status = '{BargainStatus.OPEN.value}'
    OR (status = '{BargainStatus.ORDERED.value}' AND EXISTS (
        SELECT 1 FROM orders
        WHERE orders.id = bargains.order_id AND orders.status = '{OrderStatus.CANCELLED.value}'
    ))
)
RETURNING id
"""


async def close_offer(*, principal: Principal, offer_id: str, now: datetime) -> BargainOffer:
    """No bargain starts on it any more, and those running on it end now: their starters are
    told. An order already placed stays: paid, it is bought; unpaid, it may be paid within
    its reservation. Idempotent: closing again ends nothing more."""
    audit.ensure_admin(principal)
    offer = await get_offer(offer_id)
    async with in_transaction() as conn:
        closed = await BargainOffer.filter(id=offer.id, active=True).update(active=False)
        ended = await conn.execute_query_dict(_END_RUNNING, [offer.id])
        for row in ended:
            await outbox.enqueue(
                NEWS,
                {"bargain_id": str(row["id"]), "event": CLOSED, "seq": 0},
                dedupe_key=f"bargain:{row['id']}:{CLOSED}",
                now=now,
            )
        if closed:
            await audit.record(
                actor=principal,
                action="bargain_offer.close",
                target=f"bargain_offer:{offer.id}",
                before={"active": True},
                after={"active": False, "bargains_ended": len(ended)},
                now=now,
            )
    if ended:
        logger.info("bargain offer %s closed: %s bargains ended", offer.id, len(ended))
    offer.active = False
    return offer


def _offer_closed() -> Conflict:
    return Conflict(ErrorCode.BARGAIN_OFFER_CLOSED, "this bargain offer has closed")


async def _offer_active(offer_id: Any) -> bool:
    return await BargainOffer.filter(id=offer_id, active=True).exists()


async def all_offers(*, limit: int = 100) -> list[BargainOffer]:
    """Every offer, newest first (the console)."""
    found = (
        await BargainOffer.all()
        .prefetch_related("sku__product")
        .order_by("-created_at", "id")
        .limit(limit)
    )
    return list(found)


async def list_offers(*, community: Community | None = None) -> list[BargainOffer]:
    """The open offers, oldest first (chat numbers them so); a community sees the shop's
    offers and its own products'."""
    found = (
        await BargainOffer.filter(active=True, sku__product__active=True)
        .prefetch_related("sku__product")
        .order_by("created_at", "id")
    )
    if community is None:
        return list(found)
    return [o for o in found if o.sku.product.community_id in (None, community.id)]


# Starting, reading ---------------------------------------------------------------------------


def _new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


async def start(
    *, principal: Principal, offer_id: str, now: datetime, chat_id: str | None = None
) -> Started:
    """The caller's bargain on the offer: the one still theirs to act on if they have it
    (``new`` False: being cut, its order awaiting payment, or lapsed before its deadline and
    bought again at the price reached), else a new one."""
    bargain, new = await _start(principal=principal, offer_id=offer_id, now=now, chat_id=chat_id)
    return Started(view=(await _views([bargain], now=now))[0], new=new)


async def _start(
    *, principal: Principal, offer_id: str, now: datetime, chat_id: str | None
) -> tuple[Bargain, bool]:
    offer = await get_offer(offer_id)
    if not _open(offer):
        raise _offer_closed()
    live = await Bargain.filter(
        offer_id=offer.id, starter_id=principal.user_id, status__not=BargainStatus.EXPIRED
    ).first()
    if live is not None:
        if live.status is BargainStatus.OPEN and live.deadline_at > now:
            return live, False
        if await _unbought(live, now):
            return live, False
        raise Conflict(ErrorCode.BARGAIN_ALREADY_STARTED, "you already bargained for this")
    if not _room(offer):  # the SKU's price fell since
        raise _offer_closed()
    price = offer.sku.price
    for _ in range(5):  # a code clash is a one-in-10^11 event; try a few
        try:
            async with in_transaction() as conn:
                # The offer's row, shared with other starts: a close (which updates it) waits
                # for this bargain to commit and then ends it, or this start waits for the
                # close and finds the offer closed.
                _, still = await conn.execute_query(_OFFER_OPEN, [offer.id])
                if not still:
                    raise _offer_closed()
                bargain = await Bargain.create(
                    code=_new_code(),
                    offer=offer,
                    starter_id=principal.user_id,
                    sku_id=offer.sku_id,
                    start_price=price,
                    floor_price=offer.floor_price,
                    price_now=price,
                    cuts_needed=offer.helpers_needed,
                    new_users_only=offer.new_users_only,
                    deadline_at=now + timedelta(hours=offer.hours),
                    chat_id=chat_id,
                    created_at=now,
                )
        except IntegrityError:
            if await Bargain.filter(
                offer_id=offer.id, starter_id=principal.user_id, status=BargainStatus.OPEN
            ).exists():  # a concurrent start of the same person won
                return await _start(principal=principal, offer_id=offer_id, now=now, chat_id=None)
            continue
        logger.info("bargain %s started on offer %s", bargain.code, offer.id)
        return bargain, True
    raise RuntimeError("could not draw a free bargain code")


_OFFER_OPEN = "SELECT 1 FROM bargain_offers WHERE id = $1 AND active FOR SHARE"


async def _unbought(bargain: Bargain, now: datetime) -> bool:
    """An ordered bargain still to pay: its order awaits payment, or lapsed unpaid before the
    bargain's deadline (it may be bought again). Read only when a start finds one ordered."""
    if bargain.order_id is None:
        return False
    status = await Order.filter(id=bargain.order_id).first().values_list("status", flat=True)
    lapsed = status == OrderStatus.CANCELLED and bargain.deadline_at > now
    return status == OrderStatus.PENDING_PAYMENT or lapsed


# A bargain may start on an offer (its SKU and product loaded) that is open, its product on
# sale, and with room: the SKU's price still a fen per helper above the floor.
def _open(offer: BargainOffer) -> bool:
    return offer.active and offer.sku.product.active


def _room(offer: BargainOffer) -> bool:
    return offer.sku.price - offer.floor_price >= offer.helpers_needed


async def find(ref: str) -> Bargain:
    """A bargain by its code (or its id)."""
    key, code = parse_uuid(ref), ref.strip().upper()
    if key:
        found = await Bargain.get_or_none(id=key)
    elif 0 < len(code) <= CODE_MAX_LENGTH and "\x00" not in code:
        found = await Bargain.get_or_none(code=code)
    else:  # no bargain's code (and the column would refuse it: a 500, not a 404)
        found = None
    if found is None:
        raise NotFound(ErrorCode.BARGAIN_NOT_FOUND, "no such bargain")
    return found


def _state(bargain: Bargain, order: Order | None, now: datetime, *, offer_active: bool) -> str:
    if order is not None and order.status in LIVE_ORDER:
        if order.status is OrderStatus.PENDING_PAYMENT:
            return State.ORDERED
        return State.PURCHASED
    if not offer_active:
        return State.CLOSED
    if bargain.status is BargainStatus.EXPIRED or bargain.deadline_at <= now:
        return State.EXPIRED
    if bargain.cuts_made >= bargain.cuts_needed or bargain.status is BargainStatus.ORDERED:
        return State.REACHED  # cutting is over (an order lapsed): buy at the price reached
    return State.OPEN


async def view(ref: str, *, now: datetime) -> View:
    return (await _views([await find(ref)], now=now))[0]


MAX_PAGE = 100


async def mine(
    *, principal: Principal, now: datetime, limit: int = 20, cursor: str | None = None
) -> tuple[list[View], str | None]:
    """The caller's bargains, newest first, ``limit`` at a time after ``cursor``; and the
    cursor of the next page (None: this was the last)."""
    found, more = await cursors.page(
        Bargain.filter(starter_id=principal.user_id),
        limit=min(max(limit, 1), MAX_PAGE),
        cursor=cursor,
    )
    return await _views(found, now=now), more


async def _views(found: list[Bargain], *, now: datetime) -> list[View]:
    """The bargains as people see them, in the same few queries however many there are (one
    each for their SKUs, orders, cuts and open offers)."""
    if not found:
        return []
    skus = {
        s.id: s
        for s in await Sku.filter(id__in=list({b.sku_id for b in found})).select_related("product")
    }
    order_ids = [b.order_id for b in found if b.order_id]
    placed = {o.id: o for o in await Order.filter(id__in=order_ids)} if order_ids else {}
    cuts: dict[Any, list[tuple[str, int]]] = {}
    rows = BargainCut.filter(bargain_id__in=[b.id for b in found]).select_related("helper")
    for c in await rows.order_by("bargain_id", "seq"):
        cuts.setdefault(c.bargain_id, []).append((c.helper.nickname, c.amount))
    active = set(
        await BargainOffer.filter(
            id__in=list({b.offer_id for b in found}), active=True
        ).values_list("id", flat=True)
    )
    views = []
    for bargain in found:
        sku = skus[bargain.sku_id]
        order = placed.get(bargain.order_id) if bargain.order_id else None
        images = sku.product.images if isinstance(sku.product.images, list) else []
        image = str(images[0]) if images else ""
        views.append(
            View(
                bargain=bargain,
                state=_state(bargain, order, now, offer_active=bargain.offer_id in active),
                title=goods_name(sku.product.title, sku.name),
                image=image if image.startswith(("https://", "http://")) else "",
                cuts=cuts.get(bargain.id, []),
                order=order,
            )
        )
    return views


# Cutting ------------------------------------------------------------------------------------


async def _has_paid(user_id: Any) -> bool:
    return await Order.filter(user_id=user_id, paid_at__isnull=False).exists()


async def cut(*, principal: Principal, ref: str, now: datetime) -> CutResult:
    """One cut by the caller, its amount drawn here; refused past the floor or the deadline,
    to the starter, to a second cut of the same person, and (new-users-only) to people who
    have paid before."""
    found = await find(ref)
    helper_id = principal.user_id
    if found.starter_id == helper_id:
        raise Conflict(ErrorCode.BARGAIN_OWN_CUT, "you cannot cut your own bargain")
    if found.new_users_only and await _has_paid(helper_id):
        raise Conflict(ErrorCode.BARGAIN_NEW_USERS_ONLY, "only new customers may cut this one")
    try:
        async with in_transaction():
            bargain = await Bargain.filter(id=found.id).select_for_update().get()
            if bargain.status is not BargainStatus.OPEN or bargain.deadline_at <= now:
                # Its offer closed (the close ended it under this lock), or it ran out.
                if not await _offer_active(bargain.offer_id):
                    raise _offer_closed()
                raise Conflict(ErrorCode.BARGAIN_CLOSED, "this bargain has closed")
            if bargain.cuts_made >= bargain.cuts_needed:
                raise Conflict(ErrorCode.BARGAIN_FLOOR_REACHED, "the floor price is reached")
            if await BargainCut.exists(bargain_id=bargain.id, helper_id=helper_id):
                raise Conflict(ErrorCode.BARGAIN_ALREADY_CUT, "you have cut this bargain")
            seq = bargain.cuts_made + 1
            amount = draw(bargain.price_now - bargain.floor_price, bargain.cuts_needed - seq + 1)
            made = await BargainCut.create(
                bargain_id=bargain.id, helper_id=helper_id, seq=seq, amount=amount, created_at=now
            )
            moved = await Bargain.filter(
                id=bargain.id,
                status=BargainStatus.OPEN,
                cuts_made=bargain.cuts_made,
                price_now=bargain.price_now,
                cuts_needed__gte=seq,
                price_now__gte=F("floor_price") + amount,
            ).update(cuts_made=F("cuts_made") + 1, price_now=F("price_now") - amount)
            if moved != 1:
                raise Conflict(ErrorCode.BARGAIN_CLOSED, "the bargain moved meanwhile")
            event = REACHED if seq == bargain.cuts_needed else CUT
            await outbox.enqueue(
                NEWS,
                {"bargain_id": str(bargain.id), "event": event, "seq": seq},
                dedupe_key=f"bargain:{bargain.id}:{seq}",
                now=now,
            )
    except IntegrityError:  # the unique key: a concurrent cut of the same person won
        raise Conflict(ErrorCode.BARGAIN_ALREADY_CUT, "you have cut this bargain") from None
    bargain.cuts_made, bargain.price_now = seq, bargain.price_now - amount
    return CutResult(bargain=bargain, cut=made)


# Buying --------------------------------------------------------------------------------------


async def _community_of(sku: Sku) -> Community | None:
    if sku.product.community_id is None:
        return None
    return await Community.get_or_none(id=sku.product.community_id)


async def buy(*, principal: Principal, ref: str, now: datetime) -> Order:
    """The starter's order at the price reached, its unit held for the payment window."""
    found = await find(ref)
    if found.starter_id != principal.user_id:  # its code is public (the shared card): say so
        raise Forbidden(
            ErrorCode.BARGAIN_NOT_YOURS,
            "only the bargain's starter buys at its price: cut it, or start your own",
            bargain_code=found.code,
        )
    sku = await Sku.get(id=found.sku_id).prefetch_related("product")
    community = await _community_of(sku)
    async with in_transaction():
        bargain = await Bargain.filter(id=found.id).select_for_update().get()
        earlier = await Order.get_or_none(id=bargain.order_id) if bargain.order_id else None
        if earlier is not None and earlier.status in LIVE_ORDER:
            raise Conflict(ErrorCode.BARGAIN_ALREADY_ORDERED, "this bargain is already ordered")
        offer_active = await _offer_active(bargain.offer_id)  # read under the bargain's lock
        refused = _refusal(bargain, sku.product, now, offer_active=offer_active)
        if refused is not None:
            raise refused
        taken = await Sku.filter(id=sku.id, stock__gte=1).update(stock=F("stock") - 1)
        if taken != 1:
            raise Conflict(ErrorCode.OUT_OF_STOCK, "this item is out of stock")
        order = await Order.create(
            out_trade_no=orders.new_out_trade_no(now),
            kind=OrderKind.BARGAIN,
            user_id=bargain.starter_id,
            community=community,
            sku_id=sku.id,
            quantity=1,
            unit_price=bargain.price_now,
            amount=bargain.price_now,
            reserved_until=now + RESERVATION,
            chat_id=bargain.chat_id,
        )
        moved = await Bargain.filter(
            id=bargain.id, status=bargain.status, order_id=bargain.order_id
        ).update(status=BargainStatus.ORDERED, order_id=order.id)
        if moved != 1:
            raise Conflict(ErrorCode.BARGAIN_CLOSED, "the bargain moved meanwhile")
    logger.info("bargain %s ordered at %s fen (order %s)", bargain.code, order.amount, order.id)
    return order


def _refusal(
    bargain: Bargain, product: Product, now: datetime, *, offer_active: bool
) -> QunshopError | None:
    """Why the starter may not order at the price reached (None: they may): its offer closed,
    the bargain expired, or its product was taken off sale (refused as a direct order
    refuses it)."""
    if not offer_active:
        return _offer_closed()
    if bargain.status is BargainStatus.EXPIRED or bargain.deadline_at <= now:
        return Conflict(ErrorCode.BARGAIN_CLOSED, "this bargain has closed")
    if not product.active:
        return NotFound(ErrorCode.SKU_NOT_FOUND, "no such SKU")
    return None


# The clock -----------------------------------------------------------------------------------


async def expire_due(*, now: datetime, limit: int = 500) -> int:
    """Bargains past their deadline and not bought expire (an order that lapsed counts as not
    bought). Idempotent: each is a conditional update on the row as read."""
    due = (
        await Bargain.filter(status=BargainStatus.OPEN, deadline_at__lte=now)
        .limit(limit)
        .values_list("id", flat=True)
    )
    expired = 0
    if due:
        expired = await Bargain.filter(
            id__in=list(due), status=BargainStatus.OPEN, deadline_at__lte=now
        ).update(status=BargainStatus.EXPIRED)
    lapsed = (
        await Bargain.filter(
            status=BargainStatus.ORDERED,
            deadline_at__lte=now,
            order__status=OrderStatus.CANCELLED,
        )
        .limit(limit)
        .values_list("id", "order_id")
    )
    for bargain_id, order_id in lapsed:
        expired += await Bargain.filter(
            id=bargain_id, status=BargainStatus.ORDERED, order_id=order_id
        ).update(status=BargainStatus.EXPIRED)
    if expired:
        logger.info("%s bargains expired", expired)
    return expired


# Why the starter of a lapsed bargain order cannot buy at the price reached again ("": they
# may, until the bargain's deadline): its deadline passed (a new bargain may start), or its
# product is off sale or its offer closed (nothing more to buy or start).
EXPIRED, ENDED = "bargain_expired", "bargain_ended"


async def again(order: Order, *, now: datetime) -> tuple[Bargain | None, str]:
    """Inside the lapse's transaction (services/checkout.py): the bargain of a lapsed order,
    and whether its starter may buy at its price again (``buy``'s rule) or why not."""
    bargain = await Bargain.get_or_none(order_id=order.id).prefetch_related("offer__sku__product")
    if bargain is None:
        return None, ENDED
    offer = bargain.offer
    if _refusal(bargain, offer.sku.product, now, offer_active=offer.active) is None:
        return bargain, ""
    return bargain, EXPIRED if _open(offer) and _room(offer) else ENDED


async def next_deadline() -> datetime | None:
    first = await Bargain.filter(status=BargainStatus.OPEN).order_by("deadline_at").first()
    return first.deadline_at if first else None


# News to the starter --------------------------------------------------------------------------


async def tell_starter(payload: dict[str, Any], *, render: Any, now: Any) -> None:
    """Outbox handler of ``NEWS``: the starter hears a cut (or the floor reached), or that the
    offer closed and ended their bargain, in the chat they use, rendered by the door's
    ``render(event, view, cut)`` (``cut`` is None for ``CLOSED``)."""
    try:
        found = await view(str(payload["bargain_id"]), now=now())
    except NotFound:
        return
    event = str(payload.get("event", CUT))
    if event == CLOSED:
        if found.state != State.CLOSED:  # bought meanwhile? Nothing to tell
            return
        text, key = render(CLOSED, found, None), f"bargain:{found.bargain.id}:{CLOSED}"
    else:
        seq = int(payload.get("seq", 0))
        cut_row = await BargainCut.get_or_none(bargain_id=found.bargain.id, seq=seq).select_related(
            "helper"
        )
        if cut_row is None:
            return
        text, key = render(event, found, cut_row), f"bargain:{found.bargain.id}:{seq}"
    starter = await User.get(id=found.bargain.starter_id)
    await reach(starter, text, dedupe_key=key, now=now())


async def reach(user: User, text: str, *, dedupe_key: str, now: datetime) -> bool:
    """A text to the user where they chat (``notify.to_user``)."""
    via = await notify.to_user(user=user, message=notify.text(text), dedupe_key=dedupe_key, now=now)
    return via is not None
