"""The cut amounts a bargain draws: each at least a fen, the last lands on the floor."""

from __future__ import annotations

import random

import pytest

from services.bargains import draw


class Seeded:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def randbelow(self, n: int) -> int:
        return self.rng.randrange(n)


@pytest.mark.parametrize(("remaining", "cuts"), [(1, 1), (5, 5), (8910, 5), (19500, 150), (7, 3)])
def test_cuts_add_up_to_what_was_above_the_floor(remaining: int, cuts: int) -> None:
    for seed in range(200):
        rand, left, amounts = Seeded(seed), remaining, []
        for k in range(cuts, 0, -1):
            amount = draw(left, k, rand=rand)
            assert 1 <= amount <= left - (k - 1)  # a fen left for each later cut
            amounts.append(amount)
            left -= amount
        assert left == 0 and sum(amounts) == remaining


def test_early_cuts_are_about_an_even_share() -> None:
    amounts = [draw(10000, 10, rand=Seeded(seed)) for seed in range(500)]
    assert min(amounts) >= 500 and max(amounts) <= 2000


def test_no_cut_below_a_fen_each() -> None:
    with pytest.raises(ValueError):
        draw(2, 3)
    with pytest.raises(ValueError):
        draw(5, 0)
