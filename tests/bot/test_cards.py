"""A card as WeCom shows it: a description that does not fit is cut between its fields."""

from __future__ import annotations

from bot.cards import fit, template_card
from qunshop.chat import Card

LONG = "团码 MNTR4DCR · 还差 2 人成团 · 12-06 13:00 截止 · 阳光花园三期东门驿站旁王团长开的团"


def test_a_long_description_loses_whole_fields_from_its_end() -> None:
    assert len(LONG) > 44
    assert fit(LONG, 44) == "团码 MNTR4DCR · 还差 2 人成团 · 12-06 13:00 截止"
    assert fit("还差 1 人成团", 44) == "还差 1 人成团"  # fits: kept whole
    assert fit("一" * 50, 44) == "一" * 44  # no field to cut at: cut at the limit


def test_the_team_card_keeps_its_code_whole_in_the_description_and_the_button() -> None:
    card = Card(
        title="【3人团】赣南脐橙 ¥29.90",
        description=LONG,
        url="https://shop.example/h5/teams/MNTR4DCR",
        button_text="参团MNTR4DCR",
        mini_program_path="pages/team/index?code=MNTR4DCR",
        command="参团 MNTR4DCR",
    )
    shown = template_card(card, "team_MNTR4DCR")
    assert shown["main_title"]["desc"] == "团码 MNTR4DCR · 还差 2 人成团 · 12-06 13:00 截止"
    assert shown["button_list"] == [{"text": "参团MNTR4DCR", "style": 1, "key": "参团 MNTR4DCR"}]
