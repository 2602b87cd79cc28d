"""The checker's one linear solver: Gauss–Jordan elimination over ``Fraction``."""

from __future__ import annotations

from fractions import Fraction

from .reading import require


def solve(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """The exact ``x`` with ``rows · x = rhs``.  The checker solves only Bellman systems
    ``(I − γP)x = b`` and their transposes, which are nonsingular for ``γ < 1``; a singular one would
    be rule ``internal``, a rejection.  ``rows`` is consumed."""
    n = len(rows)
    for row, b in zip(rows, rhs):
        row.append(b)
    for col in range(n):
        pivot = next((r for r in range(col, n) if rows[r][col] != 0), None)
        require(pivot is not None, "internal", "singular Bellman system")
        rows[col], rows[pivot] = rows[pivot], rows[col]
        head = rows[col]
        inv = 1 / head[col]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col] * inv
                target = rows[r]
                for c in range(col, n + 1):
                    if head[c]:
                        target[c] -= factor * head[c]
    return [rows[s][n] / rows[s][s] for s in range(n)]
