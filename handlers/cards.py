"""Share cards: replies that sell, built from templates."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qunshop.chat import Card

if TYPE_CHECKING:
    from handlers.routing import Context
    from models.groupbuy import Campaign, Team
    from services.share import Share

JOIN = "参团"  # the chat command a team card's button sends (handlers/shop.py)


def team_url(ctx: Context, team: Team) -> str:
    """The team's H5 page: on a phone its button opens the mini-program's team page, where a
    seat holder pays."""
    return f"{ctx.settings.public_base_url}/h5/teams/{team.code}"


def team_card(ctx: Context, team: Team, campaign: Campaign, *, sharer: str = "") -> Card:
    """``sharer``: the nickname of who started or shares the team, when known."""
    tz = ctx.tz
    values = {
        "campaign": campaign,
        "team": team,
        "sharer": sharer,
        "seats_left": max(team.size - team.seats_held, 0),
        "deadline": team.deadline_at.astimezone(tz).strftime("%m-%d %H:%M"),
    }
    return Card(
        title=ctx.render("cards/team_title.j2", **values),
        description=ctx.render("cards/team_description.j2", **values),
        url=team_url(ctx, team),
        button_text=f"{JOIN}{team.code}",  # WeCom shows 10 characters of a button
        mini_program_path=f"pages/team/index?code={team.code}",
        command=f"{JOIN} {team.code}",
    )


def invite_card(ctx: Context, invite: Share | None = None) -> Card:
    """The user's personal invite card; ``invite`` carries their opaque invite code."""
    assert ctx.user is not None
    ref = invite.code if invite is not None else str(ctx.user.id)
    return Card(
        title=ctx.render("cards/invite_title.j2", user=ctx.user),
        description=ctx.render("cards/invite_description.j2", user=ctx.user),
        url=f"{ctx.settings.public_base_url}/h5/invite?from={ref}",
        picture_url=invite.code_image_url if invite is not None else "",
        button_text="一起拼",
        mini_program_path=(
            invite.path.lstrip("/") if invite is not None else f"pages/index/index?from={ref}"
        ),
    )
