"""Figure 4 by hand: one state, self-loops, so V(a) = R(a) / (1 - gamma)."""

from fractions import Fraction as F

from rewardcert import expected_return, load_model, regret, return_bounds
from tests.conftest import EXAMPLES


def test_figure4_returns_match_hand_arithmetic():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    # R = (2.78, 1.98, 1.6), 1 - gamma = 3/5: J(a) = R(a) * 5/3.
    assert [expected_return(mdp, (a,)) for a in range(3)] == [F(139, 30), F(33, 10), F(8, 3)]
    bounds = return_bounds(mdp)
    assert (bounds.optimal_policy, bounds.pessimal_policy) == ((0,), (2,))
    assert bounds.range == F(139, 30) - F(8, 3)
    # regret(a2) = (2.78 - 1.98) / (2.78 - 1.6) = 0.8 / 1.18 = 40/59
    assert regret(mdp, (1,), bounds) == F(40, 59)
    assert regret(mdp, (2,), bounds) == 1
