"""The fence around HiGHS: the only module of rewardcert that drives ``highspy`` directly.

Everything here is a float guess that steers an exact computation and decides nothing:

* ``propose_basis``: where the search's float simplex (``floatlp.py``) gives up (massively
  degenerate family LPs near the root of a 64-state model), an optimal basis of the same LP from
  HiGHS, from which the float twin carries on; every closure is still rebuilt and checked exactly.
* ``RedundancyHints``: a second opinion on a row of M that the batched game LPs of
  ``redundancy.py`` could not settle (a proof to try, checked exactly by ``paper/matrix.py``).
* ``game_solution``: the supports of ``safest``'s cutting-plane LP (``paper/safest.py`` solves the
  exact LP on them and keeps the answer only if its two bounds meet exactly).

``quiet_stdout`` keeps HiGHS's start-up banner off standard output (``lp/`` uses it for PuLP too).
A missing ``highspy`` is the toolkit's ``BackendUnavailable``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Sequence


def propose_basis(n: int, columns: Sequence[Sequence[tuple[int, object]]], reward: Sequence,
                  lower: Sequence, upper: Sequence, rhs: Sequence | None = None) -> tuple[list[int], list[str]] | None:
    """``max R·y  s.t.  Σ_x y(x)·column(x) = rhs (default 0), lower ≤ y ≤ upper`` in floats, for the pair columns
    (the first ``len(columns) − n``; the last ``n`` are the rows' logicals, as in ``FamilyLP``).

    Returns ``(basis, sides)``: ``n`` basic indices (a basic row logical ``k`` is ``N + k``) and,
    per column, ``"basic"``, ``"lower"``, ``"upper"`` or ``"zero"``; ``None`` when HiGHS is
    missing or fails."""
    try:
        import highspy
        import numpy as np
    except ImportError:
        return None
    N = len(columns) - n
    try:
        with quiet_stdout(True):         # the first Highs() of a process prints a banner on fd 1
            h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        lp = highspy.HighsLp()
        lp.num_col_ = N
        lp.num_row_ = n
        lp.col_cost_ = np.array([-float(reward[x]) for x in range(N)])          # HiGHS minimises
        lp.col_lower_ = np.array([float(lower[x]) for x in range(N)])
        lp.col_upper_ = np.array([float(upper[x]) for x in range(N)])
        rows = np.zeros(n) if rhs is None else np.array([float(v) for v in rhs])
        lp.row_lower_ = rows
        lp.row_upper_ = rows.copy()
        starts, index, value = [0], [], []
        for col in columns[:N]:
            for k, v in col:
                index.append(k)
                value.append(float(v))
            starts.append(len(index))
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = np.array(starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.array(index, dtype=np.int32)
        lp.a_matrix_.value_ = np.array(value)
        h.passModel(lp)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        basis = h.getBasis()
        if not basis.valid:
            return None
        names = {highspy.HighsBasisStatus.kBasic: "basic", highspy.HighsBasisStatus.kLower: "lower",
                 highspy.HighsBasisStatus.kUpper: "upper", highspy.HighsBasisStatus.kZero: "zero"}
        sides = [names.get(status, "lower") for status in basis.col_status] + \
            ["basic" if status == highspy.HighsBasisStatus.kBasic else "zero" for status in basis.row_status]
    except Exception:          # a hint only: any surprise in the bindings means "no proposal"
        return None
    chosen = [x for x, side in enumerate(sides) if side == "basic"]
    if len(chosen) != n:
        return None
    return chosen, sides


@contextlib.contextmanager
def quiet_stdout(active: bool):
    """Keep file descriptor 1 quiet while a solver runs.

    HiGHS (1.16) prints its banner from C onto fd 1 when the first ``Highs``
    object of a process is made, even with output switched off; on a command
    that prints JSON that would corrupt the output.  Python-level redirection
    cannot catch it, so fd 1 points at the null device for the duration of the
    solve and is restored afterwards (the toolkit does not print from other
    threads meanwhile).
    """
    if not active:
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


from dataclasses import dataclass
from typing import Iterable

import numpy as np

from ..core.errors import BackendUnavailable

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


def quiet_highs(highspy):
    """A silent ``Highs`` with the tight feasibility tolerances of these hints."""
    with quiet_stdout(True):        # the first Highs of a process prints a banner on fd 1
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for option in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(option, SOLVER_TOLERANCE)
    return h


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
        h = quiet_highs(highspy)
        h.setOptionValue("presolve", "off")   # presolve would discard the warm start at every row
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


def game_solution(rows: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray] | None:
    """``max_{D ∈ Δ} min_k r_k·D`` in floats, for the cutting planes of ``safest``: ``(D, λ)``, the
    maximiser and the row duals (a minimising mixture of the rows), or ``None`` if HiGHS gave
    no optimum.  Only a guess at the two supports: ``rewardcert.symbolic.paper.section3`` solves for the exact
    solution on them and keeps it only if its two bounds meet exactly.
    ``BackendUnavailable`` without HiGHS."""
    highspy = load_highspy()
    R = np.asarray(rows, dtype=float)
    if R.ndim != 2 or not R.size or not np.all(np.isfinite(R)):
        return None
    K, N = R.shape
    inf = highspy.kHighsInf
    h = quiet_highs(highspy)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = N + 1, K + 1            # D (N) and t; rows t − r_k·D ≤ 0, then Σ D = 1
    lp.col_cost_ = np.append(np.zeros(N), 1.0)
    lp.col_lower_ = np.append(np.zeros(N), -inf)
    lp.col_upper_ = np.full(N + 1, inf)
    lp.row_lower_ = np.append(np.full(K, -inf), 1.0)
    lp.row_upper_ = np.append(np.zeros(K), 1.0)
    matrix = np.zeros((K + 1, N + 1))
    matrix[:K, :N], matrix[:K, N], matrix[K, :N] = -R, 1.0, 1.0
    nonzero = matrix != 0
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.concatenate([[0], np.cumsum(nonzero.sum(axis=1))]).astype(np.int32)
    lp.a_matrix_.index_ = np.nonzero(nonzero)[1].astype(np.int32)
    lp.a_matrix_.value_ = matrix[nonzero]
    lp.sense_ = highspy.ObjSense.kMaximize
    h.passModel(lp)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    solution = h.getSolution()
    point = np.clip(np.asarray(solution.col_value[:N]), 0.0, None)
    mixture = np.abs(np.asarray(solution.row_dual[:K]))
    if not (np.all(np.isfinite(point)) and np.all(np.isfinite(mixture))):
        return None
    return point, mixture
