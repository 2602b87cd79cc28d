"""Floating hints for which rows of M are redundant on the simplex: HiGHS through highspy, fenced here.

Row ``k`` of ``M`` is redundant iff ``max_{D ∈ Δ} (min_{j≠k} r_j·D − r_k·D) ≤ 0``.  That LP,

    maximise  z − r_k·D   s.t.   z ≤ r_j·D  (j ≠ k),   Σ D = 1,   D ≥ 0,

has the dual ``min μ`` s.t. ``Σ λ_j = 1``, ``λ ≥ 0``, ``μ ≥ (Σ λ_j r_j − r_k)_i`` for every
pair ``i``; so ``k`` is redundant iff some convex combination of the other rows is
componentwise ``≤ r_k``.  A hint therefore carries either a point ``D`` (where ``r_k``
looked like the unique minimum) or the support of ``λ`` (the rows whose combination looked
``≤ r_k``).  ``symbolic.matrix.mark_redundant_rows`` confirms every hint exactly or discards
it: nothing here decides a mark.

The LPs are solved against a growing subset ``S`` of the rows (a cutting-plane loop in the
manner of Clarkson's redundancy removal): a row redundant against ``S \\ {k}`` is redundant
against all rows, and a point ``D`` of the subset LP at which some row outside ``S`` is not
above ``r_k`` adds the most violated such row to ``S`` and solves again.  One HiGHS model
is kept and warm-started from row to row, which keeps each solve to a few dual pivots.
(Solving the dual form instead, all K rows as columns and only ``r_k`` changing in the
right-hand side, measured 1.6× slower at 4×4.)

Besides PuLP, ``highspy`` is driven directly only here and in ``symbolic/guide.py`` (starting
bases for the exact family LP); a missing ``highspy`` is the toolkit's ``BackendUnavailable``,
and the caller then runs its exact LPs alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from symbolic.errors import BackendUnavailable

from symbolic.guide import quiet_stdout

ADD_PER_ROUND = 1          # violated rows added to S per cutting-plane round (8 or 32: no faster at 4x4)
MAX_ROUNDS = 200           # rounds per row before it gets no hint (the exact LP decides it)
RELATIVE_TOLERANCE = 1e-9  # "value ≤ 0" and "not above r_k" in units of the largest entry
SOLVER_TOLERANCE = 1e-10   # HiGHS's feasibility tolerances (default 1e-7): fewer hints fail exactly


@dataclass(frozen=True)
class RedundancyHint:
    """What HiGHS suggests about one row; floats, to be confirmed exactly by the caller."""

    redundant: bool
    point: tuple[float, ...] = ()       # irredundant: a D ≥ 0 where the row looked like the unique minimum
    support: tuple[int, ...] = ()       # redundant: rows j with λ_j > 0 (indices into the caller's rows)
    weights: tuple[float, ...] = ()     # redundant: those λ_j, as HiGHS gave them


def load_highspy():
    try:
        import highspy
    except ImportError as exc:   # pragma: no cover - highspy is a core dependency
        raise BackendUnavailable("the floating redundancy hints need HiGHS: pip install highspy") from exc
    return highspy


class RedundancyHints:
    """``hint(k)`` for rows ``k`` of one M, from one warm-started HiGHS model."""

    def __init__(self, rows: Sequence[Sequence[float]], start: Iterable[int] = ()):
        highspy = load_highspy()
        self.rows = np.asarray(rows, dtype=float)
        if self.rows.ndim != 2 or not np.all(np.isfinite(self.rows)):
            raise ValueError("redundancy hints need a finite K x N array of row coefficients")
        self.count, self.width = self.rows.shape
        self.tolerance = RELATIVE_TOLERANCE * max(1.0, float(np.max(np.abs(self.rows), initial=0.0)))
        self.inf = highspy.kHighsInf
        with quiet_stdout(True):        # the first Highs of a process prints a banner on fd 1
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("presolve", "off")   # presolve would discard the warm start at every row
        for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(option, SOLVER_TOLERANCE)
        N = self.width
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = N + 1, 1    # D (N) and z; row 0 is Σ D = 1
        lp.col_cost_ = np.zeros(N + 1)
        lp.col_lower_ = np.array([0.0] * N + [-self.inf])
        lp.col_upper_ = np.array([self.inf] * (N + 1))
        lp.row_lower_ = np.array([1.0])
        lp.row_upper_ = np.array([1.0])
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.arange(N + 2, dtype=np.int32).clip(max=N)
        lp.a_matrix_.index_ = np.zeros(N, dtype=np.int32)
        lp.a_matrix_.value_ = np.ones(N)
        lp.sense_ = highspy.ObjSense.kMaximize
        h.passModel(lp)
        self.highs = h
        self.optimal = highspy.HighsModelStatus.kOptimal
        self.model_row: dict[int, int] = {}    # row of M -> row of the HiGHS model
        self.members: list[int] = []           # S, in model order (model row i + 1)
        self._add(list(dict.fromkeys(start)))

    def _add(self, new: Sequence[int]) -> None:
        new = [j for j in new if j not in self.model_row]
        if not new:
            return
        N = self.width
        starts, index, value = [], [], []
        for j in new:
            starts.append(len(index))
            nonzero = np.nonzero(self.rows[j])[0]      # z − r_j·D ≤ 0
            index += nonzero.tolist() + [N]
            value += (-self.rows[j, nonzero]).tolist() + [1.0]
        for j in new:
            self.model_row[j] = 1 + len(self.members)
            self.members.append(j)
        self.highs.addRows(len(new), np.full(len(new), -self.inf), np.zeros(len(new)), len(index),
                           np.array(starts, dtype=np.int32), np.array(index, dtype=np.int32),
                           np.array(value, dtype=float))

    def hint(self, k: int) -> RedundancyHint | None:
        """A hint for row ``k``, or ``None`` when HiGHS gave nothing usable."""
        h, N = self.highs, self.width
        if not any(j != k for j in self.members):
            self._add([next(j for j in range(self.count) if j != k)])
        own = self.model_row.get(k)
        if own is not None:
            h.changeRowBounds(own, -self.inf, self.inf)     # row k does not bound itself
        try:
            h.changeColsCost(N + 1, np.arange(N + 1, dtype=np.int32), np.append(-self.rows[k], 1.0))
            for _ in range(MAX_ROUNDS):
                h.run()
                if h.getModelStatus() != self.optimal:
                    return None
                solution = h.getSolution()
                value = h.getInfo().objective_function_value
                if value <= self.tolerance:
                    duals = np.abs(np.asarray(solution.row_dual)[1:])
                    support = [(self.members[i], float(duals[i])) for i in np.nonzero(duals > 1e-12)[0]
                               if self.members[i] != k]
                    if not support:
                        return None
                    return RedundancyHint(True, support=tuple(j for j, _ in support),
                                          weights=tuple(w for _, w in support))
                point = np.clip(np.asarray(solution.col_value[:N]), 0.0, None)
                scores = self.rows @ point
                gap = scores - scores[k]
                gap[k] = np.inf
                violated = np.nonzero(gap <= self.tolerance)[0]
                if not len(violated):
                    return RedundancyHint(False, point=tuple(float(v) for v in point))
                outside = [int(j) for j in violated[np.argsort(gap[violated])] if int(j) not in self.model_row]
                if not outside:       # S already holds every row below r_k here: HiGHS is confused
                    return None
                self._add(outside[:ADD_PER_ROUND])
            return None
        finally:
            if own is not None:
                h.changeRowBounds(own, -self.inf, 0.0)
