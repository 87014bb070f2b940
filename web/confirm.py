"""An action that cannot be undone (ending a campaign, stopping a bargain offer or a coupon)
asks once more before it is done, on a page of its own.

The action's button posts its form as before; without ``confirm=yes`` the handler answers
this page instead of acting: what will happen, a button that posts the same fields with
``confirm=yes``, and a way back. It works without JavaScript (a ``confirm()`` dialog is
skipped where scripts do not run, and its OK sits where the misclick already landed), and
nothing is changed by a GET.
"""

from __future__ import annotations

from typing import Any

FIELD = "confirm"
YES = "yes"
TEMPLATE = "confirm.html"


def confirmed(form: dict[str, str]) -> bool:
    return form.get(FIELD) == YES


def ask(
    *,
    question: str,
    consequences: list[str],
    action: str,
    button: str,
    back: str,
    nav: str,
    fields: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The confirm page's values. ``action``: where its form posts (the same handler);
    ``fields``: the original form's fields, carried along; ``back``: where 返回 goes, the
    page the button was on; ``nav``: the console's navigation template."""
    return {
        "confirm": {
            "question": question,
            "consequences": consequences,
            "action": action,
            "button": button,
            "back": back,
            "fields": fields or {},
        },
        "nav": nav,
    }
