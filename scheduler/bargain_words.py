"""The words of a bargain's news to its starter (services/bargains.py): templates/chat/bargains/."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import jinja2

    from models.bargain import BargainCut
    from qunshop.config import Settings
    from services.bargains import View


@dataclass(frozen=True)
class BargainWords:
    settings: Settings
    templates: jinja2.Environment

    def news(self, event: str, view: View, cut: BargainCut | None) -> str:
        """A cut or the floor reached (``cut``: that cut), or the offer closed (None)."""
        deadline = view.bargain.deadline_at.astimezone(ZoneInfo(self.settings.timezone))
        template = self.templates.get_template(f"bargains/news_{event}.j2")
        return template.render(
            view=view,
            bargain=view.bargain,
            cut=cut,
            helper=(cut.helper.nickname if cut else "") or "一位好友",
            deadline=deadline.strftime("%m-%d %H:%M"),
            link=f"{self.settings.public_base_url}/h5/bargains/{view.bargain.code}",
        ).strip()
