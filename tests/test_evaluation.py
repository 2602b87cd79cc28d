"""The exact evaluator against an independent stdlib-Fraction computation and brute force.

The reference below builds ``I − γP_π`` itself from ``mdp.successors`` and
solves it with its own Gauss-Jordan elimination over ``Fraction``; it shares no
code with ``rewardcert.symbolic.exact.evaluation`` or ``rewardcert.symbolic.exact.linalg``.  ``J*`` and ``J^min``
from policy iteration are compared with a maximum and minimum over every
deterministic policy, evaluated by that reference.
"""

from __future__ import annotations

import itertools
from fractions import Fraction as F

import pytest
from flint import fmpq_mat
from hypothesis import assume, given
from hypothesis import strategies as st
from rewardcert.symbolic.core.errors import RewardcertError
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.exact.evaluation import (
    advantages,
    enumerate_policies,
    expected_return,
    is_uniformly_optimal,
    is_uniformly_pessimal,
    occupancy,
    policy_distribution,
    regret,
    state_occupancy,
    state_values,
    support,
)
from rewardcert.symbolic.exact.linalg import (
    column,
    column_values,
    fraction_solve,
    solve,
    to_fmpq,
    to_fraction,
)
from rewardcert.symbolic.guidance.floatvi import return_bounds

from tests.conftest import EXAMPLES
from tests.strategies import (
    deterministic_policies,
    distributions,
    mdps,
    stochastic_policies,
)

# -- the independent reference -------------------------------------------------------


def gauss_jordan(matrix, rhs):
    """Solve ``matrix · x = rhs`` over Fraction (the test's own elimination)."""
    n = len(matrix)
    aug = [[F(v) for v in row] + [F(b)] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if aug[r][col] != 0)  # I − γP is nonsingular
        aug[col], aug[pivot] = aug[pivot], aug[col]
        scale = aug[col][col]
        aug[col] = [v / scale for v in aug[col]]
        for r in range(n):
            if r != col and aug[r][col] != 0:
                factor = aug[r][col]
                aug[r] = [v - factor * w for v, w in zip(aug[r], aug[col])]
    return [aug[r][n] for r in range(n)]


def as_rows(mdp, policy):
    """A deterministic policy (action indices) as probability rows; rows pass through."""
    if policy and isinstance(policy[0], int):
        return [[F(int(a == chosen)) for a in range(mdp.n_actions)] for chosen in policy]
    return [list(row) for row in policy]


def reference(mdp, policy, reward=None):
    """V, d, η and J of ``policy`` computed from scratch."""
    reward = mdp.reward if reward is None else reward
    n, m, gamma = mdp.n_states, mdp.n_actions, mdp.gamma
    probs = as_rows(mdp, policy)
    system = [[F(int(s == t)) for t in range(n)] for s in range(n)]  # I − γ P_π
    r_pi = [F(0)] * n
    for s in range(n):
        for a in range(m):
            p = probs[s][a]
            r_pi[s] += p * reward[s * m + a]
            for t, q in mdp.successors(s * m + a):
                system[s][t] -= gamma * p * q
    values = gauss_jordan(system, r_pi)
    transposed = [[system[t][s] for t in range(n)] for s in range(n)]
    d = gauss_jordan(transposed, mdp.initial)
    eta = [d[s] * probs[s][a] for s in range(n) for a in range(m)]
    j = sum((mu * v for mu, v in zip(mdp.initial, values)), F(0))
    return values, d, eta, j


def reference_advantages(mdp, policy, reward=None):
    reward = mdp.reward if reward is None else reward
    values = reference(mdp, policy, reward)[0]
    m = mdp.n_actions
    return [reward[x] + mdp.gamma * sum((q * values[t] for t, q in mdp.successors(x)), F(0))
            - values[x // m] for x in range(mdp.n_pairs)]


def all_returns(mdp):
    """Every deterministic policy with its reference return (first state varying slowest)."""
    return [(pi, reference(mdp, pi)[3])
            for pi in itertools.product(range(mdp.n_actions), repeat=mdp.n_states)]


@st.composite
def mdp_and_policy(draw, stochastic=False, **kwargs):
    mdp = draw(mdps(**kwargs))
    return mdp, draw(stochastic_policies(mdp) if stochastic else deterministic_policies(mdp))


# -- policy evaluation ------------------------------------------------------------------

@given(mdp_and_policy())
def test_deterministic_policy_matches_reference(case):
    mdp, policy = case
    values, d, eta, j = reference(mdp, policy)
    assert state_values(mdp, policy) == tuple(values)
    assert expected_return(mdp, policy) == j
    assert state_occupancy(mdp, policy) == tuple(d)
    assert occupancy(mdp, policy) == tuple(eta)
    assert policy_distribution(mdp, policy) == tuple((1 - mdp.gamma) * e for e in eta)
    assert support(mdp, policy) == frozenset(x for x, e in enumerate(eta) if e)
    assert advantages(mdp, policy) == tuple(reference_advantages(mdp, policy))


@given(mdp_and_policy(stochastic=True))
def test_stochastic_policy_matches_reference(case):
    mdp, policy = case
    values, d, eta, j = reference(mdp, policy)
    assert state_values(mdp, policy) == tuple(values)
    assert expected_return(mdp, policy) == j
    assert state_occupancy(mdp, policy) == tuple(d)
    assert occupancy(mdp, policy) == tuple(eta)
    assert policy_distribution(mdp, policy) == tuple((1 - mdp.gamma) * e for e in eta)


@given(st.data())
def test_another_reward_matches_reference(data):
    mdp, policy = data.draw(mdp_and_policy())
    other = data.draw(distributions(mdp))  # any rational vector over pairs will do
    values, _, _, j = reference(mdp, policy, other)
    assert state_values(mdp, policy, other) == tuple(values)
    assert expected_return(mdp, policy, other) == j
    assert advantages(mdp, policy, other) == tuple(reference_advantages(mdp, policy, other))


@given(mdps(bandit=True, max_states=3, max_actions=4))
def test_bandit_return_is_the_prompt_average(mdp):
    # γ = 0: J(π) = Σ_s μ0(s) R(s, π(s)), V = R_π, d = μ0; no linear algebra at all.
    m = mdp.n_actions
    for policy in itertools.product(range(m), repeat=mdp.n_states):
        r_pi = tuple(mdp.reward[s * m + a] for s, a in enumerate(policy))
        assert state_values(mdp, policy) == r_pi
        assert state_occupancy(mdp, policy) == mdp.initial
        assert expected_return(mdp, policy) == sum(mu * r for mu, r in zip(mdp.initial, r_pi))


@given(mdp_and_policy(stochastic=True))
def test_occupancy_mass_and_return_identity(case):
    mdp, policy = case
    eta = occupancy(mdp, policy)
    assert sum(eta) == 1 / (1 - mdp.gamma)
    assert sum(policy_distribution(mdp, policy)) == 1
    assert all(e >= 0 for e in eta)
    assert sum(e * r for e, r in zip(eta, mdp.reward)) == expected_return(mdp, policy)


# -- J*, J^min, regret ------------------------------------------------------------------

@given(mdps())
def test_return_bounds_match_brute_force(mdp):
    returns = all_returns(mdp)
    best = max(j for _, j in returns)
    worst = min(j for _, j in returns)
    bounds = return_bounds(mdp)
    assert (bounds.optimal_return, bounds.pessimal_return) == (best, worst)
    assert bounds.range == best - worst
    assert bounds.degenerate == (best == worst)
    # The returned policies attain the bounds and are *uniformly* optimal / pessimal:
    # no improving (resp. worsening) action in any state, reached or not.
    assert reference(mdp, bounds.optimal_policy)[3] == best
    assert reference(mdp, bounds.pessimal_policy)[3] == worst
    assert all(adv <= 0 for adv in reference_advantages(mdp, bounds.optimal_policy))
    assert all(adv >= 0 for adv in reference_advantages(mdp, bounds.pessimal_policy))
    assert is_uniformly_optimal(mdp, bounds.optimal_policy)
    assert is_uniformly_pessimal(mdp, bounds.pessimal_policy)


@given(mdps())
def test_uniform_optimality_predicates_match_reference(mdp):
    for policy in itertools.product(range(mdp.n_actions), repeat=mdp.n_states):
        adv = reference_advantages(mdp, policy)
        assert is_uniformly_optimal(mdp, policy) == all(a <= 0 for a in adv)
        assert is_uniformly_pessimal(mdp, policy) == all(a >= 0 for a in adv)


@given(mdps())
def test_enumeration_and_regret_match_brute_force(mdp):
    returns = all_returns(mdp)
    best = max(j for _, j in returns)
    worst = min(j for _, j in returns)
    bounds = return_bounds(mdp)
    listed = list(enumerate_policies(mdp, bounds))
    assert [(e.policy, e.expected_return) for e in listed] == returns
    for entry in listed:
        expected = F(0) if best == worst else (best - entry.expected_return) / (best - worst)
        assert entry.regret == expected
        assert 0 <= entry.regret <= 1
        assert regret(mdp, entry.policy) == expected


@given(mdp_and_policy(stochastic=True))
def test_stochastic_regret_in_unit_interval(case):
    mdp, policy = case
    returns = [j for _, j in all_returns(mdp)]
    best, worst = max(returns), min(returns)
    value = regret(mdp, policy)
    assert 0 <= value <= 1
    j = reference(mdp, policy)[3]
    assert value == (F(0) if best == worst else (best - j) / (best - worst))


@given(mdps(), st.builds(F, st.integers(-5, 5), st.integers(1, 3)))
def test_constant_reward_is_degenerate(mdp, c):
    flat = mdp.with_reward((c,) * mdp.n_pairs)
    bounds = return_bounds(flat)
    assert bounds.degenerate
    assert bounds.optimal_return == bounds.pessimal_return == c / (1 - mdp.gamma)
    assert all(e.regret == 0 for e in enumerate_policies(flat, bounds))


# -- linear algebra ------------------------------------------------------------------------

small_rationals = st.builds(F, st.integers(-5, 5), st.integers(1, 4))


@st.composite
def linear_systems(draw):
    n = draw(st.integers(1, 5))
    matrix = [draw(st.lists(small_rationals, min_size=n, max_size=n)) for _ in range(n)]
    rhs = draw(st.lists(small_rationals, min_size=n, max_size=n))
    return matrix, rhs


def flint_matrix(matrix):
    n = len(matrix)
    return fmpq_mat(n, n, [to_fmpq(v) for row in matrix for v in row])


@given(linear_systems())
def test_fraction_solve_agrees_with_flint(system):
    matrix, rhs = system
    assume(flint_matrix(matrix).det() != 0)
    expected = [to_fraction(v) for v in column_values(solve(flint_matrix(matrix), column(rhs)))]
    got = fraction_solve(matrix, rhs)
    assert got == expected
    # and both really solve the system (checked by plain multiplication)
    assert [sum((a * x for a, x in zip(row, got)), F(0)) for row in matrix] == rhs


def test_singular_systems_raise_rewardcert_errors():
    matrix = [[F(1), F(2)], [F(2), F(4)]]
    with pytest.raises(RewardcertError, match="singular"):
        fraction_solve(matrix, [F(1), F(1)])
    with pytest.raises(RewardcertError, match="singular"):
        solve(flint_matrix(matrix), column([F(1), F(1)]))


# -- the paper's instances --------------------------------------------------------------------

def test_chatbot_always_help_regret_is_eq_9():
    mdp = load_model(EXAMPLES / "chatbot.toml").mdp
    mu, c = F(1, 5), F(10)
    assert mdp.initial[mdp.state_index("q_uns")] == mu
    by_hand = mu * c / (1 - mu + mu * c)  # eq. (9)
    assert by_hand == F(5, 7)
    bounds = return_bounds(mdp)
    assert bounds.optimal_return == 1 - mu            # eq. (7): max J = μ_safe
    assert bounds.pessimal_return == -mu * c          # eq. (7): min J = −(1 − μ_safe) C
    for style in ("help1", "help2", "help3"):
        always_help = (mdp.action_index(style),) * 2
        assert expected_return(mdp, always_help) == (1 - mu) - mu * c  # eq. (8)
        assert regret(mdp, always_help, bounds) == F(5, 7)
    # a stochastic always-help policy mixing the styles has the same regret
    help_only = tuple(tuple(F(1, 3) if a.startswith("help") else F(0) for a in mdp.actions)
                      for _ in mdp.states)
    assert regret(mdp, help_only, bounds) == F(5, 7)


def test_example_d14_policy_b_has_regret_u():
    mdp = load_model(EXAMPLES / "example-d14.toml").mdp
    u, gamma = F(1, 2), F(1, 2)
    assert mdp.gamma == gamma
    r_a, r_b = F(1), F(0)
    assert mdp.reward == (r_a, r_b, r_a - (r_a - r_b) / u)
    # Reg(b) = (R(a) − R(b)) / (R(a) − R(c)) after cancelling 1/(1 − γ).
    assert regret(mdp, (mdp.action_index("b"),)) == u
    assert expected_return(mdp, (mdp.action_index("b"),)) == r_b / (1 - gamma)


@given(st.integers(-10**30, 10**30), st.integers(1, 10**30))
def test_to_fraction_builds_the_same_fraction_as_the_stdlib(p, q):
    from flint import fmpq
    from rewardcert.symbolic.exact.linalg import to_fraction
    built, expected = to_fraction(fmpq(p, q)), F(p, q)
    assert (built.numerator, built.denominator) == (expected.numerator, expected.denominator)
    assert built == expected and hash(built) == hash(expected) and str(built) == str(expected)
    assert built + F(1, 3) == expected + F(1, 3)


@given(st.lists(st.tuples(st.integers(-10**30, 10**30), st.integers(1, 10**30)), max_size=12))
def test_to_fractions_sized_matches_the_stdlib_and_counts_the_digits(pairs):
    from flint import fmpq
    from rewardcert.symbolic.exact.linalg import to_fractions_sized
    built, size = to_fractions_sized([fmpq(p, q) for p, q in pairs])
    expected = [F(p, q) for p, q in pairs]
    assert [(v.numerator, v.denominator) for v in built] == [(v.numerator, v.denominator) for v in expected]
    assert all(b == e and hash(b) == hash(e) for b, e in zip(built, expected))
    digits = sum(100 + (v.numerator.bit_length() + v.denominator.bit_length()) // 8 for v in expected if v)
    assert size == 56 + 8 * len(pairs) + digits
