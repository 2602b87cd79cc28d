"""Floating hints for which rows of M are redundant on the simplex, and for the LP of ``safest``.

Row ``k`` of ``M`` is redundant iff ``max_{D ∈ Δ} (min_{j≠k} r_j·D − r_k·D) ≤ 0``.  That LP,

    maximise  z − r_k·D   s.t.   z ≤ r_j·D  (j ≠ k),   Σ D = 1,   D ≥ 0,

has the dual ``min μ`` s.t. ``Σ λ_j = 1``, ``λ ≥ 0``, ``μ ≥ (Σ λ_j r_j − r_k)_i`` for every
pair ``i``; so ``k`` is redundant iff some convex combination of the other rows is
componentwise ``≤ r_k``.  A hint therefore carries either a point ``D`` (where ``r_k``
looked like the unique minimum) or the support of ``λ`` (the rows whose combination looked
``≤ r_k``).  ``rewardcert.symbolic.paper.matrix.mark_redundant_rows`` confirms every hint exactly or discards
it: nothing here decides a mark.

Two solvers give hints, in this order (``LayeredHints``):

1. ``GameHints``, numpy only, for many rows at once.  In the dual form the LP is a matrix
   game, ``min_{λ ∈ Δ} max_i (Σ_j λ_j r_j − r_k)_i``, whose basis is only ``(N+1)×(N+1)``
   however many rows M has.  A bounded batch of rows runs the primal simplex in lock step:
   one ``(B × N+1) @ (N+1 × K)`` product prices every row of M for every LP of the batch, and
   the basis inverses are updated as one ``B×(N+1)×(N+1)`` array.  At 4×4 (K = 4,756) this
   takes about 6 s for all rows where the warm-started HiGHS model below took about 35 s:
   each HiGHS solve paid its per-call overhead and a basis of ``|S|`` rows
   (``docs/performance.md``).
2. ``RedundancyHints``, HiGHS through highspy, for a row whose game hint was missing (a
   pivot cap, a singular basis) or did not confirm.  The LPs are solved against a growing
   subset ``S`` of the rows (a cutting-plane loop in the manner of Clarkson's redundancy
   removal): a row redundant against ``S \\ {k}`` is redundant against all rows, and a point
   ``D`` of the subset LP at which some row outside ``S`` is not above ``r_k`` adds the most
   violated such row to ``S`` and solves again.  One HiGHS model is kept and warm-started
   from row to row.

``game_solution`` solves the game ``max_D min_k r_k·D`` once, for the cutting planes of
``safest`` (``symbolic/paper/section3.py`` keeps its answer only if the exact solution on the same
supports has meeting bounds).

Besides PuLP, ``highspy`` is driven directly only here and in ``symbolic/guidance/floatvi.py`` (starting
bases for the exact family LP); a missing ``highspy`` is the toolkit's ``BackendUnavailable``,
and the caller then runs its exact LPs alone.
"""

from __future__ import annotations

import bisect
from typing import Iterable, Sequence

import numpy as np

from ..core.errors import BackendUnavailable
from .highs import RELATIVE_TOLERANCE, RedundancyHint, RedundancyHints

GAME_BATCH = 256            # LPs solved in lock step (the pricing product is B x (N+1) x (K+N+1))

GAME_BATCH_ENTRIES = 1 << 22   # ... fewer where B x K floats would pass this

GAME_MAX_PIVOTS = 600      # per LP; Dantzig's rule took at most 239 at 4x4

GAME_REFACTOR_EVERY = 16   # basis inverses recomputed from the columns this often

GAME_PIVOT_TOLERANCE = 1e-9

GAME_POOL_LIMIT = 0.6      # price only the pool while it holds at most this share of the rows


class GameHints:
    """Hints for many rows at once, from the redundancy LP in its dual (game) form.

    For row ``k``: minimise ``μ`` s.t. ``Σ_{j≠k} λ_j r_j − μ·1 + s = r_k``, ``Σ λ = 1``,
    ``λ, s ≥ 0``.  Its optimum is ``max_{D ∈ Δ} (min_{j≠k} r_j·D − r_k·D)``; the dual values of
    the ``N`` pair rows are ``−D``.  So an optimum ``μ ≤ 0`` names the rows whose combination
    lies below ``r_k`` (the basic ``λ``), and ``μ > 0`` names a point ``D`` at which every
    other row prices above ``r_k``.  Each LP starts from the single row ``j`` with the least
    ``max_i (r_j − r_k)_i`` and runs Dantzig's rule; ``μ`` is free and stays basic.

    Floats only: the caller confirms every hint exactly (``rewardcert.symbolic.paper.matrix``)."""

    def __init__(self, rows: Sequence[Sequence[float]], *, batch: int = GAME_BATCH,
                 max_pivots: int = GAME_MAX_PIVOTS, pool_limit: float = GAME_POOL_LIMIT):
        R = np.asarray(rows, dtype=float)
        if R.ndim != 2 or not np.all(np.isfinite(R)):
            raise ValueError("redundancy hints need a finite K x N array of row coefficients")
        self.rows = R
        self.count, self.width = K, N = R.shape
        # the pricing product and the start's comparison are B x K arrays: keep them near 32 MB
        self.batch, self.max_pivots = max(1, min(batch, GAME_BATCH_ENTRIES // max(1, K))), max_pivots
        self.tolerance = RELATIVE_TOLERANCE * max(1.0, float(np.max(np.abs(R), initial=0.0)))
        A = np.zeros((N + 1, K + 1 + N))          # columns: λ_j (K), μ, the slacks s (N)
        A[:N, :K], A[N, :K] = R.T, 1.0
        A[:N, K] = -1.0
        A[:N, K + 1:] = np.eye(N)
        self.columns = A
        self.pivots = 0                           # total over all LPs (for benchmarks)
        self.full_pricings = 0                    # LP-rows priced against all of M (for benchmarks)
        self.pool = np.zeros(K, dtype=bool)       # rows priced at every pivot (grows; see _solve_batch)
        self.pool_limit = pool_limit

    def solve(self, ks: Sequence[int]) -> dict[int, RedundancyHint | None]:
        """Hints for the rows ``ks``, ``GAME_BATCH`` LPs at a time."""
        out: dict[int, RedundancyHint | None] = {}
        ks = list(dict.fromkeys(int(k) for k in ks))
        for start in range(0, len(ks), self.batch):
            out.update(self._solve_batch(ks[start:start + self.batch]))
        return out

    def _start(self, ks: np.ndarray) -> np.ndarray:
        R, K, N = self.rows, self.count, self.width
        # among the pool's rows when it has two or more (any row j ≠ k is a feasible start)
        among = np.nonzero(self.pool)[0]
        if len(among) < 2 or len(among) > self.pool_limit * K:
            among = np.arange(K)
        by_pair = self.columns[:N, among]                  # row i: pair i of every candidate row
        worst = by_pair[0][None, :] - R[ks, 0][:, None]    # max_i (r_j − r_k)_i, one pair at a time
        for i in range(1, N):
            np.maximum(worst, by_pair[i][None, :] - R[ks, i][:, None], out=worst)
        worst[among[None, :] == ks[:, None]] = np.inf
        first = among[np.argmin(worst, axis=1)]
        tight = np.argmax(R[first] - R[ks], axis=1)        # the pair where that row is furthest above
        slacks = np.broadcast_to(K + 1 + np.arange(N), (len(ks), N))
        keep = np.arange(N)[None, :] != tight[:, None]
        return np.column_stack([first, np.full(len(ks), K), slacks[keep].reshape(len(ks), N - 1)])

    def _solve_batch(self, ks: Sequence[int]) -> dict[int, RedundancyHint | None]:
        if self.count < 2 or not ks:
            return {int(k): None for k in ks}
        A, K = self.columns, self.count
        out: dict[int, RedundancyHint | None] = {}
        rows = np.array(ks)
        basis = self._start(rows)
        target = np.column_stack([self.rows[rows], np.ones(len(rows))])
        mu = np.ones(len(rows), dtype=int)                  # where μ sits in each basis (it never leaves)
        inverse, value = self._factor(basis, target)
        alive = np.ones(len(rows), dtype=bool) if inverse is not None else np.zeros(len(rows), dtype=bool)
        pivots, since = 0, 0
        self.pool[basis[:, 0]] = True
        priced = None                                        # (pool columns, their A, own-row positions)
        while alive.any() and pivots < self.max_pivots:
            if not alive.all():                             # drop the finished LPs from the arrays
                rows, basis, target, mu = rows[alive], basis[alive], target[alive], mu[alive]
                inverse, value = inverse[alive], value[alive]
                if priced is not None:
                    priced = priced[:2] + (priced[2][alive],)
            count = len(rows)
            at = np.arange(count)
            dual = inverse[at, mu]                           # c_B B⁻¹ with c = e_μ
            if priced is None:
                priced = self._priced(rows)
            columns, local, own = priced
            reduced = -(dual @ local)
            reduced[:, -(self.width + 1)] += 1.0             # μ's column
            reduced[at[own >= 0], own[own >= 0]] = np.inf    # row k may not bound itself
            best_local = np.argmin(reduced, axis=1)
            entering = columns[best_local]
            done = reduced[at, best_local] >= -self.tolerance
            if len(columns) < A.shape[1] and done.any():     # optimal on the pool: price all of M
                check = np.nonzero(done)[0]
                full = -(dual[check] @ A)
                full[:, K] += 1.0
                full[np.arange(len(check)), rows[check]] = np.inf
                best = np.argmin(full, axis=1)
                self.full_pricings += len(check)
                missed = full[np.arange(len(check)), best] < -self.tolerance
                if missed.any():
                    entering[check[missed]] = best[missed]
                    done[check[missed]] = False
                    self.pool[best[missed][best[missed] < K]] = True
                    priced = None
            for b in np.nonzero(done)[0]:
                out[int(rows[b])] = self._hint(basis[b], value[b], dual[b], mu[b])
            alive = ~done
            if not alive.any():
                break
            direction = np.einsum("bij,jb->bi", inverse, A[:, entering])
            blocking = direction > GAME_PIVOT_TOLERANCE
            blocking[at, mu] = False
            ratio = np.full(direction.shape, np.inf)
            np.divide(np.maximum(value, 0.0), direction, out=ratio, where=blocking)
            leaving = np.argmin(ratio, axis=1)
            step = ratio[at, leaving]
            unbounded = ~np.isfinite(step) & alive
            for b in np.nonzero(unbounded)[0]:               # cannot happen in exact arithmetic (μ ≥ min r)
                out[int(rows[b])] = None
            alive &= ~unbounded
            step = np.where(alive, step, 0.0)
            value -= step[:, None] * direction
            value[at, leaving] = step
            basis[at, leaving] = np.where(alive, entering, basis[at, leaving])
            pivot_row = inverse[at, leaving] / np.where(alive, direction[at, leaving], 1.0)[:, None]
            update = np.where(alive[:, None, None], direction[:, :, None] * pivot_row[:, None, :], 0.0)
            inverse -= update
            inverse[at, leaving] = np.where(alive[:, None], pivot_row, inverse[at, leaving])
            pivots, since = pivots + 1, since + 1
            self.pivots += int(alive.sum())
            if since >= GAME_REFACTOR_EVERY:
                since = 0
                refactored = self._factor(basis, target)
                if refactored[0] is None:                    # a singular basis: HiGHS gets these rows
                    break
                inverse, value = refactored
        for k in ks:                                         # past the pivot cap, or a singular basis
            out.setdefault(int(k), None)
        return out

    def _priced(self, rows: np.ndarray):
        """The columns each pivot prices: the pool's rows (those that entered some basis so far:
        the rows of M that bound others) while it is small, else all rows; then μ and the slacks.
        An LP optimal on them is priced against all of M before it counts as solved (a column
        found there joins the pool), so the pool changes the work, never the answer."""
        K, N = self.count, self.width
        pool = np.nonzero(self.pool)[0] if self.pool.sum() <= self.pool_limit * K else np.arange(K)
        columns = np.concatenate([pool, np.arange(K, K + 1 + N)])
        where = np.full(K, -1)
        where[pool] = np.arange(len(pool))
        return columns, self.columns[:, columns], where[rows]

    def _factor(self, basis: np.ndarray, target: np.ndarray):
        matrices = np.transpose(self.columns[:, basis], (1, 0, 2))     # (B, N+1, N+1)
        try:
            inverse = np.linalg.inv(matrices)
        except np.linalg.LinAlgError:
            return None, None
        return inverse, np.einsum("bij,bj->bi", inverse, target)

    def _hint(self, basis: np.ndarray, value: np.ndarray, dual: np.ndarray, mu: int) -> RedundancyHint | None:
        K, N = self.count, self.width
        if not np.all(np.isfinite(value)) or not np.all(np.isfinite(dual)):
            return None
        if value[mu] <= self.tolerance:
            support = [(int(j), float(x)) for j, x in zip(basis, value) if j < K and x > 1e-12]
            if not support:
                return None
            return RedundancyHint(True, support=tuple(j for j, _ in support), weights=tuple(w for _, w in support))
        point = np.clip(-dual[:N], 0.0, None)
        return RedundancyHint(False, point=tuple(float(v) for v in point))


class LayeredHints:
    """``hint(k)`` from ``GameHints``, solved a batch of upcoming rows at a time, and
    ``retry(k)`` from the warm-started HiGHS model (built only when first needed) for a row
    whose game hint was missing or did not confirm."""

    def __init__(self, rows: Sequence[Sequence[float]], start: Iterable[int] = ()):
        self.float_rows = rows
        self.game = GameHints(rows)
        self.start = sorted(set(start))
        self.game.pool[self.start] = True         # proven irredundant: rows that bound others
        skip = set(self.start)
        self.pending = [k for k in range(self.game.count) if k not in skip]   # the rows the caller will ask
        self.cache: dict[int, RedundancyHint | None] = {}
        self.highs: RedundancyHints | bool | None = None   # False: no HiGHS here

    def hint(self, k: int) -> RedundancyHint | None:
        if k not in self.cache:
            at = bisect.bisect_left(self.pending, k)
            ahead = self.pending[at:at + self.game.batch]
            self.cache.update(self.game.solve(ahead if ahead[:1] == [k] else [k]))
        return self.cache.pop(k, None)

    def retry(self, k: int) -> RedundancyHint | None:
        """HiGHS's hint for row ``k``, or ``None`` without HiGHS (the exact LP then decides)."""
        if self.highs is None:
            try:
                self.highs = RedundancyHints(self.float_rows, self.start)
            except BackendUnavailable:
                self.highs = False
        return self.highs.hint(k) if self.highs else None
