"""The float twin of the family LP (symbolic/guidance/floatlp.py) only proposes; exact checks decide.

The first tests check the proposals against the exact simplex.  The others replace the float
answers with garbage of several kinds and check that ε*(D), the verdicts and the certificates
stay those of brute force over every policy (tests/test_seed.py's, which uses no float at all).
"""

import random
from fractions import Fraction as F

import numpy as np
import pytest
import rewardcert.symbolic.guidance.floatjit as floatjit
import rewardcert.symbolic.guidance.floatlp as floatlp
import rewardcert.symbolic.search.engine as safety
from rewardcert.proofs import checker
from rewardcert.symbolic.exact.familylp import FamilyLP
from rewardcert.symbolic.exact.linalg import dynamics, to_fmpq

from benchmarks.common import random_distribution, random_mdp
from rewardcert.certificates import (
    interval_certificate,
    safety_certificate,
    threshold_certificate,
)
from tests.test_seed import brute_force


def family_lp(mdp, D):
    return FamilyLP(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [to_fmpq(d) for d in D])


def flow(lp, y, k):
    return sum((v * y[x] for x, col in enumerate(lp.columns) for row, v in col if row == k), to_fmpq(0))


def random_family_lp(seed: int, model_seed: int, n_states: int, zeros: float):
    """A random 3-action MDP's family LP for a random family: ``(lp, lower, exact optimum, float
    twin, float state started from the family's first member)``."""
    rng = random.Random(seed)
    mdp = random_mdp(model_seed, n_states, 3)
    D = random_distribution(seed, mdp, zeros=zeros)
    lp = family_lp(mdp, D)
    family = [rng.choice([None, 0, 1, 2]) for _ in range(mdp.n_states)]
    basis_policy = [0 if a is None else a for a in family]
    lower = lp.lower_bounds(family)
    exact = lp.solve(lp.initial_state(basis_policy), lower)
    twin = floatlp.FloatFamilyLP(lp)
    return lp, lower, exact, twin, twin.start([s * 3 + a for s, a in enumerate(basis_policy)], lower)


@pytest.mark.parametrize("seed", range(6))
def test_the_float_basis_rebuilt_exactly_is_the_exact_optimum(seed):
    lp, lower, plain, twin, state = random_family_lp(seed, 500 + seed, 12, 0.2)
    state = twin.solve(state)
    assert state.optimal and not state.failed
    assert abs(state.value - float(plain.objective)) < 1e-9
    basis = state.basis.tolist()
    rebuilt = lp.vertex(basis, *twin.bounds(state), lower)
    assert rebuilt is not None
    # The basic values from the solve equal those from FLINT's inverse applied to the flow residual.
    binv = lp._inverse(basis)
    residual = [-flow(lp, [0 if x in basis else v for x, v in enumerate(rebuilt.y)], k) for k in range(lp.n)]
    assert [rebuilt.y[x] for x in basis] == [sum((b * r for b, r in zip(row, residual)), to_fmpq(0))
                                             for row in binv]
    # Feasible exactly: flow rows hold and every entry is within its bounds.
    assert all(flow(lp, rebuilt.y, k) == 0 for k in range(lp.n))
    assert all(lo <= v <= hi for lo, v, hi in zip(lp.full(lower), rebuilt.y, lp.upper))
    exact = lp.solve(rebuilt, lower)
    assert exact.optimal and exact.objective == plain.objective


def test_a_float_basis_outside_the_bounds_or_singular_is_refused():
    mdp = random_mdp(501, 6, 3)
    D = random_distribution(1, mdp, zeros=0)
    lp = family_lp(mdp, D)
    lower = lp.lower_bounds([None] * mdp.n_states)
    twin = floatlp.FloatFamilyLP(lp)
    state = twin.solve(twin.start([s * 3 for s in range(mdp.n_states)], lower))
    basis, (uppers, lowers) = state.basis.tolist(), twin.bounds(state)
    assert lp.vertex(basis, uppers, lowers, lower) is not None
    # Every free pair's y >= 0; put one non-basic entry at its upper bound D and the basic ones
    # must absorb a positive flow they cannot (all free: y >= 0 with zero flow forces y = 0).
    off = next(x for x in range(lp.N) if x not in basis and D[x] > 0)
    assert lp.vertex(basis, uppers + [off], lowers, lower) is None
    assert lp.vertex([basis[0]] * lp.n, uppers, lowers, lower) is None
    twice = basis[:1] * 2 + basis[2:]      # a repeated column: refused
    assert lp.vertex(twice, uppers, lowers, lower) is None


@pytest.mark.parametrize("seed", range(3))
def test_a_float_solve_that_gives_up_is_rescued_from_highs_basis(seed):
    pytest.importorskip("highspy")
    lp, lower, exact, twin, state = random_family_lp(seed, 700 + seed, 10, 0.1)
    twin.max_pivots = 0                     # every solve gives up at once
    state = twin.solve(state)
    assert state.failed
    twin.max_pivots = 10 ** 4
    rescued = twin.rescue(state)
    assert not rescued.failed and rescued.optimal
    vertex = lp.vertex(rescued.basis.tolist(), *twin.bounds(rescued), lower)
    assert vertex is not None and lp.solve(vertex, lower).objective == exact.objective


def test_a_discount_that_rounds_to_one_gets_exact_answers_without_float_guidance():
    # Regression (hypothesis found it): gamma = 10^17/(10^17 + 1) is 1.0 as a float, so the float
    # Bellman systems were singular and numpy's LinAlgError escaped as an internal error (exit 70).
    from rewardcert.symbolic.core.model import MDP, uniform_distribution
    gamma = F(10 ** 17, 10 ** 17 + 1)
    mdp = MDP(states=("s0", "s1"), actions=("a0", "a1"), gamma=gamma, initial=(F(0), F(1)),
              reward=(F(0), F(0), F(0), F(1)), transitions=(((0, F(1)),),) * 4, name="near-one")
    assert float(gamma) == 1.0
    assert not floatlp.FloatPessimal(dynamics(mdp), [to_fmpq(r) for r in mdp.reward], [[0, 1]] * 2).usable
    assert_brute_force_answers(mdp, uniform_distribution(mdp), (F(1, 4), F(1)))


def assert_brute_force_answers(mdp, D, regret_bounds):
    """``critical_epsilon`` gives brute force's ε* at each L, with a certificate that checks."""
    for L in regret_bounds:
        star, _ = brute_force(mdp, D, L)
        result = safety.critical_epsilon(mdp, D, L)
        assert result.complete and result.critical_epsilon == star
        if star is not None:
            status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
            assert status == "verified", message


def test_rewards_too_large_for_floats_get_exact_answers_and_no_numpy_warning():
    # Regression: with a 500-digit reward the float twin is off (every float solve "fails"), and
    # the branching rule still read its reduced costs, inf - inf: a RuntimeWarning on stderr.
    import warnings

    from rewardcert.symbolic.core.model import MDP, uniform_distribution
    big = F(5 * 10 ** 500)
    mdp = MDP(states=("s0", "s1"), actions=("a0", "a1"), gamma=F(1, 2), initial=(F(1), F(0)),
              reward=(big, F(0), F(1), F(0)),
              transitions=(((1, F(1)),), ((0, F(1)),), ((0, F(1)),), ((1, F(1)),)), name="big")
    D = uniform_distribution(mdp)
    for L in (F(1, 4), F(1)):
        star, _ = brute_force(mdp, D, L)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = safety.critical_epsilon(mdp, D, L)
        assert result.complete and result.critical_epsilon == star


@pytest.mark.skipif(floatjit.kernel() is None, reason="numba is not installed: no compiled kernel")
@pytest.mark.parametrize("seed", range(6))
def test_searches_with_the_compiled_kernel_from_the_first_solve_give_the_brute_force_answer(
        monkeypatch, seed):
    # A search loads the kernel only after KERNEL_AFTER solves, so small searches never use it;
    # here it takes over at once.  The answers must be brute force's, and the certificates check.
    monkeypatch.setattr(floatjit, "KERNEL_AFTER", 1)
    real, calls = floatjit.kernel(), [0, 0]

    def counted(*args):
        calls[0] += 1
        return real.pivot_loop(*args)

    def counted_pessimal(*args):
        calls[1] += 1
        return real.pessimal(*args)
    counting = real._replace(pivot_loop=counted, pessimal=counted_pessimal)
    monkeypatch.setattr(floatjit, "kernel", lambda n_states=0: counting)
    mdp = random_mdp(9100 + seed, 3 + seed % 3, 2 + seed % 2)
    assert_brute_force_answers(mdp, random_distribution(9200 + seed, mdp, 0.3 * (seed % 2)), (F(1, 4), F(3, 4)))
    assert calls[0] > 0 and calls[1] > 0, "the searches should have used the compiled kernels"


def test_kernels_that_fail_give_way_to_the_numpy_loops(monkeypatch, shallow_occupancy):
    # numba may be unable to compile or cache the kernels on some machine: the search must carry on
    # in numpy (and stay exact), never crash.
    import rewardcert.symbolic.search.occupancy as occupancy

    def broken(*args):
        raise RuntimeError("cannot compile here")
    monkeypatch.setattr(floatjit, "_KERNEL", [floatjit.Kernels(*[broken] * 5)])
    monkeypatch.setattr(floatjit, "KERNEL_AFTER", 1)
    monkeypatch.setattr(occupancy, "KERNEL_AFTER", 1)
    mdp = random_mdp(9400, 5, 3)
    assert_brute_force_answers(mdp, random_distribution(9401, mdp), (F(1, 4), F(3, 4)))
    assert floatjit._KERNEL == [None]
    # Each place that calls a kernel falls back by itself, with the numpy loop's answer.
    from rewardcert.symbolic.search.occupancy import FamilyOccupancy
    bad = floatjit.Kernels(*[broken] * 5)
    dyn, reward = dynamics(mdp), [to_fmpq(r) for r in mdp.reward]
    enabled = [list(range(mdp.n_actions))] * mdp.n_states
    plain, failing = floatlp.FloatPessimal(dyn, reward, enabled), floatlp.FloatPessimal(dyn, reward, enabled)
    family, start = [None, 1, None, 0, None], [0, 1, 2, 0, 1]
    failing.kernel, failing.calls = bad, 10          # past KERNEL_AFTER: no reloading
    assert failing.pessimal(family, start) == plain.pessimal(family, start) and failing.kernel is None
    failing.kernel = bad
    assert failing.values(start).tolist() == plain.values(start).tolist() and failing.kernel is None
    lp, lower, exact, twin, state = random_family_lp(3, 703, 7, 0.0)
    ours = state.copy()
    twin.kernel, twin.solves = bad, 10
    twin.solve(ours)
    assert twin.kernel is None and ours.optimal and abs(ours.value - float(exact.objective)) < 1e-9
    base = [F(10)] * mdp.n_states
    one, two = FamilyOccupancy(mdp, enabled), FamilyOccupancy(mdp, enabled)
    two.kernel, two.calls = bad, 10
    assert two.refine(family, base)[:2] == one.refine(family, base)[:2] and two.kernel is None


@pytest.fixture
def shallow_occupancy(monkeypatch):
    monkeypatch.setattr(safety, "NODE_OCCUPANCY_DEPTHS", frozenset((1, 2, 3)))


def test_models_past_the_kernels_size_limit_keep_the_numpy_loops():
    assert floatjit.kernel(floatjit.MAX_STATES + 1) is None
    assert floatjit.kernel(floatjit.MAX_STATES) is floatjit.kernel()


@pytest.mark.skipif(floatjit.kernel() is None, reason="numba is not installed: no compiled kernel")
@pytest.mark.parametrize("seed", range(8))
def test_compiled_float_policy_iteration_agrees_with_the_numpy_one(seed):
    # Against the numpy loop, which stays the reference (np.linalg.solve); and both against the
    # exact return of the policy they propose.
    from rewardcert.symbolic.exact.evaluation import expected_return
    mdp = random_mdp(9300 + seed, 3 + seed, 2 + seed % 3, gamma=F(1, 2) if seed % 2 else F(9, 10))
    dyn, reward = dynamics(mdp), [to_fmpq(r) for r in mdp.reward]
    enabled = [list(range(mdp.n_actions))] * mdp.n_states
    plain, compiled = floatlp.FloatPessimal(dyn, reward, enabled), floatlp.FloatPessimal(dyn, reward, enabled)
    compiled.kernel = floatjit.kernel()
    rng = random.Random(seed)
    for _ in range(20):
        family = [rng.choice([None, rng.randrange(mdp.n_actions)]) for _ in range(mdp.n_states)]
        start = [a if a is not None else rng.randrange(mdp.n_actions) for a in family]
        ours, theirs = compiled.pessimal(family, start), plain.pessimal(family, start)
        assert ours[0] == theirs[0]
        exact = float(expected_return(mdp, ours[0]))
        assert abs(ours[1] - exact) <= 1e-9 * (1 + abs(exact)) and abs(theirs[1] - exact) <= 1e-9 * (1 + abs(exact))
        assert np.allclose(compiled.values(start), plain.values(start), rtol=1e-12, atol=1e-12)


# -- garbage from the floats -----------------------------------------------------------------

def sabotage(monkeypatch, mode: str) -> None:
    """Make the float LP and the float policy iteration answer ``mode``'s kind of garbage."""
    rng = random.Random(hash(mode) % 1000)
    solve, evaluate = floatlp.FloatFamilyLP.solve, floatlp.FloatPessimal.evaluate

    def bad_solve(self, state, stop_at=None):
        if mode == "optimist":          # every family looks closable: the exact vertex must decide
            solve(self, state, stop_at)
            state.value = float("inf")
        elif mode == "pessimist":       # no family ever looks closable: only exact leaves remain
            solve(self, state, stop_at)
            state.value = float("-inf")
        elif mode == "random basis":    # a random basis with random values: the rebuild must refuse it
            state.basis = np.array(rng.sample(range(self.lp.N), self.n))
            state.y = np.array([rng.uniform(-1, 1) for _ in range(self.width)])
            state.value = rng.choice([float("inf"), float("-inf"), rng.uniform(-1, 1)])
        elif mode == "failed":
            state.failed = True
        state.exact = None
        return state

    def bad_evaluate(self, policy):
        # "optimist": every child looks like it has a member of regret >= L, so no float work
        # closes anything by regret; the others: it never looks so, and exact policy iteration runs.
        return float("-inf") if mode == "optimist" else float("inf")

    def bad_pessimal(self, family, start):
        policy = [a if a is not None else rng.randrange(self.m) for a in family]
        policy = [a if self.enabled[s, a] else int(np.argmax(self.enabled[s])) for s, a in enumerate(policy)]
        return tuple(policy), rng.choice([float("inf"), float("-inf")])

    monkeypatch.setattr(floatlp.FloatFamilyLP, "solve", bad_solve)
    monkeypatch.setattr(floatlp.FloatPessimal, "evaluate", bad_evaluate)
    monkeypatch.setattr(floatlp.FloatPessimal, "pessimal", bad_pessimal)
    assert evaluate is not bad_evaluate


MODES = ["optimist", "pessimist", "random basis", "failed"]


def lied_to(monkeypatch, mode, model_seed, n_states, data_seed, L, zeros=0.0):
    """A random 3-action instance, its ε* by brute force (no floats), then the floats sabotaged."""
    mdp = random_mdp(model_seed, n_states, 3)
    D = random_distribution(data_seed, mdp, zeros=zeros)
    star, _ = brute_force(mdp, D, L)
    sabotage(monkeypatch, mode)
    return mdp, D, star


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("seed", range(3))
def test_garbage_floats_never_change_the_critical_error(monkeypatch, mode, seed):
    L = F(1, 2)
    mdp, D, star = lied_to(monkeypatch, mode, 8000 + seed, 5, seed, L, zeros=0.2)
    result = safety.critical_epsilon(mdp, D, L)
    assert result.complete and result.critical_epsilon == star
    status, message, _ = checker.check_document(threshold_certificate(mdp, D, L, result))
    assert status == "verified", message


@pytest.mark.parametrize("mode", MODES)
def test_garbage_floats_never_change_a_verdict(monkeypatch, mode):
    L = F(1, 4)
    mdp, D, star = lied_to(monkeypatch, mode, 8100, 5, 7, L)
    assert star is not None and star > 0
    for epsilon in (star / 2, star):
        result = safety.critical_epsilon(mdp, D, L, decide_epsilon=epsilon)
        assert result.verdict(epsilon).value == ("safe" if epsilon < star else "unsafe")
        status, message, _ = checker.check_document(safety_certificate(mdp, D, epsilon, L, result))
        assert status == "verified", message


@pytest.mark.parametrize("mode", MODES)
def test_garbage_floats_never_widen_a_claim_past_the_truth(monkeypatch, mode):
    L = F(1, 2)
    mdp, D, star = lied_to(monkeypatch, mode, 8200, 6, 3, L)
    result = safety.critical_epsilon(mdp, D, L, max_nodes=40, refine=True, finish_seconds=1)
    if result.complete:
        assert result.critical_epsilon == star
        return
    assert result.lower_bound <= star
    assert result.upper_bound is None or star <= result.upper_bound
    status, message, _ = checker.check_document(interval_certificate(mdp, D, L, result))
    assert status == "verified", message


def masked_solve(twin, state, stop_at=None):
    """The float simplex written plainly with elementwise masks (the form ``FloatFamilyLP.solve``
    had before it kept its pricing flags across pivots): the same rules, priced from scratch."""
    tie, tol, ptol_rel = floatlp.TIE, floatlp.REDUCED_COST_TOL, floatlp.PIVOT_TOL
    c, upper, flower, basis, y = twin.c, twin.upper, state.flower, state.basis, state.y
    nonbasic = np.ones(twin.width, dtype=bool)
    nonbasic[basis] = False
    nonbasic[twin.logicals] = False
    degenerate, target = 0, None if stop_at is None else stop_at + twin.margin
    state.optimal = False
    while not state.failed:
        if target is not None and state.value >= target:
            return state
        if state.pivots >= twin.max_pivots:
            state.failed = True
            return state
        d = c - twin.at @ (c[basis] @ state.binv)
        eligible = nonbasic & (((d > tol) & (y < upper)) | ((d < -tol) & (y > flower)))
        if not eligible.any():
            state.optimal = True
            return state
        score = np.where(eligible, np.abs(d), -1.0)
        entering = int(eligible.argmax()) if degenerate else int((score >= score.max() * (1 - tie)).argmax())
        rising = d[entering] > 0
        w = state.binv @ twin.at[entering]
        theta, wd = (upper[entering] - y[entering], w) if rising else (y[entering] - flower[entering], -w)
        yb, size = y[basis], np.abs(wd)
        moving = size > ptol_rel * max(1.0, size.max())
        room = np.full(twin.n, np.inf)
        gap = np.where(wd > 0, yb - flower[basis], upper[basis] - yb)
        room[moving] = gap[moving] / size[moving]
        least = max(0.0, room.min())
        leave = -1
        if least < theta * (1 - tie):
            tied = np.flatnonzero(room <= least * (1 + tie) + 1e-300)
            leave, theta = int(tied[basis[tied].argmin()]), least
        state.pivots += 1
        if theta > 0:
            y[entering] += theta if rising else -theta
            y[basis] = yb - theta * wd
            degenerate = 0
        else:
            degenerate += 1
        if leave < 0:
            y[entering] = upper[entering] if rising else flower[entering]
        else:
            leaving = int(basis[leave])
            y[leaving] = flower[leaving] if wd[leave] > 0 else upper[leaving]
            row = state.binv[leave] / w[leave]
            state.binv -= np.outer(w, row)
            state.binv[leave] = row
            basis[leave] = entering
            nonbasic[leaving], nonbasic[entering] = leaving < twin.lp.N, False
            state.since_refactor += 1
            if state.since_refactor >= floatlp.REFACTOR_EVERY:
                twin.refactor(state)
                continue
        state.value = float(c @ y)
    return state


KERNELS = ["numpy"] + (["compiled"] if floatjit.kernel() is not None else [])


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("seed", range(12))
def test_the_float_simplex_walks_the_same_path_as_a_plainly_masked_one(monkeypatch, seed, kernel):
    # The tree the search builds depends on the float pivots; the solve keeps its pricing flags
    # across pivots and runs its ratio test in Python, and must compute exactly the same floats.
    # The compiled loop (symbolic/guidance/floatjit.py) must take the same pivots; its sums run in another
    # order than BLAS's, so its floats agree to rounding only.
    lp, lower, plain, twin, start = random_family_lp(seed, 700 + seed, 4 + seed % 9, 0.3 * (seed % 2))
    twin.kernel = floatjit.kernel() if kernel == "compiled" else None
    monkeypatch.setattr(floatjit, "KERNEL_AFTER", 10 ** 9)       # no switch mid-test
    for stop_at in (None, float(plain.objective) / 2, float(plain.objective)):
        ours, theirs = twin.solve(start.copy(), stop_at), masked_solve(twin, start.copy(), stop_at)
        assert (ours.optimal, ours.failed, ours.pivots) == (theirs.optimal, theirs.failed, theirs.pivots)
        assert ours.basis.tolist() == theirs.basis.tolist()
        if kernel == "numpy":
            assert ours.y.tolist() == theirs.y.tolist() and ours.value == theirs.value
        else:
            assert np.allclose(ours.y, theirs.y, rtol=1e-12, atol=1e-15)
            assert abs(ours.value - theirs.value) <= 1e-12 * max(1.0, abs(theirs.value))
        if stop_at is None:
            assert ours.optimal and abs(ours.value - float(plain.objective)) < 1e-9
