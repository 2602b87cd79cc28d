"""Certified per-state bounds ``H(s) ≥ d^π(s)`` on every policy's discounted occupancy (format §3.7).

The regret-aware family bound (``docs/engine.md`` §2) needs, for every state
``s``, a bound ``H(s)`` on ``d^π(s) = Σ_t γ^t Pr^π(s_t = s)`` over all policies.
``1/(1 − γ)`` always works; a state the start distribution reaches only late,
or only with small probability, has a much smaller one, and the bound's ``t``
(hence its value) grows by the ratio.

The largest occupancy of ``s`` is the optimal value, at ``μ0``, of the MDP
whose reward is 1 in ``s`` and 0 elsewhere. Floating policy iteration (numpy)
finds it. The values are then raised by a margin and rounded up to the dyadic
grid ``2^-GRID_BITS``, and the rounded vector ``U_s`` is checked **exactly**
to be superharmonic: ``U_s(s') ≥ [s' = s] + γ τ(·|s',a) · U_s`` at every
enabled pair. That check alone is the proof (format §3.7): it gives
``d^π(s) ≤ μ0 · U_s`` for every policy ``π``. A state whose rounded vector
fails it simply keeps ``1/(1 − γ)``. The floats only propose.

Why the margin makes the check pass: if ``U`` is exactly superharmonic and
``U' = U + e`` with ``δ ≤ e ≤ δ + 2^-k`` componentwise, then
``U' − γPU' ≥ e_s + δ − γ(δ + 2^-k) ≥ e_s`` once ``δ(1 − γ) ≥ γ 2^-k``. The
margin takes that ``δ`` plus an allowance for the float solve's error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..core.model import MDP

MAX_STATES = 128
"""Above this many states the bounds are not computed (``n`` float policy iterations, each with
dense ``n×n`` solves, and an exact check of ``n·|S×A|`` inequalities); ``H = 1/(1 − γ)`` then."""

GRID_BITS = 24
FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class OccupancyBounds:
    """``horizon[s] = H(s)``; ``vectors[s] = U_s`` (every entry, in state order) for each state whose
    bound is below ``1/(1 − γ)``: the evidence a certificate carries for it."""

    horizon: tuple[Fraction, ...]
    vectors: dict[int, tuple[Fraction, ...]]


def trivial_bounds(mdp: MDP) -> OccupancyBounds:
    return OccupancyBounds((1 / (1 - mdp.gamma),) * mdp.n_states, {})


def occupancy_bounds(mdp: MDP) -> OccupancyBounds:
    """``H(s)`` for every state, certified per state by a superharmonic vector (or ``1/(1 − γ)``):
    ``FamilyOccupancy`` on the family of every policy, so every enabled pair is checked."""
    n = mdp.n_states
    cap = 1 / (1 - mdp.gamma)
    if n > MAX_STATES or mdp.gamma == 0 or mdp.transitions is None:
        return trivial_bounds(mdp)
    enabled = [tuple(mdp.enabled_actions(s)) for s in range(n)]
    refined = FamilyOccupancy(mdp, enabled).refine([None] * n, [cap] * n, gain=1e-9)
    if refined is None:
        return trivial_bounds(mdp)
    horizon, vectors, _ = refined
    return OccupancyBounds(tuple(horizon), {s: tuple(u) for s, u in vectors.items()})


KERNEL_AFTER = 200
"""Refinements run in numpy (about 1 ms each on the 4x4 lake) before ``FamilyOccupancy`` loads the
compiled policy iteration (``symbolic/guidance/floatjit.py``; free if the simplex loaded it already)."""


class FamilyOccupancy:
    """Certified ``H_F(s) ≥ d^π(s)`` over the members ``π`` of one family (format §3.7a).

    A member takes only its family's actions, so its largest occupancy of ``s`` is the optimal
    value of the reward-``e_s`` MDP restricted to those actions, often far below every policy's.
    As in ``occupancy_bounds``, float policy iteration proposes (here for all target states at
    once, warm-started from the parent family's policies), the values are raised by the margin
    and rounded up to the grid, and the rounded ``U_s`` is checked exactly to be superharmonic on
    the family's pairs, in integer arithmetic: that check is the proof the certificate carries.
    A ``U_s`` that fails it, or does not improve the bound in force, is dropped."""

    def __init__(self, mdp: MDP, enabled):
        import numpy as np
        n, m = mdp.n_states, mdp.n_actions
        self.n, self.m = n, m
        # Floats guide only where they can tell gamma from 1: at gamma = 1 - 1e-19 the float gamma is
        # exactly 1 and the margin below divides by zero; the trivial bound 1/(1 - gamma) then stands.
        self.usable = 0 < n <= MAX_STATES and mdp.gamma != 0 and mdp.transitions is not None and \
            float(mdp.gamma) < 1 - 1e-9
        if not self.usable:
            return
        self.np = np
        self.gamma = float(mdp.gamma)
        self.enabled = [tuple(actions) for actions in enabled]
        P = np.zeros((n, m, n))
        for s in range(n):
            for a in self.enabled[s]:
                for t, p in mdp.successors(s * m + a):
                    P[s, a, t] += float(p)
        self.P = P
        self.mu0 = np.array([float(p) for p in mdp.initial])
        self.eye = np.eye(n)
        self.scale = 2 ** GRID_BITS
        self.delta = self.gamma / ((1 - self.gamma) * self.scale)
        # The exact check in integers: with the common denominator G of every γ·τ(t|x), the row
        # of x is G·e_{s(x)} − G·γ·τ(·|x), all integers; μ0 = weights / its common denominator.
        exact = {s * m + a: [(t, mdp.gamma * p) for t, p in mdp.successors(s * m + a)]
                 for s in range(n) for a in self.enabled[s]}
        common = 1
        for row in exact.values():
            for _, gp in row:
                common = math.lcm(common, gp.denominator)
        rows = np.zeros((n * m, n), dtype=object)
        for x, row in exact.items():
            rows[x, x // m] += common
            for t, gp in row:
                rows[x, t] -= int(gp * common)
        self.common = common
        self.rows = rows                     # Python integers (object dtype): exact
        self.row_norm = max((sum(abs(int(v)) for v in rows[x]) for x in exact), default=0)
        self.rows64 = rows.astype(np.int64) if self.row_norm < 2 ** 62 else None
        self.mu_den = math.lcm(*(p.denominator for p in mdp.initial))
        self.mu_num = [int(p * self.mu_den) for p in mdp.initial]
        self.calls = 0
        self.kernel = None       # symbolic/guidance/floatjit.py's compiled loops, after KERNEL_AFTER refinements

    def refine(self, family, horizon, start=None, gain: float = 1e-6):
        """``(horizon', vectors, policies)``: ``horizon'[s] = min(horizon[s], μ0 · U_s)`` with
        ``vectors[s] = U_s`` for every state it lowered (exactly checked), and the float maximising
        policies (a warm start for subfamilies); ``None`` if the floats cannot say.  A state whose
        float bound is not below ``horizon[s]`` by the relative ``gain`` is not tried."""
        if not self.usable:
            return None
        np, n, m = self.np, self.n, self.m
        allowed = np.zeros((n, m), dtype=bool)
        for s, a in enumerate(family):
            if a is None:
                allowed[s, list(self.enabled[s])] = True
            else:
                allowed[s, a] = True
        first = allowed.argmax(axis=1)
        policies = np.tile(first, (n, 1)) if start is None else np.where(allowed[np.arange(n), start], start, first)
        states = np.arange(n)[None, :]
        self.calls += 1
        if self.calls == KERNEL_AFTER:
            from ..guidance.floatjit import kernel
            self.kernel = kernel(n)
        if self.kernel is not None:
            policies = np.ascontiguousarray(policies, dtype=np.int64)
            values = np.empty((n, n))
            try:
                if not self.kernel.occupancy(self.P, self.gamma, allowed, policies, values):
                    return None
            except Exception:        # the kernels cannot run here: numpy from now on
                from ..guidance.floatjit import disable
                disable()
                self.kernel = None
                policies = np.tile(first, (n, 1)) if start is None else \
                    np.where(allowed[np.arange(n), start], start, first)
        for _ in range(0 if self.kernel is not None else 100):
            # System k: (I − γ P_{π_k}) V_k = e_k, for every target state k at once.
            systems = self.eye[None] - self.gamma * self.P[states, policies]
            try:
                values = np.linalg.solve(systems, self.eye[:, :, None])[:, :, 0]
            except np.linalg.LinAlgError:
                return None
            q = self.eye[:, :, None] + self.gamma * np.einsum("uak,sk->sua", self.P, values)
            q[:, ~allowed] = -np.inf
            best = q.argmax(axis=2)
            current = np.take_along_axis(q, policies[:, :, None], axis=2)[:, :, 0]
            better = q.max(axis=2) > current + 1e-12 * (1 + np.abs(current))
            if not better.any():
                break
            policies = np.where(better, best, policies)
        if not np.all(np.isfinite(values)):
            return None
        estimates = values @ self.mu0
        targets = [k for k in range(n) if estimates[k] < float(horizon[k]) * (1 - gain)]
        if not targets:
            return list(horizon), {}, policies
        margins = self.delta + FLOAT_SLACK * (1 + np.abs(values[targets]).max(axis=1)) / (1 - self.gamma)
        grid = np.ceil((np.maximum(values[targets], 0.0) + margins[:, None]) * self.scale)
        pairs = np.flatnonzero(allowed.reshape(-1))
        passed = self._superharmonic(grid, targets, pairs)
        horizon = list(horizon)
        vectors = {}
        for k, numerators in zip(targets, passed):
            if numerators is None:
                continue
            bound = Fraction(sum(w * v for w, v in zip(self.mu_num, numerators) if w), self.mu_den * self.scale)
            if bound < horizon[k]:
                horizon[k] = bound
                vectors[k] = GridVector(tuple(numerators), self.scale)
        return horizon, vectors, policies

    def _superharmonic(self, grid, targets, pairs) -> list:
        """The exact check of format §3.7a on grid numerators (``U = numerators / 2^GRID_BITS``):
        ``(G·e_{s(x)} − G·γ·τ(·|x)) · U ≥ G·[s(x) = s]`` at every pair ``x``, per target ``s``; the
        numerators (Python ints) of each vector that passes, None for one that fails.  In int64
        where no sum can reach 2^63 (checked first, in Python integers), else in Python integers."""
        np = self.np
        numerators = [[int(v) for v in row] for row in grid.tolist()]
        largest = max((max(row) for row in numerators), default=0)
        if self.rows64 is not None and largest * self.row_norm + self.common * self.scale < 2 ** 62:
            products = self.rows64[pairs] @ np.array(numerators, dtype=np.int64).T     # exact: no overflow
        else:
            products = self.rows[pairs].dot(np.array(numerators, dtype=object).T)
        own = np.equal.outer(pairs // self.m, np.array(targets))
        if products.dtype == object:
            own = own.astype(object)             # Python integers on both sides: exact, any size
        need = own * (self.common * self.scale)  # in int64 only below 2^62, by the test above
        ok = (products >= need).all(axis=0).tolist()
        return [row if good else None for row, good in zip(numerators, ok)]


@dataclass(frozen=True)
class GridVector:
    """``U = numerators / denominator``, kept as integers until a certificate needs the rationals."""

    numerators: tuple[int, ...]
    denominator: int

    def __iter__(self):
        return (Fraction(v, self.denominator) for v in self.numerators)
