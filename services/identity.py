"""Leaders' identity: real name and phone, checked by a verification provider, before a
leader's community may take payments.

The provider sits behind ``Verifier``: ``StandIn`` (development and tests: deterministic,
no network) or ``HttpVerifier`` (a provider's JSON API through the app's one HTTP client,
with its timeout). ``verifier_for`` picks by the settings. Each check's outcome is kept
(``LeaderIdentity``), a failed one with the provider's reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from models.identity import IdentityStatus, LeaderIdentity
from models.user import Role
from qunshop.errors import Conflict, ErrorCode, Forbidden, Invalid, NotFound, Unavailable
from services import personal

if TYPE_CHECKING:
    import aiohttp

    from qunshop.config import Settings
    from services.auth import Principal

logger = logging.getLogger(__name__)

MOBILE = re.compile(r"^1[3-9]\d{9}$")


@dataclass(frozen=True)
class Verdict:
    matched: bool
    reference: str = ""
    reason: str = ""


class ProviderDown(Exception):
    """The provider did not answer (network, timeout, a non-200): not a mismatch."""


class Verifier(Protocol):
    name: str

    async def check(self, *, real_name: str, phone: str) -> Verdict: ...


@dataclass(frozen=True)
class StandIn:
    """Development's and the tests' provider: a mainland mobile number and a 2-20 character
    name match; a name with 假 ("fake") does not, as a real provider would refuse it."""

    name: str = "standin"

    async def check(self, *, real_name: str, phone: str) -> Verdict:
        if not MOBILE.match(phone):
            return Verdict(False, reason="手机号不是有效的大陆手机号")
        if "假" in real_name or not 2 <= len(real_name) <= 20:
            return Verdict(False, reason="姓名与手机号实名信息不一致")
        return Verdict(True, reference=f"standin-{phone[-4:]}")


@dataclass(frozen=True)
class HttpVerifier:
    """A provider's API: POST {base}/verify {"name", "phone"} -> {"match", "reference",
    "reason"}; a failure to answer is the provider being unavailable, not a mismatch."""

    http: aiohttp.ClientSession
    base: str
    key: str
    name: str = "http"

    async def check(self, *, real_name: str, phone: str) -> Verdict:
        try:
            async with self.http.post(
                f"{self.base.rstrip('/')}/verify",
                json={"name": real_name, "phone": phone},
                headers={"Authorization": f"Bearer {self.key}"},
            ) as resp:
                if resp.status != 200:
                    raise ProviderDown(f"the provider answered {resp.status}")
                answer: dict[str, Any] = await resp.json()
        except (OSError, TimeoutError, ValueError) as exc:
            raise ProviderDown(str(exc) or type(exc).__name__) from exc
        return Verdict(
            bool(answer.get("match")),
            str(answer.get("reference", ""))[:64],
            str(answer.get("reason", ""))[:255],
        )


def verifier_for(*, settings: Settings, http: aiohttp.ClientSession) -> Verifier:
    if settings.identity_provider == "http":
        return HttpVerifier(
            http=http,
            base=settings.identity_api_base,
            key=settings.identity_api_key.get_secret_value(),
        )
    return StandIn()


async def verify(
    *,
    principal: Principal,
    real_name: str,
    phone: str,
    verifier: Verifier,
    settings: Settings,
    now: datetime,
) -> LeaderIdentity:
    """A leader's real name and phone, checked; a mismatch is kept and refused with why. The
    name and phone become the person's sealed details, never stored in the clear."""
    if principal.role not in (Role.LEADER, Role.ADMIN):
        raise Forbidden(ErrorCode.FORBIDDEN, "only leaders verify their identity")
    try:
        verdict = await verifier.check(real_name=real_name, phone=phone)
    except ProviderDown as exc:
        logger.warning("identity provider %s failed: %s", verifier.name, exc)
        raise Unavailable(
            ErrorCode.IDENTITY_PROVIDER_UNAVAILABLE, "the verification provider is down"
        ) from exc
    status = IdentityStatus.VERIFIED if verdict.matched else IdentityStatus.FAILED
    await personal.update_mine(
        principal=principal, phone=phone, real_name=real_name, settings=settings, now=now
    )
    identity, _ = await LeaderIdentity.update_or_create(
        user_id=principal.user_id,
        defaults={
            "status": status,
            "provider": verifier.name,
            "reference": verdict.reference,
            "reason": verdict.reason,
            "verified_at": now if verdict.matched else None,
        },
    )
    logger.info("leader %s identity %s by %s", principal.user_id, status.value, verifier.name)
    if not verdict.matched:
        raise Invalid(ErrorCode.IDENTITY_NOT_MATCHED, verdict.reason or "实名信息不一致")
    return identity


async def of(*, principal: Principal) -> LeaderIdentity:
    found = await LeaderIdentity.get_or_none(user_id=principal.user_id)
    if found is None:
        raise NotFound(ErrorCode.IDENTITY_NOT_FOUND, "no identity check yet")
    return found


def ensure_may_take_payments(leader_verified: bool) -> None:
    """A community takes payments only once its leader's identity is verified: a
    ``LeaderIdentity`` of the leader's, ``verified``. Prepay reads that beside the order, in
    one query (services/prepays.py), and passes it here."""
    if not leader_verified:
        raise Conflict(
            ErrorCode.LEADER_NOT_VERIFIED,
            "this community's leader has not verified their identity: payments wait for it",
        )
