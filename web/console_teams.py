"""A campaign's teams in the leader console (/console/campaigns/{id}/teams): who is in which
team, who has paid, how many more each team needs. Reached from the campaign list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from services import campaign_teams
from web.auth import Leader
from web.page import page

if TYPE_CHECKING:
    from services.auth import Principal


@page("GET", "/console/campaigns/{campaign_id}/teams", auth=Leader, template="console/teams.html")
async def teams(*, principal: Principal, campaign_id: str) -> dict[str, Any]:
    return {"read": await campaign_teams.teams_of(principal=principal, campaign_id=campaign_id)}
