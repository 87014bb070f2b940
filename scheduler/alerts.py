"""The words of operators' alerts (services/reconciliation.py), from templates/chat/alerts/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2

    from models.reconciliation import BillDifference, BillRun


@dataclass(frozen=True)
class AlertWords:
    templates: jinja2.Environment

    def __call__(self, run: BillRun, items: list[BillDifference]) -> str:
        template = self.templates.get_template("alerts/reconciliation.j2")
        return template.render(run=run, items=items).strip()
