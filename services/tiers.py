"""Member tiers: growth from paid GMV minus refunds over a rolling window, levels an admin
defines, and the perks they give.

- Growth is the amount of the member's orders paid within the last ``window_days`` (an
  order's ``paid_at`` is set only when its payment was honoured), less what was refunded of
  those orders (refunds not closed as failed).
- The earned level is the highest whose threshold the growth reaches. A rise counts at once;
  a fall counts only from the next month (a level once set holds for the rest of the month
  it was set in, in the shop's time zone), unless the rules say ``lower_mid_month``.
- Recalculated in the transaction of every honoured payment and every refund owed
  (``on_money_moved``: a rolled-back payment changes nothing, and a failing recalculation
  never holds a payment up), on the first read of a new month, and on the first read after
  the admin changed the ladder (``standing``, by ``ladder_version``).
- Months are read in the ladder's time zone (``TierRules.timezone``, Asia/Shanghai unless an
  admin sets another).

Other services take a member's perks from ``perks_for``: the tier discount on group prices,
the points multiplier, the monthly coupon pack (coupon template ids).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models.limits import INT_MAX
from models.tier import MemberTier, TierLevel, TierRules
from qunshop.errors import ErrorCode, Invalid
from services import audit, coupon_grants
from services.ids import parse_uuid

if TYPE_CHECKING:
    from services.auth import Principal

logger = logging.getLogger(__name__)

RULES_ID = 1
DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_WINDOW_DAYS = 365
MAX_LEVELS = 20
MAX_COUPONS = 10
DISCOUNT_BPS = (0, 5000)
MULTIPLIER_PCT = (100, 1000)
WINDOW_DAYS = (1, 730)


@dataclass(frozen=True)
class Perks:
    discount_bps: int = 0  # off group prices, in 1/10000
    points_multiplier_pct: int = 100  # 150: points x1.5
    monthly_coupon_template_ids: tuple[str, ...] = ()


NO_PERKS = Perks()


@dataclass(frozen=True)
class LevelSpec:
    name: str
    threshold: int  # fen of growth
    discount_bps: int = 0
    points_multiplier_pct: int = 100
    coupon_template_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Ladder:
    window_days: int = DEFAULT_WINDOW_DAYS
    lower_mid_month: bool = False
    timezone: str = DEFAULT_TZ
    levels: tuple[LevelSpec, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Standing:
    level: TierLevel | None
    growth: int
    next_level: TierLevel | None
    window_days: int
    recalculated: bool = False  # True: calculated just now, from the member's money as it stands

    @property
    def to_next(self) -> int | None:
        """Growth still needed for the next level; None at the top."""
        return None if self.next_level is None else max(self.next_level.threshold - self.growth, 0)

    @property
    def perks(self) -> Perks:
        return perks_of(self.level)


def perks_of(level: TierLevel | None) -> Perks:
    if level is None:
        return NO_PERKS
    return Perks(
        discount_bps=level.discount_bps,
        points_multiplier_pct=level.points_multiplier_pct,
        monthly_coupon_template_ids=tuple(str(i) for i in level.coupon_template_ids or ()),
    )


def month_of(now: datetime, tz: str) -> str:
    return now.astimezone(ZoneInfo(tz)).strftime("%Y-%m")


# The ladder (admins) ------------------------------------------------------------------------


def _invalid(loc: list[Any], msg: str) -> Invalid:
    return Invalid(
        ErrorCode.TIER_LADDER_INVALID,
        f"{'.'.join(str(p) for p in loc)}: {msg}",
        errors=[{"loc": ["ladder", *loc], "msg": msg, "type": "invalid_tier_ladder"}],
    )


def _check(ladder: Ladder) -> None:
    if not WINDOW_DAYS[0] <= ladder.window_days <= WINDOW_DAYS[1]:
        raise _invalid(["window_days"], "the window is 1..730 days")
    try:
        ZoneInfo(ladder.timezone)
    except (ValueError, KeyError, OSError):
        raise _invalid(["timezone"], "an IANA time zone, like Asia/Shanghai") from None
    if len(ladder.levels) > MAX_LEVELS:
        raise _invalid(["levels"], f"at most {MAX_LEVELS} levels")
    names, thresholds = set(), set()
    for i, level in enumerate(ladder.levels):
        name = level.name.strip()
        if not name or len(name) > 32:
            raise _invalid(["levels", i, "name"], "a name of 1..32 characters")
        if name in names:
            raise _invalid(["levels", i, "name"], "two levels share this name")
        if not 0 <= level.threshold <= INT_MAX or level.threshold in thresholds:
            raise _invalid(["levels", i, "threshold"], "thresholds are distinct, 0 or more")
        if not DISCOUNT_BPS[0] <= level.discount_bps <= DISCOUNT_BPS[1]:
            raise _invalid(["levels", i, "discount_bps"], "a discount of 0..5000 bps")
        if not MULTIPLIER_PCT[0] <= level.points_multiplier_pct <= MULTIPLIER_PCT[1]:
            raise _invalid(["levels", i, "points_multiplier_pct"], "a multiplier of 100..1000 %")
        if len(level.coupon_template_ids) > MAX_COUPONS:
            raise _invalid(["levels", i, "coupon_template_ids"], f"at most {MAX_COUPONS}")
        if any(parse_uuid(c) is None for c in level.coupon_template_ids):
            raise _invalid(["levels", i, "coupon_template_ids"], "coupon template ids")
        names.add(name)
        thresholds.add(level.threshold)


async def rules() -> TierRules:
    found = await TierRules.get_or_none(id=RULES_ID)
    return found or TierRules(
        id=RULES_ID,
        window_days=DEFAULT_WINDOW_DAYS,
        lower_mid_month=False,
        timezone=DEFAULT_TZ,
        ladder_version=0,
    )


async def levels() -> list[TierLevel]:
    return list(await TierLevel.all().order_by("threshold"))


def _plain(the_rules: TierRules, ladder: list[TierLevel]) -> dict[str, Any]:
    return {
        "window_days": the_rules.window_days,
        "lower_mid_month": the_rules.lower_mid_month,
        "timezone": the_rules.timezone,
        "levels": [
            {
                "name": lv.name,
                "threshold": lv.threshold,
                "discount_bps": lv.discount_bps,
                "points_multiplier_pct": lv.points_multiplier_pct,
                "coupon_template_ids": [str(i) for i in lv.coupon_template_ids or ()],
            }
            for lv in ladder
        ],
    }


async def set_ladder(
    ladder: Ladder, *, actor: Principal, now: datetime
) -> tuple[TierRules, list[TierLevel]]:
    """Replace the ladder (under the rules row's lock, so two admins' ladders never mix):
    levels kept by name (their members keep them), new ones made, the missing removed. A
    change raises the ladder's version: every member is recalculated on their next read
    (``standing``), their next payment or refund."""
    audit.ensure_admin(actor)
    _check(ladder)
    async with in_transaction():
        await TierRules.filter(id=RULES_ID).select_for_update().first()
        before = _plain(await rules(), await levels())
        values = {
            "window_days": ladder.window_days,
            "lower_mid_month": ladder.lower_mid_month,
            "timezone": ladder.timezone,
        }
        if not await TierRules.filter(id=RULES_ID).update(**values):
            await TierRules.create(id=RULES_ID, **values)
        wanted = {level.name.strip(): level for level in ladder.levels}
        await TierLevel.exclude(name__in=list(wanted)).delete()
        for name, spec in wanted.items():
            values = {
                "threshold": spec.threshold,
                "discount_bps": spec.discount_bps,
                "points_multiplier_pct": spec.points_multiplier_pct,
                "coupon_template_ids": [str(i) for i in spec.coupon_template_ids],
            }
            if not await TierLevel.filter(name=name).update(**values):
                await TierLevel.create(name=name, **values)
        after = _plain(await rules(), await levels())
        if after != before:
            # Members calculated under the old ladder are recalculated on their next read.
            await TierRules.filter(id=RULES_ID).update(ladder_version=F("ladder_version") + 1)
            await audit.record(
                actor=actor,
                action="tiers.ladder",
                target="tiers",
                before=before,
                after=after,
                now=now,
            )
    logger.info("tier ladder set: %s", ", ".join(f"{n}>={s.threshold}" for n, s in wanted.items()))
    return await rules(), await levels()


# Growth and the member's level ---------------------------------------------------------------


_GROWTH_SQL = "SELECT qunshop_member_growth($1, $2) AS growth"


async def growth_of(user_id: uuid.UUID, *, since: datetime) -> int:
    """Paid within the window, less every refund of those orders not closed as failed: the
    rule is ``qunshop_member_growth`` (migration 0220), which the payment's recalculation
    without a ladder (``qunshop_tiers_without_ladder``) asks too."""
    _, rows = await connections.get("default").execute_query(_GROWTH_SQL, [user_id, since])
    return int(rows[0]["growth"])


def _earned(ladder: list[TierLevel], growth: int) -> TierLevel | None:
    reached = [level for level in ladder if level.threshold <= growth]
    return reached[-1] if reached else None


def _rank(level: TierLevel | None) -> int:
    return -1 if level is None else level.threshold


def _held(
    *,
    new: bool,
    earned: TierLevel | None,
    current: TierLevel | None,
    the_rules: TierRules,
    row: MemberTier | None,
    month: str,
) -> tuple[TierLevel | None, str]:
    """The level that holds now, and the month it is held for. A rise counts at once; a fall
    only once the month it was held for is over, or whenever the rules allow lowering
    mid-month."""
    if (
        new
        or row is None
        or _rank(earned) >= _rank(current)
        or the_rules.lower_mid_month
        or row.held_month != month
    ):
        return earned, month
    return current, row.held_month  # held for the rest of this month


async def _locked_row(user_id: uuid.UUID, now: datetime, month: str) -> tuple[MemberTier, bool]:
    """Inside the caller's transaction: the member's row, locked; made if missing."""
    row = await MemberTier.filter(user_id=user_id).select_for_update().first()
    if row is not None:
        return row, False
    try:
        async with in_transaction():  # a savepoint: a concurrent first recalculation may win
            made = await MemberTier.create(
                user_id=user_id, growth=0, held_month=month, recalculated_at=now
            )
        return made, True
    except IntegrityError:
        return await MemberTier.filter(user_id=user_id).select_for_update().get(), False


async def recalculate(user_id: uuid.UUID | str, *, now: datetime) -> Standing:
    """The member's growth now, and their level by the rules (a fall waits for next month)."""
    key = uuid.UUID(str(user_id))
    async with in_transaction():
        the_rules = await rules()
        month = month_of(now, the_rules.timezone)
        ladder = await levels()
        row, new = await _locked_row(key, now, month)
        growth = await growth_of(key, since=now - timedelta(days=the_rules.window_days))
        earned = _earned(ladder, growth)
        current = next((lv for lv in ladder if lv.id == row.level_id), None)
        level, held = _held(
            new=new, earned=earned, current=current, the_rules=the_rules, row=row, month=month
        )
        await MemberTier.filter(id=row.id).update(
            level_id=level.id if level else None,
            growth=growth,
            held_month=held,
            recalculated_at=now,
            ladder_version=the_rules.ladder_version,
        )
    if level is not None and (new or _rank(level) > _rank(current)):
        await coupon_grants.on_tier_upgrade(user_id=key, tier=level.name, now=now)
    if level is not None and level.coupon_template_ids and (new or row.held_month != month):
        # The month's pack, on the first calculation of the month (once per tier and month).
        await coupon_grants.grant_pack(
            user_id=key,
            template_ids=[uuid.UUID(str(i)) for i in level.coupon_template_ids],
            pack=f"{level.name}:{month}",
            now=now,
        )
    if _rank(level) != _rank(current):
        logger.info(
            "member %s: tier %s -> %s (growth %s)",
            key,
            current.name if current else "-",
            level.name if level else "-",
            growth,
        )
    higher = [lv for lv in ladder if lv.threshold > _rank(level)]
    return Standing(
        level=level,
        growth=growth,
        next_level=higher[0] if higher else None,
        window_days=the_rules.window_days,
        recalculated=True,
    )


async def standing(user_id: uuid.UUID | str, *, now: datetime) -> Standing:
    """The member's level as held now; recalculated first on the first read of a month (when
    a fall may count), if never calculated, or if calculated under an older ladder."""
    row = await MemberTier.get_or_none(user_id=user_id)
    the_rules = await rules()
    if (
        row is None
        or row.held_month != month_of(now, the_rules.timezone)
        or row.ladder_version != the_rules.ladder_version
    ):
        return await recalculate(user_id, now=now)
    ladder = await levels()
    level = next((lv for lv in ladder if lv.id == row.level_id), None)
    higher = [lv for lv in ladder if lv.threshold > _rank(level)]
    return Standing(
        level=level,
        growth=row.growth,
        next_level=higher[0] if higher else None,
        window_days=the_rules.window_days,
    )


async def perks_for(user_id: uuid.UUID | str, *, now: datetime) -> Perks:
    """What the member's tier gives: for pricing (discount on group prices), points (the
    multiplier) and coupons (the monthly pack)."""
    return (await standing(user_id, now=now)).perks


async def discount_bps_for(user_id: uuid.UUID | str, *, now: datetime) -> int:
    """The member's discount on group prices, for pricing an order as it is made: the level
    ``standing`` would hold now, read only (no write, no coupon granted: those follow payments,
    refunds and the member's own reads). One cheap query while no level gives a discount."""
    if not await TierLevel.filter(discount_bps__gt=0).exists():
        return 0
    the_rules = await rules()
    ladder = await levels()
    row = await MemberTier.get_or_none(user_id=user_id)
    month = month_of(now, the_rules.timezone)
    current = next((lv for lv in ladder if row and lv.id == row.level_id), None)
    if row is not None and (row.held_month, row.ladder_version) == (
        month,
        the_rules.ladder_version,
    ):
        level = current
    else:
        growth = await growth_of(
            uuid.UUID(str(user_id)), since=now - timedelta(days=the_rules.window_days)
        )
        level, _ = _held(
            new=row is None,
            earned=_earned(ladder, growth),
            current=current,
            the_rules=the_rules,
            row=row,
            month=month,
        )
    return level.discount_bps if level is not None else 0


# Hooks ---------------------------------------------------------------------------------------


async def on_paid(
    user_id: uuid.UUID, *, settled: bool, failed: str | None, now: datetime
) -> Perks | None:
    """In the payment's transaction, its order stamped paid, after ``qunshop_pay_order`` ran
    the recalculation without a ladder (``qunshop_tiers_without_ladder``, migrations 0131 and
    0160; ``settled``: it wrote the member's row, or failed with ``failed``, and the statement
    earned the points without perks). Returns None then; with a ladder, the perks the payment
    earns with (those of the level held before it, unless this is the member's first
    calculation of the month or of the ladder), the member's tier recalculated with it.

    As ``on_money_moved``, a failure is logged and rolled back alone, never the payment."""
    if failed:
        logger.error(
            "member %s: tier recalculation failed (%s); the payment stands", user_id, failed
        )
    if settled:
        return None
    try:
        async with in_transaction():  # a savepoint: a ladder's reads and writes fail alone
            before = await standing(user_id, now=now)
    except Exception:
        logger.exception("member %s: tier standing failed; the payment stands", user_id)
        return NO_PERKS
    if not before.recalculated:  # a first standing of the month counted this payment
        await on_money_moved(user_id, now=now)
    return before.perks


async def on_money_moved(user_id: uuid.UUID, *, now: datetime) -> None:
    """In the causing transaction (a payment honoured, a refund owed): the member's tier
    recalculated with it. In a savepoint: a failure here is logged and rolled back alone,
    never the payment (the next payment, refund or month puts it right)."""
    try:
        await recalculate(user_id, now=now)
    except Exception:
        logger.exception("member %s: tier recalculation failed; the payment stands", user_id)
