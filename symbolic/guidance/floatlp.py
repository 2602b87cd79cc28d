"""A floating-point twin of the exact family LP that only steers it (it never decides).

The branch and bound of ``symbolic/search/engine.py`` solves two family LPs at every
node (``symbolic/exact/familylp.py``).  Over FLINT rationals a pivot costs about
0.3 ms at 16 states, because every entry of the basis inverse is a Python
object; in numpy floats it costs tens of microseconds, mostly numpy's own
call overhead.  So the search pivots in floats, with the same bounded-variable
primal simplex, the same bounds and the same tie-breaking, and turns to exact
arithmetic only where an answer is used:

* a family *closes* only on an exact vertex: the float basis is rebuilt
  exactly (``FamilyLP.vertex``: non-basic pairs at the bounds the floats
  name, one exact ``n×n`` solve for the basic ones, every bound checked
  exactly), and its exact value must reach the target.  If the floats said it
  would and the exact vertex does not, the exact simplex carries on from that
  vertex and decides; if the floats failed, the family is split;
* a single-policy leaf gets its exact optimum the same way, and the exact
  simplex confirms optimality by pricing every pair exactly;
* a family the floats bound clearly below the target (by more than
  ``MARGIN`` times the reward scale) is split without an exact solve.  That
  costs nothing in soundness: a split family is covered by its children, and
  the leaves are exact;
* the branching choice and the order of the children come from the floats.
  They shape the tree, never its soundness.

So a wrong float answer, or a float LP that gives up
(``MAX_PIVOTS_PER_STATE``), costs time and nothing else;
``tests/test_floatlp.py`` replaces this module's answers with garbage and
checks that ``ε*``, the verdicts and the certificates do not change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..guidance import floatjit
from .pivotstatus import GAVE_UP, OPTIMAL, SINGULAR

LARGEST = 1e100
"""A model whose rewards exceed this in magnitude gets no float guidance (every LP is exact)."""


def to_float(value) -> float:
    """``float(value)``, or ±inf where it overflows (a rational of thousands of digits)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


GAMMA_GAP = 1e-9
"""Float policy iteration is off where ``1 − γ`` (as a float) is below this."""

MARGIN = 1e-9
"""Relative margin (to the largest |R|) within which a float value counts as "at the target": the
exact vertex is then rebuilt and decides.  Float error in these LPs is around 1e-14."""

REDUCED_COST_TOL = 1e-11
TIE = 1e-9
"""Values within this relative distance count as tied, and ties break as in the exact simplex."""
PIVOT_TOL = 1e-9
REFACTOR_EVERY = 8
"""Pivot entries below ``PIVOT_TOL`` (relative) are treated as 0; the basis inverse is recomputed
every ``REFACTOR_EVERY`` pivots.  Some bases of these LPs are ill-conditioned (two columns of one
state, none of another), and with 32 updates between refactorisations the float simplex reached a
singular basis on the 4×4 lake."""
MAX_PIVOTS_PER_STATE = 10
"""A float solve that needs more than ``10·|S| + 100`` pivots gives up; HiGHS then proposes a
basis (``FloatFamilyLP.rescue``), or else the search splits the family (always sound).  With every
state free, ``y = 0`` is the only feasible point, and the 8×8 lake's LPs near the root cycled
through degenerate pivots until this stopped them."""


@dataclass
class FloatState:
    """A (nearly) feasible float basis of a family LP.  ``lower`` and ``rhs`` are the exact bounds
    and flow right-hand side it belongs to, kept so the exact vertex can be rebuilt; ``exact``
    caches that vertex (``False``: rebuilt and rejected)."""

    basis: np.ndarray          # basic variable per row (int)
    y: np.ndarray              # all variables; non-basic ones exactly at 0 or at a bound's float
    binv: np.ndarray           # inverse of the basis matrix
    value: float
    flower: np.ndarray | None = None   # the lower bounds as floats
    lower: Sequence = ()
    rhs: Sequence | None = None
    optimal: bool = False
    failed: bool = False
    pivots: int = 0
    since_refactor: int = 0
    exact: object = None
    frhs: np.ndarray | None = None     # ``rhs`` as floats, once a refactorisation needed it

    def copy(self) -> "FloatState":
        return FloatState(self.basis.copy(), self.y.copy(), self.binv.copy(), self.value, self.flower, self.lower,
                          self.rhs, self.optimal, self.failed, 0, self.since_refactor, frhs=self.frhs)


class FloatFamilyLP:
    """numpy twin of a ``FamilyLP``: same columns, rewards and upper bounds, as float64."""

    def __init__(self, lp):
        self.lp = lp
        self.n, self.width = lp.n, lp.width
        a = np.zeros((lp.n, lp.width))
        for x, column in enumerate(lp.columns):
            for k, v in column:
                a[k, x] = float(v)
        self.a = a
        self.at = np.ascontiguousarray(a.T)
        self.c = np.array([to_float(v) for v in lp.reward])
        self.upper = np.array([to_float(v) for v in lp.upper])
        self.scale = max(1.0, float(np.max(np.abs(self.c)))) if self.width else 1.0
        self.usable = self.scale < LARGEST      # else every solve reports failure: the exact LPs take over
        self.margin = MARGIN * self.scale
        self.logicals = np.arange(lp.N, lp.width)
        self.max_pivots = MAX_PIVOTS_PER_STATE * lp.n + 100
        self.solves = 0
        self.kernel = None     # symbolic/guidance/floatjit.py's compiled loops, once KERNEL_AFTER solves have run
        self.zeros = np.zeros(self.n)

    def lower(self, lower: Sequence) -> np.ndarray:
        return np.array([to_float(v) for v in self.lp.full(lower)])

    def family_lower(self, family: Sequence[int | None]) -> np.ndarray:
        """``FamilyLP.lower_bounds(family)`` as floats, without converting each rational."""
        flower = np.zeros(self.width)
        fixed = [s * self.lp.m + a for s, a in enumerate(family) if a is not None]
        flower[fixed] = -self.upper[fixed]
        return flower

    def start(self, basis: Sequence[int], lower: Sequence, *, rhs: Sequence | None = None,
              flower: np.ndarray | None = None) -> FloatState:
        """The basis ``basis`` with every other variable at 0; the basic values follow from the
        flow rows."""
        y = np.zeros(self.width)
        basis = np.array(basis, dtype=np.int64)
        state = FloatState(basis, y, np.eye(self.n), 0.0, self.lower(lower) if flower is None else flower,
                           lower, rhs)
        self.refactor(state)
        return state

    def rescue(self, state: FloatState) -> FloatState:
        """A solve that gave up, restarted from HiGHS's optimal basis of the same LP
        (``symbolic/guidance/floatvi.py``); it stays failed if HiGHS is missing or its basis does not fit."""
        from .highs import propose_basis
        lp = self.lp
        proposal = propose_basis(self.n, lp.columns, lp.reward, lp.full(state.lower), lp.upper, state.rhs)
        if proposal is None:
            return state
        basis, sides = proposal
        y = np.zeros(self.width)
        for x, side in enumerate(sides):
            if side == "upper":
                y[x] = self.upper[x]
            elif side == "lower":
                y[x] = state.flower[x]
        rescued = FloatState(np.array(basis, dtype=np.int64), y, np.eye(self.n), 0.0, state.flower, state.lower,
                             state.rhs)
        self.refactor(rescued)
        if rescued.failed:
            return state
        self.solve(rescued)
        return state if rescued.failed else rescued

    def refactor(self, state: FloatState) -> None:
        """Recompute the basis inverse and the basic values from scratch."""
        basis, y = state.basis, state.y
        if not self.usable:
            state.failed = True
            return
        rhs = self._float_rhs(state)
        if self.kernel is not None:
            if state.binv.shape != (self.n, self.n) or not state.binv.flags.writeable:
                state.binv = np.empty((self.n, self.n))
            try:
                ok, state.value = self.kernel.refactor(self.a, self.c, basis, y, state.binv, rhs)
            except Exception:        # the kernels cannot run here: numpy from now on
                floatjit.disable()
                self.kernel = None
            else:
                state.failed = state.failed or not ok
                state.since_refactor = 0
                return
        try:
            state.binv = np.linalg.inv(self.a[:, basis])
        except np.linalg.LinAlgError:
            state.failed = True
            return
        y[basis] = 0.0
        y[basis] = state.binv @ (rhs - self.a @ y)
        state.value = float(self.c @ y)
        state.since_refactor = 0

    def bind(self, state: FloatState, lower: Sequence, rhs: Sequence | None = None,
             flower: np.ndarray | None = None) -> FloatState:
        """Give ``state`` (a parent's copy) the child's exact bounds (and their floats, if known);
        the basis stays feasible because a child only relaxes bounds."""
        if rhs is not state.rhs:
            state.frhs = None
        state.lower, state.rhs, state.exact = lower, rhs, None
        state.flower = self.lower(lower) if flower is None else flower
        return state

    def solve(self, state: FloatState, stop_at: float | None = None) -> FloatState:
        """Pivot to a float optimum, in place (or until the value passes ``stop_at`` by the margin).
        ``state.failed`` if the floats give up; then nothing about the state may be relied on.

        The loop is written for few numpy calls per pivot (each costs about a microsecond at these
        sizes, more than its arithmetic):

        * which non-basic variables may rise (``up = 1``) or fall (``down = −1``) is kept in two
          arrays and changed only for the two variables a pivot moves, so pricing is
          ``max(d·up, d·down)``, a pair's ``|d|`` where it may move that way and at most 0 elsewhere;
        * the ratio test runs over the ``|S|`` basic rows in plain Python floats, with the basic
          variables' bounds and indices kept beside the basis as lists;
        * the rank-one update is a broadcast.

        It computes the same floats as an elementwise version with masks (the bounds, ratios and
        ties are the same IEEE operations), so the search tree does not depend on how it is written."""
        at, c, upper, flower = self.at, self.c, self.upper, state.flower
        basis, y = state.basis, state.y
        inf, fmax, flargest = math.inf, np.fmax, np.fmax.reduce      # fmax: a NaN never wins the pricing
        N = self.lp.N
        nonbasic = np.ones(self.width, dtype=bool)
        nonbasic[basis] = False
        nonbasic[self.logicals] = False             # logicals never enter
        up = (nonbasic & (y < upper)).astype(float)
        down = -(nonbasic & (y > flower)).astype(float)
        tol = REDUCED_COST_TOL
        above_tol = math.nextafter(tol, inf)        # |d| must exceed the tolerance to be priced in
        degenerate = 0
        target = None if stop_at is None else stop_at + self.margin
        state.optimal = False
        c_basic = c[basis]
        self.solves += 1
        if self.solves == floatjit.KERNEL_AFTER:
            self.kernel = floatjit.kernel(self.n)
        if self.kernel is not None:
            try:
                return self._compiled(state, up, down, c_basic, target)
            except Exception:        # the kernels cannot run here: numpy from now on
                floatjit.disable()
                self.kernel = None
        low_list, up_list, basis_list = flower[basis].tolist(), upper[basis].tolist(), basis.tolist()

        def flag(x: int, value: float) -> None:
            """``up`` and ``down`` of a variable that is non-basic at ``value`` now."""
            up[x] = 1.0 if value < upper[x] else 0.0
            down[x] = -1.0 if value > flower[x] else 0.0

        while not state.failed:
            if target is not None and state.value >= target:
                return state
            if state.pivots >= self.max_pivots:
                state.failed = True
                return state
            d = c - at @ (c_basic @ state.binv)
            score = fmax(d * up, d * down)
            best = flargest(score)
            if not best > tol:
                state.optimal = True
                return state
            if degenerate:
                entering = int((score > tol).argmax())         # Bland: the first eligible
            else:
                # The largest |d|, ties (within rounding) to the first, as the exact simplex does:
                # the floats should walk the exact method's path, which gave the smaller trees.
                cut = best * (1 - TIE)
                entering = int((score >= (cut if cut > tol else above_tol)).argmax())
            rising = d[entering] > 0.0
            w = state.binv @ at[entering]
            if rising:
                theta, wd = upper[entering] - y[entering], w
            else:
                theta, wd = y[entering] - flower[entering], -w
            yb = y[basis]
            ws, ybs = wd.tolist(), yb.tolist()
            ptol = PIVOT_TOL * max(1.0, max(map(abs, ws)))
            # A basic variable falling (wd > 0) may go down to its lower bound, a rising one up to
            # its upper bound; the others (|wd| within the pivot tolerance) do not limit the step.
            ratios = [((ybs[i] - low_list[i]) / v if v > 0.0 else (up_list[i] - ybs[i]) / -v, i)
                      for i, v in enumerate(ws) if v > ptol or v < -ptol]
            least = max(0.0, min(ratios)[0]) if ratios else inf
            if least >= theta * (1 - TIE):
                leave = -1                   # a bound flip wins ties, as in the exact simplex
            else:
                # The least ratio, ties (within rounding) to the smallest variable index.
                cutoff = least * (1 + TIE) + 1e-300
                tied = [i for r, i in ratios if r <= cutoff]
                leave = tied[0] if len(tied) == 1 else min(tied, key=basis_list.__getitem__)
                theta = least
            state.pivots += 1
            if theta > 0:
                y[entering] += theta if rising else -theta
                y[basis] = yb - theta * wd
                degenerate = 0
            else:
                degenerate += 1
            if leave < 0:
                # The entering variable went from one bound to the other: snap it exactly.
                y[entering] = upper[entering] if rising else flower[entering]
                flag(entering, y[entering])
            else:
                leaving = int(basis[leave])
                y[leaving] = yl = low_list[leave] if ws[leave] > 0 else up_list[leave]
                row = state.binv[leave] / w[leave]
                state.binv -= w[:, None] * row
                state.binv[leave] = row
                basis[leave] = entering
                c_basic[leave] = c[entering]
                low_list[leave], up_list[leave] = float(flower[entering]), float(upper[entering])
                basis_list[leave] = entering
                up[entering] = down[entering] = 0.0
                if leaving < N:                  # a pair, not a logical: it may enter again
                    flag(leaving, yl)
                state.since_refactor += 1
                if state.since_refactor >= REFACTOR_EVERY:
                    self.refactor(state)
                    continue
            state.value = float(c @ y)
        return state

    def _compiled(self, state: FloatState, up, down, c_basic, target) -> FloatState:
        """``solve``'s loop in ``symbolic/guidance/floatjit.py``'s compiled kernel, from the same flags."""
        basis, flower = state.basis, state.flower
        has_target = target is not None
        status, state.pivots, state.since_refactor, state.value = self.kernel.pivot_loop(
            self.at, self.a, self.c, self.upper, flower, basis, state.y, state.binv, self._float_rhs(state),
            up, down, c_basic, flower[basis], self.upper[basis], state.value, target if has_target else 0.0,
            has_target, self.max_pivots, state.pivots, state.since_refactor, self.lp.N, REDUCED_COST_TOL,
            math.nextafter(REDUCED_COST_TOL, math.inf), TIE, PIVOT_TOL, REFACTOR_EVERY)
        state.optimal = status == OPTIMAL
        state.failed = status in (GAVE_UP, SINGULAR)
        return state

    def _float_rhs(self, state: FloatState) -> np.ndarray:
        """The flow right-hand side as floats (zeros for the plain family LP)."""
        if state.rhs is None:
            return self.zeros
        if state.frhs is None:
            state.frhs = np.array([to_float(v) for v in state.rhs])
        return state.frhs

    def bounds(self, state: FloatState) -> tuple[list[int], list[int]] | None:
        """The non-basic variables at a non-zero upper bound and at a non-zero lower bound, for
        ``FamilyLP.vertex`` (every other non-basic one is at 0); ``None`` if one sits at no bound
        (the floats went wrong)."""
        y = state.y
        off = np.ones(self.width, dtype=bool)
        off[state.basis] = False
        off &= y != 0.0
        at_upper = off & (y == self.upper)
        at_lower = off & ~at_upper & (y == state.flower)
        if (off & ~at_upper & ~at_lower).any():
            return None
        return np.flatnonzero(at_upper).tolist(), np.flatnonzero(at_lower).tolist()

    def multipliers(self, state: FloatState) -> np.ndarray:
        return self.c[state.basis] @ state.binv

    def reduced_costs(self, state: FloatState) -> np.ndarray:
        return self.c - self.at @ self.multipliers(state)


class FloatPessimal:
    """Policy iteration in floats, restricted to a family's actions: it proposes the family's
    pessimal member and its return.  The search uses the proposal in one direction only: a
    family whose proposed member returns clearly less than ``thr`` has a member of regret ``≥ L``
    (the proposal is a member, and its return is an upper bound on the family's least), so it is
    kept and split; that costs nothing in soundness (see the module docstring).  A regret closure
    always comes from exact policy iteration."""

    def __init__(self, dyn, reward: Sequence, enabled: Sequence[Sequence[int]]):
        n, m = dyn.n, dyn.m
        self.n, self.m = n, m
        p = np.zeros((n * m, n))
        for x, row in enumerate(dyn.succ):
            for t, gp in row:
                p[x, t] = float(gp)
        self.p = p                                     # γ·τ
        self.r = np.array([to_float(v) for v in reward])
        self.mu0 = np.array([float(v) for v in dyn.mu0])
        self.enabled = np.zeros((n, m), dtype=bool)
        for s, actions in enumerate(enabled):
            self.enabled[s, list(actions)] = True
        self.states = np.arange(n)
        self.eye = np.eye(n)
        scale = max(1.0, float(np.max(np.abs(self.r)))) if self.r.size else 1.0
        gamma = float(dyn.gamma)
        self.margin = MARGIN * scale / max(1e-12, 1.0 - gamma)
        # A γ within rounding of 1 (e.g. 10^17/(10^17 + 1), which is 1.0 as a float) makes the
        # float Bellman systems singular: no float answers then, exact policy iteration decides.
        self.usable = scale < LARGEST and 1.0 - gamma >= GAMMA_GAP
        self.calls = 0
        self.kernel = None     # symbolic/guidance/floatjit.py's compiled loops, once KERNEL_AFTER calls have run

    def _count(self) -> None:
        self.calls += 1
        if self.calls == floatjit.KERNEL_AFTER:
            self.kernel = floatjit.kernel(self.n)

    def values(self, policy) -> np.ndarray | None:
        """The float state values of one deterministic policy; None if the floats cannot say."""
        self._count()
        if self.kernel is not None:
            out = np.empty(self.n)
            try:
                return out if self.kernel.values(self.p, self.r, np.asarray(policy, dtype=np.int64), out) else None
            except Exception:        # the kernels cannot run here: numpy from now on
                floatjit.disable()
                self.kernel = None
        rows = self.states * self.m + np.asarray(policy)
        try:
            return np.linalg.solve(self.eye - self.p[rows], self.r[rows])
        except np.linalg.LinAlgError:
            return None

    def evaluate(self, policy: Sequence[int]) -> float:
        """The float return of one deterministic policy (+inf: no float answer)."""
        values = self.values(policy) if self.usable else None
        return math.inf if values is None else float(self.mu0 @ values)

    def pessimal(self, family: Sequence[int | None], start: Sequence[int]) -> tuple[tuple[int, ...], float]:
        """A (float) uniformly pessimal member of ``family`` and its return (+inf: no float answer)."""
        if not self.usable:
            return tuple(start), math.inf
        n, m = self.n, self.m
        allowed = self.enabled.copy()
        for s, a in enumerate(family):
            if a is not None:
                allowed[s] = False
                allowed[s, a] = True
        policy = np.array(start, dtype=np.int64)
        self._count()
        if self.kernel is not None:
            try:
                ok, value = self.kernel.pessimal(self.p, self.r, allowed, policy, self.mu0)
            except Exception:        # the kernels cannot run here: numpy from now on
                floatjit.disable()
                self.kernel = None
                policy = np.array(start, dtype=np.int64)
            else:
                return (tuple(policy.tolist()), value) if ok else (tuple(start), math.inf)
        for _ in range(100):
            values = self.values(policy)
            if values is None:
                return tuple(start), math.inf
            q = (self.r + self.p @ values).reshape(n, m)
            q[~allowed] = np.inf
            best = q.argmin(axis=1)
            current = q[self.states, policy]
            better = q[self.states, best] < current - 1e-12 * (1.0 + np.abs(current))
            if not better.any():
                break
            policy[better] = best[better]
        return tuple(policy.tolist()), float(self.mu0 @ values)
