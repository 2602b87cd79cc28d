"""Exact simplex for the error LP of a policy family (docs/theory.md §3, dual form).

For a family ``F`` of deterministic policies (per state: a forced action or
"free") the LP is

    maximise  R · y
    subject to  Σ_a y(s',a) − γ Σ_{s,a} τ(s'|s,a) y(s,a) = 0      (one row per state)
                lower(x) ≤ y(x) ≤ D(x),
                lower(x) = −D(x) if F forces x's action in x's state, else 0.

When every state is forced this is exactly the dual of ``f_π(D)``; for a
larger family any feasible ``y`` is a lower bound on ``f_π(D)`` for *every*
member (weak duality, see ``symbolic/exact/duals.py``).  The constraint matrix has
only ``|S|`` rows, so a bounded-variable primal simplex keeps an ``|S|×|S|``
basis inverse and every non-basic variable sits at one of its bounds (or at 0
between them, at the start).  All arithmetic is exact (FLINT ``fmpq``), so
"optimal" means optimal.  The simplex multipliers of an optimal basis are the
primal values ``V``: the reward model ``R̂ = A V − γ P V`` on the policy's
pairs, ``min(R, ·)`` elsewhere, attains the same error (complementary
slackness), which is how the witness is read off.

Anti-cycling: largest-coefficient pricing, switching to Bland's rule during
runs of degenerate pivots; Bland's rule cannot cycle, so the method ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from flint import fmpq, fmpq_mat

from ..core.errors import ResourceLimit
from .linalg import ExactDynamics

ZERO = fmpq(0)

MAX_LP_STATES = 2000
"""Most states the exact family LP accepts (its basis inverse has |S|² rationals)."""


@dataclass
class LPState:
    """A basic feasible solution.  Mutable on purpose: children warm-start from a copy."""

    basis: list[int]                 # basic variable (pair index) per row
    y: list[fmpq]                    # all variable values
    binv: list[list[fmpq]] | None    # inverse of the basis matrix, row-major (None: not computed yet)
    objective: fmpq
    optimal: bool = False
    pivots: int = 0

    def copy(self) -> "LPState":
        return LPState(list(self.basis), list(self.y),
                       None if self.binv is None else [list(row) for row in self.binv],
                       self.objective, self.optimal, 0)


class FamilyLP:
    """The LP above for one MDP, data distribution and reward; solved per family."""

    def __init__(self, dyn: ExactDynamics, reward: Sequence[fmpq], data: Sequence[fmpq]):
        if dyn.n > MAX_LP_STATES:
            # The basis inverse is a dense |S|×|S| table of rationals: refuse before building it.
            raise ResourceLimit(f"{dyn.n} states; the exact error LP keeps a dense |S|x|S| basis inverse and "
                                f"supports at most {MAX_LP_STATES} states")
        self.n, self.m = dyn.n, dyn.m
        self.N = self.n * self.m            # the pairs: y[:N] is the dual
        # Column x < N of the constraint matrix is row x of A − γP: +1 at its own state, −γτ(s'|x) at
        # s'.  Columns N + k are the rows' logicals, e_k fixed at 0: they never enter, but a basis
        # proposed with basic logicals (HiGHS's, symbolic/guidance/floatvi.py) is used as it is.
        self.width = self.N + self.n
        self.reward = list(reward) + [ZERO] * self.n
        self.upper = list(data) + [ZERO] * self.n
        self.columns = tuple(dyn.rows) + tuple(((k, fmpq(1)),) for k in range(self.n))

    def lower_bounds(self, family: Sequence[int | None]) -> list[fmpq]:
        lower = [ZERO] * self.width
        for s, a in enumerate(family):
            if a is not None:
                x = s * self.m + a
                lower[x] = -self.upper[x]
        return lower

    def initial_state(self, basis_policy: Sequence[int], y: Sequence[fmpq] | None = None) -> LPState:
        """The columns of a full policy as basis (``I − γP_π``ᵀ is invertible), at ``y = 0`` or at
        a given ``y`` that is 0 off the policy's pairs (e.g. a multiple of its occupancy)."""
        basis = [s * self.m + a for s, a in enumerate(basis_policy)]
        if y is None:
            return LPState(basis, [ZERO] * self.width, self._inverse(basis), ZERO)
        y = list(y) + [ZERO] * (self.width - len(y))
        objective = sum((r * v for r, v in zip(self.reward, y) if v and r), ZERO)
        return LPState(basis, y, self._inverse(basis), objective)

    def _matrix(self, basis: Sequence[int]) -> fmpq_mat:
        """The basis matrix: its columns are those of ``basis``.  Set entry by entry into a zero
        matrix: the columns are sparse, and this is three times faster than converting a dense list."""
        matrix = fmpq_mat(self.n, self.n)
        columns = self.columns
        for i, x in enumerate(basis):
            for k, v in columns[x]:
                matrix[k, i] = v
        return matrix

    def _inverse(self, basis: Sequence[int]) -> list[list[fmpq]]:
        """The inverse of the basis matrix, row-major; ``ZeroDivisionError`` if it is singular."""
        n = self.n
        entries = self._matrix(basis).inv().entries()
        return [entries[i * n:(i + 1) * n] for i in range(n)]

    def _ensure_inverse(self, state: LPState) -> None:
        if state.binv is None:
            state.binv = self._inverse(state.basis)

    def vertex(self, basis: Sequence[int], uppers: Sequence[int], lowers: Sequence[int],
               lower: Sequence[fmpq], rhs: Sequence[fmpq] | None = None) -> LPState | None:
        """The vertex of a proposed basis, rebuilt exactly: the non-basic pairs ``uppers`` at their
        upper bound, ``lowers`` at their lower one, every other non-basic pair at 0, and the basic
        ones solved from the flow rows (``= rhs``, default 0) by one exact solve.  ``None`` unless
        the basis matrix is invertible and every value lies within its bounds, exactly; the result
        is then a feasible start for ``solve``, whatever proposed it.  Its basis inverse is computed
        only if it is pivoted or priced later (a vertex that only proves a bound never needs it)."""
        n, N = self.n, self.width
        lower = self.full(lower)
        upper = self.upper
        if len(basis) != n or len(set(basis)) != n:
            return None
        in_basis = set(basis)
        at_bound = in_basis.union(uppers, lowers)        # every variable not at 0 by default
        if not all(0 <= x < N for x in at_bound):
            return None
        y = [ZERO] * N
        for x in uppers:
            y[x] = upper[x]
        for x in lowers:
            y[x] = lower[x]
        rhs = list(rhs) if rhs is not None else [ZERO] * n
        for x in list(uppers) + list(lowers):
            if x in in_basis or not lower[x] <= y[x] <= upper[x]:
                return None
            value = y[x]
            if value:
                for k, v in self.columns[x]:
                    rhs[k] -= v * value
        # The other non-basic pairs sit at 0, which lies within their bounds unless a lower bound
        # is positive (upper bounds are data weights, never negative).  Only a non-zero bound can
        # be positive, and the zero test is far cheaper than an fmpq comparison.
        if any(lower[x] > 0 for x in range(N) if lower[x] and x not in at_bound):
            return None
        try:
            basic = self._matrix(basis).solve(fmpq_mat(n, 1, rhs)).entries()
        except ZeroDivisionError:
            return None
        for x, value in zip(basis, basic):
            if not lower[x] <= value <= upper[x]:
                return None
            y[x] = value
        reward = self.reward
        objective = sum((reward[x] * y[x] for x in list(basis) + list(uppers) + list(lowers)
                         if reward[x] and y[x]), ZERO)
        return LPState(list(basis), y, None, objective)

    def full(self, lower: Sequence[fmpq]) -> Sequence[fmpq]:
        """Lower bounds over the pairs, extended by the logicals' 0."""
        return lower if len(lower) == self.width else list(lower) + [ZERO] * (self.width - len(lower))

    def dual(self, state: LPState) -> list[fmpq]:
        """``y`` over the pairs (the logicals are always 0)."""
        return state.y[:self.N]

    def multipliers(self, state: LPState) -> list[fmpq]:
        """Simplex multipliers ``V = c_Bᵀ B⁻¹`` (the primal potential)."""
        self._ensure_inverse(state)
        n = self.n
        values = [ZERO] * n
        for i, x in enumerate(state.basis):
            c = self.reward[x]
            if c:
                row = state.binv[i]
                for k in range(n):
                    if row[k]:
                        values[k] += c * row[k]
        return values

    def solve(self, state: LPState, lower: Sequence[fmpq], *, stop_at: fmpq | None = None,
              strict: bool = False, max_pivots: int = 1_000_000,
              should_stop=None) -> LPState:
        """Pivot ``state`` (feasible for ``lower``) to optimality, in place.  The flow rows keep
        the right-hand side ``state`` has (0 for the family LP; ``t·μ0`` for the regret-aware one).

        With ``stop_at`` the method returns as soon as the objective reaches it
        (``>``, if ``strict``): any feasible ``y`` already proves that bound.
        ``should_stop()`` is polled before every pivot (a time budget); on True the
        state is returned feasible but with ``optimal`` False, still a valid bound.
        """
        n, N = self.n, self.width
        lower = self.full(lower)
        reward, upper, columns = self.reward, self.upper, self.columns
        self._ensure_inverse(state)
        y, basis, binv = state.y, state.basis, state.binv
        in_basis = [False] * N
        for x in basis:
            in_basis[x] = True
        degenerate_run = 0
        while True:
            if stop_at is not None and (state.objective > stop_at or (not strict and state.objective == stop_at)):
                return state
            if should_stop is not None and should_stop():
                return state
            if state.pivots >= max_pivots:
                raise RuntimeError("simplex pivot limit reached")  # unreachable with Bland's rule
            values = self.multipliers(state)
            bland = degenerate_run > 0
            entering, best, direction = -1, ZERO, 0
            for x in range(N):
                if in_basis[x]:
                    continue
                d = reward[x]
                for k, v in columns[x]:
                    d -= v * values[k]
                if d > 0 and y[x] < upper[x]:
                    score = d
                    sign = 1
                elif d < 0 and y[x] > lower[x]:
                    score = -d
                    sign = -1
                else:
                    continue
                if bland:
                    entering, best, direction = x, score, sign
                    break
                if score > best:
                    entering, best, direction = x, score, sign
            if entering < 0:
                state.optimal = True
                return state
            # w = B⁻¹ g_entering; basic values move by −direction·θ·w.
            col = columns[entering]
            w = []
            for i in range(n):
                row = binv[i]
                total = ZERO
                for k, v in col:
                    if row[k]:
                        total += v * row[k]
                w.append(total)
            theta = (upper[entering] - y[entering]) if direction > 0 else (y[entering] - lower[entering])
            leave_row = -1
            for i in range(n):
                wi = w[i] * direction
                if wi == 0:
                    continue
                xb = basis[i]
                room = (y[xb] - lower[xb]) / wi if wi > 0 else (upper[xb] - y[xb]) / (-wi)
                if room < theta or (room == theta and leave_row >= 0 and xb < basis[leave_row]):
                    theta, leave_row = room, i
            step = direction * theta
            if theta:
                y[entering] += step
                for i in range(n):
                    if w[i]:
                        y[basis[i]] -= step * w[i]
                state.objective += best * theta
                degenerate_run = 0
            else:
                degenerate_run += 1
            state.pivots += 1
            if leave_row < 0:
                continue  # the entering variable moved from one bound to the other
            leaving = basis[leave_row]
            # Snap the leaving variable exactly onto the bound it reached.
            wi = w[leave_row] * direction
            y[leaving] = lower[leaving] if wi > 0 else upper[leaving]
            pivot = w[leave_row]
            head = [v / pivot for v in binv[leave_row]]
            binv[leave_row] = head
            for i in range(n):
                if i != leave_row and w[i]:
                    factor = w[i]
                    row = binv[i]
                    binv[i] = [row[k] - factor * head[k] for k in range(n)]
            basis[leave_row] = entering
            in_basis[leaving], in_basis[entering] = False, True


# -- a small general LP -------------------------------------------------------------

@dataclass(frozen=True)
class LinearProgramResult:
    """``status`` is "optimal", "infeasible" or "unbounded"; values are exact ``fmpq``."""

    status: str
    x: tuple[fmpq, ...] = ()
    value: fmpq | None = None
    duals: tuple[fmpq, ...] = ()     # one per constraint, ≤ rows first then = rows


def linear_program(c: Sequence, a_ub: Sequence[Sequence] = (), b_ub: Sequence = (),
                   a_eq: Sequence[Sequence] = (), b_eq: Sequence = ()) -> LinearProgramResult:
    """Exact ``max c·x  s.t.  a_ub x ≤ b_ub,  a_eq x = b_eq,  x ≥ 0`` (dense two-phase tableau).

    Bland's rule throughout, so it terminates.  Meant for the toolkit's small
    auxiliary LPs (redundancy of a row of M, the safest data distribution),
    not for large problems.  ``duals`` satisfy ``duals ≥ 0`` on ``≤`` rows,
    ``Aᵀ duals ≥ c`` and ``b · duals = value`` (LP duality), exactly.
    """
    q = lambda v: v if isinstance(v, fmpq) else fmpq(v.numerator, v.denominator) if hasattr(v, "numerator") else fmpq(v)
    n = len(c)
    rows = [([q(v) for v in row], q(b), "ub") for row, b in zip(a_ub, b_ub)] + \
           [([q(v) for v in row], q(b), "eq") for row, b in zip(a_eq, b_eq)]
    k = len(rows)
    # Columns: x (n), one slack per ub row, one artificial per row that needs one.
    slack_of, art_of, sign = {}, {}, []
    width = n
    for i, (_, b, kind) in enumerate(rows):
        if kind == "ub":
            slack_of[i] = width
            width += 1
    for i, (_, b, kind) in enumerate(rows):
        flip = b < 0
        sign.append(-1 if flip else 1)
        if kind == "eq" or flip:
            art_of[i] = width
            width += 1
    tableau, basis = [], []
    for i, (row, b, kind) in enumerate(rows):
        s = sign[i]
        line = [ZERO] * (width + 1)
        for j, v in enumerate(row):
            line[j] = v * s
        if i in slack_of:
            line[slack_of[i]] = fmpq(s)
        if i in art_of:
            line[art_of[i]] = fmpq(1)
            basis.append(art_of[i])
        else:
            basis.append(slack_of[i])
        line[width] = b * s
        tableau.append(line)

    def pivot(r: int, col: int) -> None:
        head = tableau[r]
        inv = 1 / head[col]
        head = [v * inv for v in head]
        tableau[r] = head
        for i in range(k):
            if i != r and tableau[i][col]:
                f = tableau[i][col]
                tableau[i] = [u - f * h if h else u for u, h in zip(tableau[i], head)]
        basis[r] = col

    def run(cost: list, allowed: int) -> str:
        while True:
            # reduced cost of column j: cost_j − Σ_i cost_{B_i} T_ij  (maximising)
            entering = -1
            for j in range(allowed):
                if j in basis:
                    continue
                d = cost[j] - sum((cost[basis[i]] * tableau[i][j] for i in range(k) if tableau[i][j]), ZERO)
                if d > 0:
                    entering = j
                    break
            if entering < 0:
                return "optimal"
            best, leave = None, -1
            for i in range(k):
                a = tableau[i][entering]
                if a > 0:
                    ratio = tableau[i][width] / a
                    if best is None or ratio < best or (ratio == best and basis[i] < basis[leave]):
                        best, leave = ratio, i
            if leave < 0:
                return "unbounded"
            pivot(leave, entering)

    if art_of:
        phase1 = [ZERO] * width
        for col in art_of.values():
            phase1[col] = fmpq(-1)
        run(phase1, width)
        if any(tableau[i][width] != 0 for i in range(k) if basis[i] in art_of.values()):
            return LinearProgramResult("infeasible")
        # Drive zero-valued artificials out of the basis where possible.
        artificial = set(art_of.values())
        for i in range(k):
            if basis[i] in artificial:
                col = next((j for j in range(n + len(slack_of)) if tableau[i][j] != 0 and j not in basis), None)
                if col is not None:
                    pivot(i, col)
    cost = [q(v) for v in c] + [ZERO] * (width - n)
    if run(cost, n + len(slack_of)) == "unbounded":
        return LinearProgramResult("unbounded")
    x = [ZERO] * width
    for i, col in enumerate(basis):
        x[col] = tableau[i][width]
    value = sum((cost[j] * x[j] for j in range(n) if x[j]), ZERO)
    # Duals y = c_B B⁻¹: B⁻¹ sits in the columns that started as the identity.
    duals = []
    for i in range(k):
        col = art_of.get(i, slack_of.get(i))
        y = sum((cost[basis[r]] * tableau[r][col] for r in range(k) if tableau[r][col]), ZERO)
        duals.append(y * sign[i])
    return LinearProgramResult("optimal", tuple(x[:n]), value, tuple(duals))
