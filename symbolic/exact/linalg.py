"""Exact rational linear algebra: FLINT's fmpq_mat for speed, stdlib Fraction as the reference.

FLINT (through python-flint) solves rational systems with fraction-free and
multimodular methods in C; ``fraction_solve`` is plain Gaussian elimination
over ``fractions.Fraction`` and exists only so that tests and benchmarks have
an independent computation to compare against.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from flint import fmpq, fmpq_mat

from ..core.errors import RewardcertError


def to_fmpq(value: Fraction | int) -> fmpq:
    if isinstance(value, int):
        return fmpq(value)
    return fmpq(value.numerator, value.denominator)


_FRACTION_ZERO = Fraction(0)
_new_object = object.__new__


def to_fraction(value: fmpq) -> Fraction:
    """The same rational as a ``Fraction``.  An ``fmpq`` is already in lowest terms with a positive
    denominator, so the ``Fraction`` is built without another gcd (this runs for every entry of
    every closure the search records); 0, the commonest entry, is shared."""
    if not value:
        return _FRACTION_ZERO
    out = _new_object(Fraction)
    out._numerator = int(value.p)
    out._denominator = int(value.q)
    return out


def to_fractions_sized(values: Sequence[fmpq]) -> tuple[tuple[Fraction, ...], int]:
    """``to_fraction`` of each value, with an estimate of the tuple's memory in bytes (56 for the
    tuple, 8 per slot, about 100 plus the digits per non-zero ``Fraction``), in one pass: the search
    converts every closure it keeps, and budgets their memory."""
    out = []
    size = 56 + 8 * len(values)
    for value in values:
        if not value:
            out.append(_FRACTION_ZERO)
            continue
        p, q = int(value.p), int(value.q)
        fraction = _new_object(Fraction)
        fraction._numerator, fraction._denominator = p, q
        out.append(fraction)
        size += 100 + (p.bit_length() + q.bit_length()) // 8
    return tuple(out), size


def column(values: Sequence[Fraction | fmpq | int]) -> fmpq_mat:
    return fmpq_mat(len(values), 1, [v if isinstance(v, fmpq) else to_fmpq(v) for v in values])


def column_values(matrix: fmpq_mat) -> list[fmpq]:
    return [matrix[i, 0] for i in range(matrix.nrows())]


def solve(matrix: fmpq_mat, rhs: fmpq_mat) -> fmpq_mat:
    """Solve ``matrix · X = rhs`` exactly; a singular matrix is an internal error."""
    try:
        return matrix.solve(rhs)
    except ZeroDivisionError:
        raise RewardcertError("internal error: singular linear system in an exact solve") from None


@dataclass(frozen=True)
class ExactDynamics:
    """τ, μ0 and γ of an MDP as fmpq data, built once per MDP.

    ``succ[x]`` is the sparse list ``[(s', γ·τ(s'|x)), ...]`` (already scaled by
    γ, empty when γ = 0): all the engines ever need is ``γ τ(·|x) · V``.
    """

    n: int
    m: int
    gamma: fmpq
    succ: tuple[tuple[tuple[int, fmpq], ...], ...]
    mu0: tuple[fmpq, ...]
    rows: tuple[tuple[tuple[int, fmpq], ...], ...]   # row x of A − γP: e_{s(x)} − γτ(·|x), non-zeros

    def bellman_matrix(self, policy: Sequence[int]) -> fmpq_mat:
        """``I − γ P_π`` for a deterministic policy (n × n): the policy's rows of ``A − γP``."""
        n, m = self.n, self.m
        matrix = fmpq_mat(n, n)
        for s, a in enumerate(policy):
            for t, v in self.rows[s * m + a]:
                matrix[s, t] = v
        return matrix

    def dense_row(self, x: int) -> list[fmpq]:
        row = [fmpq(0)] * self.n
        for t, v in self.rows[x]:
            row[t] = v
        return row

    def bellman_matrix_stochastic(self, probs: Sequence[Sequence[Fraction]]) -> fmpq_mat:
        n, m = self.n, self.m
        entries = [fmpq(0)] * (n * n)
        for s in range(n):
            entries[s * n + s] += 1
            for a in range(m):
                p = probs[s][a]
                if p:
                    pq = to_fmpq(p)
                    for t, gp in self.succ[s * m + a]:
                        entries[s * n + t] -= pq * gp
        return fmpq_mat(n, n, entries)

    def policy_rows(self, policy: Sequence[int]) -> list[tuple[tuple[int, fmpq], ...]]:
        """The sparse rows of ``I − γ P_π`` for a deterministic policy."""
        m = self.m
        return [self.rows[s * m + a] for s, a in enumerate(policy)]

    def stochastic_rows(self, probs: Sequence[Sequence[Fraction]]) -> list[list[tuple[int, fmpq]]]:
        """The sparse rows of ``I − γ P_π`` for a stochastic policy."""
        m = self.m
        out = []
        for s in range(self.n):
            entries = {s: fmpq(1)}
            for a in range(m):
                p = probs[s][a]
                if p:
                    pq = to_fmpq(p)
                    for t, gp in self.succ[s * m + a]:
                        entries[t] = entries.get(t, fmpq(0)) - pq * gp
            out.append([(t, v) for t, v in sorted(entries.items()) if v != 0])
        return out

    def q_values(self, reward: Sequence[fmpq], values: Sequence[fmpq],
                 pairs: Sequence[int] | None = None) -> list[fmpq]:
        """``Q(x) = R(x) + γ τ(·|x) · V`` for every pair (only for ``pairs``, if given: the other
        entries are then just ``R(x)``)."""
        q = list(reward)
        succ = self.succ
        for x in (range(len(succ)) if pairs is None else pairs):
            row = succ[x]
            if row:
                total = q[x]
                for t, gp in row:
                    total += gp * values[t]
                q[x] = total
        return q


def dynamics(mdp) -> ExactDynamics:
    """The (cached) exact dynamics of ``mdp``."""
    cached = mdp.__dict__.get("_dynamics")
    if cached is not None:
        return cached
    gamma = to_fmpq(mdp.gamma)
    if mdp.gamma == 0:
        succ = tuple(() for _ in range(mdp.n_pairs))
    else:
        succ = tuple(tuple((t, gamma * to_fmpq(p)) for t, p in row) for row in mdp.transitions)
    m = mdp.n_actions
    rows = []
    for x, successors in enumerate(succ):
        entries = {x // m: fmpq(1)}
        for t, gp in successors:
            entries[t] = entries.get(t, fmpq(0)) - gp
        rows.append(tuple((t, v) for t, v in sorted(entries.items()) if v != 0))
    result = ExactDynamics(mdp.n_states, m, gamma, succ, tuple(to_fmpq(p) for p in mdp.initial), tuple(rows))
    object.__setattr__(mdp, "_dynamics", result)  # derived data; the MDP itself never changes
    return result


def fraction_solve(matrix: Sequence[Sequence[Fraction]], rhs: Sequence[Fraction]) -> list[Fraction]:
    """Reference Gaussian elimination over ``Fraction`` (partial pivoting on non-zeros)."""
    n = len(matrix)
    rows = [list(map(Fraction, row)) + [Fraction(b)] for row, b in zip(matrix, rhs)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
        if pivot is None:
            raise RewardcertError("singular matrix in fraction_solve")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        head = rows[col]
        inv = 1 / head[col]
        for r in range(col + 1, n):
            factor = rows[r][col]
            if factor:
                factor *= inv
                target = rows[r]
                for c in range(col, n + 1):
                    target[c] -= factor * head[c]
    solution = [Fraction(0)] * n
    for r in range(n - 1, -1, -1):
        total = rows[r][n] - sum(rows[r][c] * solution[c] for c in range(r + 1, n))
        solution[r] = total / rows[r][r]
    return solution


DENSE_UP_TO = 64
"""Systems up to this many states are solved densely by FLINT; larger ones sparsely (``symbolic/exact/sparse.py``)."""


def bellman_solve(dyn: ExactDynamics, policy, rhs: Sequence[fmpq], *, transpose: bool = False) -> list[fmpq]:
    """Exact ``x`` with ``(I − γP_π) x = rhs`` (or ``(I − γP_π)ᵀ x = rhs``).

    ``policy`` is deterministic (ints) or stochastic (rows of probabilities).
    Small systems use FLINT's dense solve; from ``DENSE_UP_TO`` states on, the
    sparse exact solver, which never builds an ``n×n`` matrix.
    """
    deterministic = bool(policy) and isinstance(policy[0], int)
    if dyn.n <= DENSE_UP_TO:
        matrix = dyn.bellman_matrix(policy) if deterministic else dyn.bellman_matrix_stochastic(policy)
        if transpose:
            matrix = matrix.transpose()
        return column_values(solve(matrix, column(rhs)))
    from .sparse import sparse_solve
    from .sparse import transpose as transposed
    rows = dyn.policy_rows(policy) if deterministic else dyn.stochastic_rows(policy)
    if transpose:
        rows = transposed(rows, dyn.n)
    return sparse_solve(rows, rhs)
