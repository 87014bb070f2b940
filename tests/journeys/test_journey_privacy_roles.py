"""The archive and the erasure reach what a person ran or asked for besides shopping.

Through the doors: the archive holds the person's supplier and the decisions on it, and an
operator's archive does not hold the contacts of the suppliers they reviewed.
"""

from __future__ import annotations

from typing import Any

from models.user import Role, User
from services.privacy import WITHHELD
from tests.journeys.doors import Doors
from tests.support.factories import auth, make_user

CONTACT, CONTACT_PHONE = "刘经理", "13712345678"
SUPPLIER = {
    "name": "赣南果园合作社",
    "contact_name": CONTACT,
    "contact_phone": CONTACT_PHONE,
    "business_licence": "91360700MA35XXXX1A",
}


async def _an_approved_supplier(doors: Doors) -> tuple[User, User, dict[str, Any]]:
    """Liu applies as a supplier and an operator approves it."""
    liu = await make_user(nickname="老刘")
    operator = await make_user(Role.ADMIN, nickname="运营")
    as_liu = auth(liu, doors.settings, doors.clock.now())
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, applied = await doors.api("POST", "/api/v1/suppliers", as_liu, json=SUPPLIER)
    assert status == 201, applied
    status, _ = await doors.api(
        "POST", f"/api/v1/admin/suppliers/{applied['id']}/approve", as_operator
    )
    assert status == 200
    return liu, operator, applied


async def test_the_archive_holds_her_supplier_not_those_she_reviewed(doors: Doors) -> None:
    liu, operator, applied = await _an_approved_supplier(doors)
    # Liu's archive holds the supplier, its contact and the decision on it; the operator's
    # holds the supplier they reviewed without its contact person.
    as_liu = auth(liu, doors.settings, doors.clock.now())
    status, archive = await doors.api("GET", "/api/v1/me/export", as_liu)
    assert status == 200
    (mine,) = archive["tables"]["suppliers"]
    assert (mine["contact_name"], mine["contact_phone"]) == (CONTACT, CONTACT_PHONE)
    (decision,) = archive["tables"]["review_decisions"]
    assert (decision["subject"], decision["outcome"]) == (f"supplier:{applied['id']}", "approved")
    as_operator = auth(operator, doors.settings, doors.clock.now())
    status, theirs = await doors.api("GET", "/api/v1/me/export", as_operator)
    (reviewed,) = theirs["tables"]["suppliers"]
    assert (reviewed["contact_name"], reviewed["contact_phone"]) == (WITHHELD, WITHHELD)
