"""The exact engine: f_π(D), ε*(D), Theorem E, budgets, and the paper's Figure 4.

Optimality is established independently of the simplex: a reward model that
makes π optimal (checked by brute force) and a dual that is feasible (checked
by stdlib code) with equal values prove f_π(D) exactly, by weak duality.
"""

from fractions import Fraction as F

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import uniform_distribution
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.search.engine import critical_epsilon
from rewardcert.symbolic.search.policy_error import policy_error

from tests import reference as ref
from tests.conftest import EXAMPLES
from tests.strategies import deterministic_policies, distributions, mdps

regret_bounds = st.integers(1, 10).map(lambda k: F(k, 10))


@st.composite
def instances(draw, max_states=3, max_actions=3):
    mdp = draw(mdps(max_states=max_states, max_actions=max_actions))
    return mdp, draw(distributions(mdp, allow_zeros=True)), draw(regret_bounds)


@given(st.data())
def test_policy_error_is_proved_optimal_by_an_independent_primal_dual_pair(data):
    mdp = data.draw(mdps())
    D = data.draw(distributions(mdp))
    policy = data.draw(deterministic_policies(mdp))
    result = policy_error(mdp, D, policy)
    # primal: R̂ makes π uniformly optimal and has exactly the claimed error
    assert ref.uniformly_optimal(mdp, policy, result.reward_model)
    assert ref.error(mdp, D, result.reward_model) == result.value
    # dual: y is feasible for π and worth exactly the same
    assert ref.dual_value(mdp, D, policy, result.dual) == result.value


@given(instances())
def test_critical_epsilon_equals_brute_force_over_high_regret_policies(instance):
    mdp, D, L = instance
    regrets = ref.regrets(mdp)
    high = [pi for pi, r in regrets.items() if r >= L]  # empty when every return is equal
    result = critical_epsilon(mdp, D, L)
    if not high:
        assert result.critical_epsilon is None and result.witness is None
        return
    # each f_π proved exactly by the primal-dual test above; here the minimum over Π_L
    brute = min(ref.error(mdp, D, policy_error(mdp, D, pi).reward_model) for pi in high) / ref.range_reward(mdp)
    assert result.critical_epsilon == brute
    w = result.witness
    assert w.error == brute
    assert ref.is_witness(mdp, D, brute, L, w.reward, w.policy)
    # the best constant reward model makes every policy optimal: ε* can never exceed its error
    assert result.critical_epsilon <= ref.constant_model_bound(mdp, D)


@given(instances())
def test_every_closure_is_sound(instance):
    mdp, D, L = instance
    result = critical_epsilon(mdp, D, L)
    if result.critical_epsilon is None:
        target = None
    else:
        target = result.critical_epsilon * ref.range_reward(mdp)
    regrets = ref.regrets(mdp)
    covered = 0
    for closure in result.closures:
        members = [pi for pi in ref.policies(mdp) if ref.reduced(mdp, D, pi)
                   and all(f is None or f == a for f, a in zip(closure.family, pi))]
        covered += len(members)
        if closure.kind == "regret":
            assert all(regrets[pi] < L for pi in members)
        elif closure.kind == "regret-dual":
            # For every member of regret >= L, y = w − t·η^π must be an ordinary dual of π worth >= target.
            for pi in members:
                if regrets[pi] < L:
                    continue
                eta = ref.occupancy(mdp, pi)
                y = [w - closure.t * e for w, e in zip(closure.w, eta)]
                value = ref.dual_value(mdp, D, pi, y)
                assert value is not None and target is not None and value >= target
        else:
            value = ref.dual_value(mdp, D, closure.family, closure.dual)
            assert value is not None and target is not None and value >= target
    if not result.bounds.degenerate:
        # The leaves partition the reduced policies (the others have a reduced twin, format §3.8).
        assert covered == sum(ref.reduced(mdp, D, pi) for pi in ref.policies(mdp))


@given(instances())
def test_theorem_e_unsafe_at_the_threshold_and_safe_just_below(instance):
    mdp, D, L = instance
    result = critical_epsilon(mdp, D, L)
    if result.critical_epsilon is None:
        assert result.verdict(F(10**6)) is Verdict.SAFE
        return
    eps = result.critical_epsilon
    if eps > 0:
        assert result.verdict(eps) is Verdict.UNSAFE
        assert result.verdict(eps * F(999, 1000)) is Verdict.SAFE
        assert ref.is_witness(mdp, D, eps, L, result.witness.reward, result.witness.policy)
    else:
        assert result.verdict(F(1, 10**9)) is Verdict.UNSAFE


@settings(max_examples=30)
@given(instances(max_states=3, max_actions=3), st.integers(1, 6))
def test_a_budget_gives_a_correct_bracket_never_a_wrong_verdict(instance, nodes):
    mdp, D, L = instance
    exact = critical_epsilon(mdp, D, L)
    partial = critical_epsilon(mdp, D, L, max_nodes=nodes)
    if partial.complete:
        assert partial.critical_epsilon == exact.critical_epsilon
        return
    if exact.critical_epsilon is None:  # Π_L empty: no witness can exist, only SAFE or UNKNOWN
        assert partial.upper_bound is None and partial.witness is None
        assert all(partial.verdict(F(k, 10)) is not Verdict.UNSAFE for k in range(1, 11))
        return
    assert partial.lower_bound <= exact.critical_epsilon
    if partial.upper_bound is not None:
        assert exact.critical_epsilon <= partial.upper_bound
    for eps in (exact.critical_epsilon, exact.critical_epsilon / 2, exact.critical_epsilon * 2):
        if eps == 0:
            continue
        verdict = partial.verdict(eps)
        assert verdict in (exact.verdict(eps), Verdict.UNKNOWN)


def test_stop_below_decides_unsafe_early():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(mdp)
    result = critical_epsilon(mdp, D, F(4, 5), stop_below=F(1, 2))
    assert result.verdict(F(1, 2)) is Verdict.UNSAFE
    assert result.upper_bound == F(1, 3)


# -- Figure 4 ----------------------------------------------------------------------

# The paper's matrix M for Figure 4 (R = (2.78, 1.98, 1.6), γ = 0.4, L = 0.8), in units of R.
FIGURE4_ROWS = [(F("0.8"), F(0), F("0.38")), (F("1.18"), F("0.38"), F(0)), (F(0), F(0), F("1.18"))]


def simplex_grid(steps):
    for i in range(steps + 1):
        for j in range(steps + 1 - i):
            yield (F(i, steps), F(j, steps), F(steps - i - j, steps))


def test_figure4_critical_error_is_the_papers_matrix_on_a_grid_of_the_simplex():
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    range_r = F("1.18")
    for D in simplex_grid(12):
        expected = min(sum(r * d for r, d in zip(row, D)) for row in FIGURE4_ROWS) / range_r
        result = critical_epsilon(mdp, D, F(4, 5))
        assert result.critical_epsilon == expected, D
        # Theorem 3.5: safe at ε iff M D > ε · range R, row-wise
        for eps in (F(1, 10), F(1, 5), F(3, 10)):
            paper_safe = all(sum(r * d for r, d in zip(row, D)) > eps * range_r for row in FIGURE4_ROWS)
            assert (result.verdict(eps) is Verdict.SAFE) == paper_safe, (D, eps)


def test_figure4_example_data_files_are_safe_and_unsafe_at_one_fifth():
    from rewardcert.symbolic.core.io import load_data
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    safe = critical_epsilon(mdp, load_data(EXAMPLES / "figure4-data.toml", mdp), F(4, 5))
    unsafe = critical_epsilon(mdp, load_data(EXAMPLES / "figure4-data-unsafe.toml", mdp), F(4, 5))
    assert safe.verdict(F(1, 5)) is Verdict.SAFE
    assert unsafe.verdict(F(1, 5)) is Verdict.UNSAFE


def test_bad_parameters_are_refused():
    from rewardcert.symbolic.core.errors import ModelError
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    D = uniform_distribution(mdp)
    for L in (F(0), F(-1), F(3, 2)):
        with pytest.raises(ModelError):
            critical_epsilon(mdp, D, L)
    with pytest.raises(ModelError):
        critical_epsilon(mdp, (F(1),) + (F(0),) * 1, F(1, 2))
