"""The SMT layer (docs/theory.md §4) against independent exact computations.

Every reference here is computed in this file with ``fractions.Fraction`` and
brute force over deterministic policies (Gaussian elimination, enumeration),
never through the code under test:

* Figure 4: ``ε*(D) · range R = min(0.8 d1 + 0.38 d3, 1.18 d1 + 0.38 d2, 1.18 d3)`` by hand;
* contextual bandits: ``f_π(D)`` in closed form (per state, the best level
  ``v`` for ``R̂(s, π(s))`` is one of the rewards of ``s``);
* random MDPs: P1, P2 and not P3 of every witness by enumeration; upper bounds
  from constant reward models and Proposition 3.3; a lower bound from the
  weak-duality duals ``y = c (η^{π'} − η^π)`` (docs/theory.md §3).
"""

from __future__ import annotations

import re
import sys
from fractions import Fraction as F

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from rewardcert.smt import (
    MinimumResult,
    SearchResult,
    encode_search,
    find_witness,
    minimise_error,
    z3_backend,
)
from rewardcert.symbolic.core.errors import (
    BackendUnavailable,
    ModelError,
    RewardcertError,
)
from rewardcert.symbolic.core.io import load_model
from rewardcert.symbolic.core.model import MDP
from rewardcert.symbolic.core.results import Verdict
from rewardcert.symbolic.guidance.floatvi import return_bounds

from tests import reference as ref
from tests.conftest import EXAMPLES, ROOT, project_python_files
from tests.strategies import distributions, mdps

L_FIG4 = F(4, 5)


# -- independent stdlib reference (tests/reference.py) ------------------------------------

def ref_return(mdp, policy, reward):
    return ref.ret(mdp, policy, reward)


ref_occupancy = ref.occupancy
ref_policies = ref.policies
ref_range = ref.range_reward


def ref_regrets(mdp):
    """Regret of every deterministic policy, or None when every return is equal."""
    js = ref.returns(mdp)
    return None if max(js.values()) == min(js.values()) else ref.regrets(mdp)


def ref_error(mdp, data, reward_model):
    return ref.error(mdp, data, reward_model) / ref.range_reward(mdp)


def assert_witness(mdp, data, epsilon, regret_bound, witness):
    """P1, P2 (argmax of J_R̂ over all deterministic policies) and not P3, by brute force."""
    error = ref_error(mdp, data, witness.reward)
    assert witness.error == error
    assert error <= epsilon, "P1"
    model_returns = {pi: ref_return(mdp, pi, witness.reward) for pi in ref_policies(mdp)}
    assert model_returns[witness.policy] == max(model_returns.values()), "P2"
    assert ref_regrets(mdp)[witness.policy] >= regret_bound, "not P3"


constant_model_bound = ref.constant_model_bound


def support_bound(mdp, data, high_regret):
    """Proposition 3.3: R̂ = max R on supp D^π, R elsewhere, for each high-regret π."""
    top = max(mdp.reward)
    return min(sum(data[x] * (top - mdp.reward[x]) for x, e in enumerate(ref_occupancy(mdp, pi)) if e)
               for pi in high_regret) / ref_range(mdp)


def duality_lower_bound(mdp, data, high_regret):
    """min over π ∈ Π_L of max over π' of y · R with y = c (η^{π'} − η^π), c as large as |y| ≤ D allows.

    Weak duality: π optimal for R̂ gives y · R̂ ≤ 0, so E_D|R̂ − R| ≥ y · R.
    """
    occupancies = {pi: ref_occupancy(mdp, pi) for pi in ref_policies(mdp)}
    best_per_policy = []
    for pi in high_regret:
        best = F(0)
        for other, eta_other in occupancies.items():
            diff = [a - b for a, b in zip(eta_other, occupancies[pi])]
            scales = [data[x] / abs(v) for x, v in enumerate(diff) if v]
            if not scales:
                continue
            best = max(best, min(scales) * sum(v * r for v, r in zip(diff, mdp.reward)))
        best_per_policy.append(best)
    return min(best_per_policy) / ref_range(mdp)


def bandit_critical_epsilon(mdp, data, regret_bound):
    """ε*(D) of a contextual bandit in closed form (γ = 0: states decouple).

    π is uniformly optimal for R̂ iff R̂(s, a) ≤ v_s := R̂(s, π(s)) in every state; the cheapest
    R̂ lowers the other actions to v_s, and the convex cost in v_s is least at a reward of s.
    """
    regrets = ref_regrets(mdp)
    if regrets is None:
        return None
    m = mdp.n_actions
    best = None
    for pi, reg in regrets.items():
        if reg < regret_bound:
            continue
        cost = F(0)
        for s, chosen in enumerate(pi):
            r = mdp.reward[s * m:(s + 1) * m]
            d = data[s * m:(s + 1) * m]
            cost += min(d[chosen] * abs(v - r[chosen]) + sum(d[a] * max(F(0), r[a] - v) for a in range(m)
                                                             if a != chosen)
                        for v in r)
        best = cost if best is None else min(best, cost)
    return best / ref_range(mdp)


# -- Figure 4 (golden) --------------------------------------------------------------------

@pytest.fixture(scope="module")
def figure4():
    return load_model(EXAMPLES / "figure4.toml").mdp


def figure4_critical(d):
    d1, d2, d3 = d
    return min(F("0.8") * d1 + F("0.38") * d3, F("1.18") * d1 + F("0.38") * d2, F("1.18") * d3) / F("1.18")


def simplex(denominator):
    return [(F(i, denominator), F(j, denominator), F(denominator - i - j, denominator))
            for i in range(denominator + 1) for j in range(denominator + 1 - i)]


@pytest.mark.parametrize("d", simplex(4) + [(F(1, 3),) * 3, (F(1, 7), F(5, 7), F(1, 7))])
def test_figure4_minimum_matches_hand_formula(figure4, d):
    result = minimise_error(figure4, d, L_FIG4)
    assert isinstance(result, MinimumResult)
    assert result.verdict is Verdict.UNSAFE
    assert result.critical_epsilon == figure4_critical(d)
    assert result.witness.policy == (2,), "only a3 has regret >= 4/5"
    assert_witness(figure4, d, result.critical_epsilon, L_FIG4, result.witness)


@settings(max_examples=25)
@given(st.lists(st.integers(0, 40), min_size=3, max_size=3).filter(lambda w: sum(w) > 0))
def test_figure4_search_flips_exactly_at_the_threshold(figure4, weights):
    d = tuple(F(w, sum(weights)) for w in weights)
    critical = figure4_critical(d)
    at = find_witness(figure4, d, critical, L_FIG4)
    assert isinstance(at, SearchResult)
    assert at.verdict is Verdict.UNSAFE
    assert_witness(figure4, d, critical, L_FIG4, at.witness)
    if critical > 0:
        below = find_witness(figure4, d, critical - F(1, 10**12), L_FIG4)
        assert below.verdict is Verdict.SAFE and below.witness is None
    assert minimise_error(figure4, d, L_FIG4, confirm=False).critical_epsilon == critical


# -- random instances -----------------------------------------------------------------------

regret_bounds = st.integers(1, 10).map(lambda k: F(k, 10))


@given(st.data())
def test_random_mdps_minimum_is_a_tight_verified_threshold(data):
    mdp = data.draw(mdps(max_states=3, min_actions=2, max_actions=3))
    d = data.draw(distributions(mdp, allow_zeros=True))
    regret_bound = data.draw(regret_bounds)
    regrets = ref_regrets(mdp)
    result = minimise_error(mdp, d, regret_bound)
    if regrets is None:  # every policy has the same return
        event("degenerate")
        assert result.verdict is Verdict.SAFE and result.critical_epsilon is None
        assert find_witness(mdp, d, F(1), regret_bound).verdict is Verdict.SAFE
        return
    assert result.verdict is Verdict.UNSAFE
    critical = result.critical_epsilon
    event("epsilon* > 0" if critical else "epsilon* = 0")
    assert_witness(mdp, d, critical, regret_bound, result.witness)

    high_regret = [pi for pi, r in regrets.items() if r >= regret_bound]
    assert critical <= constant_model_bound(mdp, d)
    assert critical <= support_bound(mdp, d, high_regret)
    assert critical >= duality_lower_bound(mdp, d, high_regret)

    at = find_witness(mdp, d, critical, regret_bound)
    assert at.verdict is Verdict.UNSAFE
    assert_witness(mdp, d, critical, regret_bound, at.witness)
    if critical > 0:
        below = find_witness(mdp, d, critical * (1 - F(1, 10**6)), regret_bound)
        assert below.verdict is Verdict.SAFE


@given(st.data())
def test_bandit_minimum_equals_closed_form(data):
    mdp = data.draw(mdps(max_states=3, max_actions=3, bandit=True))
    d = data.draw(distributions(mdp, allow_zeros=True))
    regret_bound = data.draw(regret_bounds)
    result = minimise_error(mdp, d, regret_bound, confirm=False)
    assert result.critical_epsilon == bandit_critical_epsilon(mdp, d, regret_bound)


@settings(max_examples=30)
@given(st.data())
def test_minimum_agrees_with_the_exact_per_policy_lp(data):
    """Differential: the SMT minimum is min over Π_L of the exact engine's f_π(D) (brute force)."""
    policy_error = pytest.importorskip("rewardcert.symbolic.search.policy_error").policy_error
    mdp = data.draw(mdps(min_states=2, max_states=3, min_actions=2, max_actions=3, bandit=False))
    d = data.draw(distributions(mdp, allow_zeros=True))
    regret_bound = data.draw(regret_bounds)
    regrets = ref_regrets(mdp)
    result = minimise_error(mdp, d, regret_bound, confirm=False)
    if regrets is None:
        assert result.critical_epsilon is None
        return
    exact = min(policy_error(mdp, d, pi).value for pi, r in regrets.items() if r >= regret_bound)
    assert result.critical_epsilon == exact / ref_range(mdp)


# -- time-outs, degenerate models, input checks -------------------------------------------

def _hard_instance():
    """4 states x 4 actions (256 policies), positive data, γ = 9/10: z3 needs real work."""
    n, m = 4, 4
    transitions = tuple(((x % n, F(1, 2)), ((x * 3 + 1) % n, F(1, 2))) if x % n != (x * 3 + 1) % n
                        else ((x % n, F(1)),) for x in range(n * m))
    reward = tuple(F((7 * x * x + 3 * x) % 11 - 5, 1 + x % 3) for x in range(n * m))
    mdp = MDP(tuple(f"s{i}" for i in range(n)), tuple(f"a{j}" for j in range(m)), F(9, 10),
              (F(1, 2), F(1, 4), F(1, 4), F(0)), reward, transitions)
    weights = [1 + (5 * x) % 7 for x in range(n * m)]
    return mdp, tuple(F(w, sum(weights)) for w in weights)


def test_timeout_never_reads_as_safe():
    mdp, d = _hard_instance()
    regret_bound = F(1, 5)
    bound = constant_model_bound(mdp, d)  # unsafe at this ε: a constant R̂ is a witness
    result = find_witness(mdp, d, bound, regret_bound, timeout_ms=1)
    assert result.verdict in (Verdict.UNKNOWN, Verdict.UNSAFE)
    if result.verdict is Verdict.UNSAFE:
        assert_witness(mdp, d, bound, regret_bound, result.witness)
    else:
        assert result.witness is None
    critical = minimise_error(mdp, d, regret_bound).critical_epsilon
    assert 0 < critical <= bound
    for budget in (1, 20, 100):
        minimum = minimise_error(mdp, d, regret_bound, timeout_ms=budget)
        assert minimum.verdict in (Verdict.UNKNOWN, Verdict.UNSAFE)
        if minimum.verdict is Verdict.UNSAFE:
            assert minimum.critical_epsilon == critical
        else:
            assert minimum.critical_epsilon is None
        if minimum.witness is not None:  # on UNKNOWN an upper bound on ε*, verified
            assert minimum.witness.error >= critical
            assert_witness(mdp, d, minimum.witness.error, regret_bound, minimum.witness)


def test_degenerate_model_is_safe_without_a_solver(monkeypatch):
    mdp = MDP(("s", "t"), ("a", "b"), F(1, 2), (F(1), F(0)), (F(3, 2),) * 4,
              (((1, F(1)),), ((0, F(1)),), ((1, F(1)),), ((0, F(1)),)))
    d = (F(1, 4),) * 4

    def no_z3():
        raise AssertionError("z3 must not be called on a degenerate model")

    monkeypatch.setattr(z3_backend, "load_z3", no_z3)
    assert find_witness(mdp, d, F(1, 2), F(1)).verdict is Verdict.SAFE
    result = minimise_error(mdp, d, F(1, 2))
    assert (result.verdict, result.critical_epsilon, result.witness) == (Verdict.SAFE, None, None)


def test_inputs_are_exact_and_in_range(figure4):
    d = (F(1, 3),) * 3
    with pytest.raises(ModelError, match="Fraction"):
        find_witness(figure4, d, 0.1, L_FIG4)
    with pytest.raises(ModelError, match="exact rational"):
        minimise_error(figure4, d, 0.8)
    for bad in (F(0), F(11, 10)):
        with pytest.raises(ModelError, match="regret bound"):
            find_witness(figure4, d, F(1, 10), bad)
    with pytest.raises(ModelError, match="epsilon"):
        find_witness(figure4, d, F(-1, 10), L_FIG4)
    with pytest.raises(ModelError, match="sum to"):
        find_witness(figure4, (F(1, 3), F(1, 3), F(1, 2)), F(1, 10), L_FIG4)
    with pytest.raises(ModelError, match="timeout_ms"):
        find_witness(figure4, d, F(1, 10), L_FIG4, timeout_ms=0)


def test_encoding_decodes_its_own_models(figure4):
    """encode_search returns the constraints and the decoder; a model decodes to exact objects."""
    z3 = z3_backend.load_z3()
    ctx = z3_backend.new_context()
    d = (F(1, 2), F(0), F(1, 2))
    constraints, decoder = encode_search(figure4, d, L_FIG4, return_bounds(figure4), ctx, error_bound=F(1))
    solver = z3.Solver(ctx=ctx)
    solver.add(*constraints)
    assert z3_backend.status(solver.check()) == z3_backend.SAT
    witness = decoder.decode(solver.model())
    assert all(isinstance(r, F) for r in witness.reward) and witness.policy == (2,)
    assert_witness(figure4, d, F(1), L_FIG4, witness)


# -- the fence around z3 ------------------------------------------------------------------------

@pytest.mark.parametrize("value", [F(0), F(-5), F(3, 7), F(-10**30 - 1, 10**29 + 7), F(1, 3 ** 60)])
def test_rationals_cross_into_z3_exactly(value):
    ctx = z3_backend.new_context()
    assert z3_backend.to_fraction(z3_backend.rational(value, ctx)) == value


def test_floats_and_irrationals_are_refused():
    ctx = z3_backend.new_context()
    with pytest.raises(RewardcertError, match="exact rationals"):
        z3_backend.rational(0.1, ctx)
    z3 = z3_backend.load_z3()
    x = z3.Real("x", ctx)
    solver = z3.Solver(ctx=ctx)
    solver.add(x * x == 2, x > 0)
    assert z3_backend.status(solver.check()) == z3_backend.SAT
    with pytest.raises(RewardcertError, match="not a rational numeral"):
        z3_backend.model_value(solver.model(), x)


def test_missing_z3_is_backend_unavailable(monkeypatch):
    monkeypatch.setitem(sys.modules, "z3", None)  # makes `import z3` raise ImportError
    with pytest.raises(BackendUnavailable, match="pip install z3-solver"):
        z3_backend.load_z3()
    mdp = load_model(EXAMPLES / "figure4.toml").mdp
    with pytest.raises(BackendUnavailable):
        find_witness(mdp, (F(1, 3),) * 3, F(1, 10), L_FIG4)


_Z3_IMPORT = re.compile(r"^[ \t]*(?:import[ \t]+z3\b|from[ \t]+z3\b)|__import__\(\s*['\"]z3['\"]"
                        r"|import_module\(\s*['\"]z3['\"]", re.M)


def test_z3_is_imported_in_exactly_one_module():
    importers = []
    for path in project_python_files():
        relative = path.relative_to(ROOT)
        if _Z3_IMPORT.search(path.read_text(encoding="utf-8", errors="replace")):
            importers.append(relative.as_posix())
    assert importers == ["smt/z3_backend.py"]
