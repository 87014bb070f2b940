"""An action that cannot be undone (ending a campaign, 货到了, stopping a bargain offer or a
coupon) asks once more before it is done, on a page of its own.

The action's button posts its form as before; without ``confirm=yes`` the handler answers
this page instead of acting: what will happen, a button that posts the same fields with
``confirm=yes``, and a way back. It works without JavaScript (a ``confirm()`` dialog is
skipped where scripts do not run, and its OK sits where the misclick already landed), and
nothing is changed by a GET.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

FIELD = "confirm"
YES = "yes"
TEMPLATE = "confirm.html"
CONSOLE_NAV = "console/_nav.html"
ADMIN_NAV = "admin/_nav.html"


@dataclass(frozen=True)
class Question:
    """What one action asks. ``question`` names the thing (``{name}``); ``back`` is the page
    the button is on, where 返回 goes; ``nav`` the console's navigation template."""

    question: str
    consequences: tuple[str, ...]
    button: str
    back: str
    nav: str

    def needed(self, form: dict[str, str], *, undone: bool) -> bool:
        """Whether to ask: not yet confirmed, and there is still something to stop (doing
        again what is done changes nothing, so it is not asked about)."""
        return undone and form.get(FIELD) != YES

    def page(
        self, *, name: str, action: str, fields: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """The confirm page's values; ``action``: where its form posts (the same handler),
        with ``fields``, the original form's, carried along."""
        return {
            "confirm": {
                "question": self.question.format(name=name),
                "consequences": self.consequences,
                "action": action,
                "button": self.button,
                "back": self.back,
                "fields": fields or {},
            },
            "nav": self.nav,
        }
