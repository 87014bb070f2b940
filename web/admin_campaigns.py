"""Every community's campaigns for the operators (/admin/campaigns), filtered and a page at a
time, each linking to its teams page (web/console_teams.py, which operators may read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qunshop.keys import CLOCK
from services import campaign_board
from web.admin import page_size
from web.auth import Admin
from web.labels import CAMPAIGN_STATES
from web.page import page

if TYPE_CHECKING:
    from multidict import MultiDictProxy

    from qunshop.keys import Resources
    from services.auth import Principal


@page("GET", "/admin/campaigns", auth=Admin, template="admin/campaigns.html")
async def campaigns(
    *, principal: Principal, query: MultiDictProxy[str], config: Resources
) -> dict[str, Any]:
    filters = campaign_board.Filters.parse(
        state=query.get("state", ""),
        community_id=query.get("community", ""),
        title=query.get("q", ""),
    )
    size = page_size(query, campaign_board.PAGE)
    board = await campaign_board.browse(
        actor=principal,
        filters=filters,
        now=config[CLOCK].now(),
        limit=size,
        cursor=query.get("after") or None,
    )
    kept = {
        "state": filters.state,
        "community": filters.community_id,
        "q": filters.title,
        "size": size if size != campaign_board.PAGE else None,
    }
    kept = {k: v for k, v in kept.items() if v}
    return {
        "board": board,
        "filters": filters,
        "states": CAMPAIGN_STATES,
        "first": kept if query.get("after") else None,
        "next": {**kept, "after": board.next_cursor} if board.next_cursor else None,
    }
