"""The words of a withdrawal's outcome to its earner (services/withdrawals.py):
templates/chat/withdrawals/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

    from models.growth import Withdrawal
    from qunshop.config import Settings


@dataclass(frozen=True)
class WithdrawalWords:
    settings: Settings
    templates: jinja2.Environment

    def news(self, event: str, withdrawal: Withdrawal, available: int) -> str:
        """Paid, rejected or failed: what happened to the money, and the balance now."""
        template = self.templates.get_template(f"withdrawals/news_{event}.j2")
        return template.render(
            withdrawal=withdrawal,
            available=available,
            console=f"{self.settings.public_base_url}/console/earnings",
        ).strip()
