"""The HiGHS basis guide (symbolic/guide.py): it only proposes; exact checks decide."""

import random
from fractions import Fraction as F

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import symbolic.safety as safety
from benchmarks.common import random_distribution, random_mdp
from proofs import checker
from rewardcert.certificates import threshold_certificate
from symbolic.exactlp import FamilyLP
from symbolic.guide import propose_basis
from symbolic.linalg import dynamics, to_fmpq
from tests.strategies import distributions, mdps
from tests.test_seed import brute_force


def family_lp(mdp, D):
    return FamilyLP(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in D])


@pytest.mark.parametrize("seed", range(6))
def test_a_guided_start_reaches_the_same_exact_optimum_as_the_plain_start(seed):
    rng = random.Random(seed)
    mdp = random_mdp(500 + seed, 12, 3)
    D = random_distribution(seed, mdp, zeros=0.2)
    lp = family_lp(mdp, D)
    family = [rng.choice([None, 0, 1, 2]) for _ in range(mdp.n_states)]
    lower = lp.lower_bounds(family)
    plain = lp.solve(lp.initial_state([0 if a is None else a for a in family]), lower)
    proposal = propose_basis(lp.n, lp.columns, lp.reward, lower, lp.upper)
    assert proposal is not None
    state = lp.state_from_basis(*proposal, lower)
    assert state is not None
    # Feasible exactly: flow rows hold and every entry is within its bounds.
    for k in range(lp.n):
        assert sum((v * state.y[x] for x, col in enumerate(lp.columns) for row, v in col if row == k),
                   to_fmpq(0)) == 0
    assert all(lo <= v <= hi for lo, v, hi in zip(lower, state.y, lp.upper))
    guided = lp.solve(state, lower)
    assert guided.optimal and guided.objective == plain.objective


def test_a_proposal_outside_the_bounds_or_singular_is_refused():
    mdp = random_mdp(501, 6, 3)
    D = random_distribution(1, mdp, zeros=0)
    lp = family_lp(mdp, D)
    lower = lp.lower_bounds([None] * mdp.n_states)
    basis, sides = propose_basis(lp.n, lp.columns, lp.reward, lower, lp.upper)
    # Every free pair's y >= 0; put one non-basic entry at its upper bound D and the basic ones
    # must absorb a positive flow they cannot (all free: y >= 0 with zero flow forces y = 0).
    off = next(x for x in range(lp.N) if x not in basis and D[x] > 0)
    bad = list(sides)
    bad[off] = "upper"
    assert lp.state_from_basis(basis, bad, lower) is None
    # A repeated index is not a basis.
    assert lp.state_from_basis([basis[0]] * lp.n, sides, lower) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_guided_search_gives_the_brute_force_answer(monkeypatch_guide, data):
    mdp = data.draw(mdps(min_states=2, max_states=3, max_actions=3))
    D = data.draw(distributions(mdp))
    L = data.draw(st.sampled_from([F(1, 4), F(1, 2), F(1)]))
    star, _ = brute_force(mdp, D, L)
    result = safety.critical_epsilon(mdp, D, L)
    assert result.complete and result.critical_epsilon == star
    if not result.bounds.degenerate:
        status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
        assert status == "verified", message


@pytest.fixture
def monkeypatch_guide(request):
    """The guide on from 1 state, proposing either HiGHS's basis or garbage (param)."""
    mode = getattr(request, "param", "highs")
    saved = safety.GUIDE_FROM_STATES, safety.propose_basis
    safety.GUIDE_FROM_STATES = 1
    if mode == "garbage":
        rng = random.Random(0)

        def garbage(n, columns, reward, lower, upper, rhs=None):
            basis = rng.sample(range(len(columns)), n)
            return basis, [rng.choice(["lower", "upper", "zero"]) if x not in basis else "basic"
                           for x in range(len(columns))]
        safety.propose_basis = garbage
    yield mode
    safety.GUIDE_FROM_STATES, safety.propose_basis = saved


@pytest.mark.parametrize("monkeypatch_guide", ["garbage"], indirect=True)
@pytest.mark.parametrize("seed", range(4))
def test_a_garbage_guide_never_changes_the_answer(monkeypatch_guide, seed):
    mdp = random_mdp(8000 + seed, 5, 3)
    D = random_distribution(seed, mdp, zeros=0.2)
    L = F(1, 2)
    star, _ = brute_force(mdp, D, L)
    result = safety.critical_epsilon(mdp, D, L)
    assert result.complete and result.critical_epsilon == star
    status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
    assert status == "verified", message
