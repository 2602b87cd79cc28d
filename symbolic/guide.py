"""Floating-point guesses that only steer exact computations (they never decide anything).

``greedy_policy`` runs value iteration in numpy floats and returns the greedy
policy of its last iterate.  Exact policy iteration started there usually ends
after one or two exact evaluations instead of one per step of the grid's
diameter; it ends at an exactly uniformly optimal (pessimal) policy from any
start, so a poor guess costs time, never correctness.

The family LPs of the search have their own float twin, ``symbolic/floatlp.py``.
Where its simplex gives up (massively degenerate LPs near the root of a 64-state
model cycle through degenerate pivots), ``propose_basis`` asks HiGHS
(``highspy``, driven directly, as only ``lp/redundancy.py`` also does) for an
optimal basis of the same LP in floats, and the float twin carries on from it.
A proposal decides nothing: every closure is still rebuilt and checked exactly.
``quiet_stdout`` keeps HiGHS's banner off standard output (``lp/``).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from typing import Sequence

FLOAT_START_FROM = 256
"""Policy iteration on at least this many states starts from the floating greedy policy."""


def greedy_policy(mdp, reward: Sequence, *, maximise: bool = True,
                  allowed: Sequence[Sequence[int]] | None = None) -> list[int]:
    import numpy as np

    n, m = mdp.n_states, mdp.n_actions
    gamma = float(mdp.gamma)
    r = np.array([float(v) for v in reward]).reshape(n, m)
    sign = 1.0 if maximise else -1.0
    r = sign * r
    mask = None
    if allowed is not None:
        mask = np.full((n, m), True)
        for s, actions in enumerate(allowed):
            mask[s, list(actions)] = False
    if mdp.transitions is None or gamma == 0:
        q = r
    else:
        targets = np.array([t for row in mdp.transitions for t, _ in row], dtype=np.int64)
        probs = np.array([float(p) for row in mdp.transitions for _, p in row])
        starts = np.cumsum([0] + [len(row) for row in mdp.transitions[:-1]])
        values = np.zeros(n)
        steps = min(5000, max(10, int(math.log(1e-13) / math.log(gamma)) + 1))
        for _ in range(steps):
            q = r + gamma * np.add.reduceat(values[targets] * probs, starts).reshape(n, m)
            if mask is not None:
                q[mask] = -np.inf
            values = q.max(axis=1)
    if mask is not None:
        q = np.where(mask, -np.inf, q)
    return [int(a) for a in q.argmax(axis=1)]


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
