"""Exact sparse solves of ``(I − γP_π) x = b`` and its transpose, without an ``n×n`` matrix.

A policy's Bellman matrix ``A = I − γP_π`` has a few non-zeros per row.  The
solve works on its graph (``s → t`` when ``A[s, t] ≠ 0``):

1. **Strongly connected blocks.**  Tarjan's algorithm splits the states into
   strongly connected components in an order where every block comes after
   the blocks it reaches.  Solving the blocks in that order, each one only
   needs the already known values of the blocks below it.  Chains, absorbing
   goals and deterministic moves make most blocks tiny (a single state, or a
   short cycle).
2. **Each block exactly.**  A block of at most ``DENSE_BLOCK`` states is
   solved by FLINT's dense ``fmpq_mat.solve``.  For a larger one, diagonal
   pivots are ordered by least Markowitz cost ``(r − 1)(c − 1)`` so that
   fill-in stays small, on the sparsity pattern alone.  If the fill stays
   sparse, the block is solved by Dixon's p-adic lifting over a sparse LU
   factorisation modulo a 62-bit prime: the integer-scaled system is solved
   modulo ``p`` digit by digit, the rational answer is rebuilt by rational
   reconstruction, and it is accepted only if ``A x = b`` holds exactly
   (a sparse product, cheap).  Exact rational elimination would instead
   carry intermediate numbers far longer than the answer (a 10,000-state
   lake took 140 s that way, 0.9 s this way).  If the fill is dense and the
   block has at most ``DENSE_MAX`` states, FLINT's dense solve (itself
   Dixon's method in C) is faster and is used.

**Why diagonal pivots never vanish.**  Since ``γ < 1``, ``A`` is strictly
diagonally dominant by rows: ``|A[s,s]| = 1 − γP(s|s) > γ(1 − P(s|s)) =
Σ_{t≠s} |A[s,t]|``.  Every principal submatrix of such a matrix (a block)
is too, and a Schur complement after a diagonal pivot is again strictly
diagonally dominant by rows, so the next diagonal entry is non-zero whatever
the order.  The transpose's pivots are the same numbers (the Schur
complement of ``Aᵀ`` is the transpose of ``A``'s), so the same argument
covers occupancies ``(I − γP_π)ᵀ d = μ0``.  A zero pivot is therefore an
internal error, not a numerical accident.

**Size before work.**  The fill-in of the elimination is computed first on
the sparsity pattern alone (sets of indices, no numbers); if it would exceed
``MAX_FILL`` non-zeros the solve is refused with ``ResourceLimit`` before any
rational arithmetic, never aborted by an allocator.  The exact answer itself
can dwarf the model (a 100,000-state chain's values are ``γ^k/(1−γ)``, up to
100,000 digits each), so the bits of the values solved so far are counted
and the solve is refused once they pass ``MAX_ANSWER_BITS``.
"""

from __future__ import annotations

import heapq
import math
from typing import Sequence

from flint import fmpq, fmpq_mat

from ..core.errors import ResourceLimit, RewardcertError

DENSE_BLOCK = 64
"""Blocks up to this many states use FLINT's dense solve (faster there than Python loops)."""

DENSE_MAX = 2000
"""Largest block FLINT's dense solve may take when the sparse elimination would fill in too much."""

DENSE_FILL = 8
"""A block up to ``DENSE_MAX`` states goes dense when its fill-in exceeds ``size² / DENSE_FILL``."""

MAX_ANSWER_BITS = 2 ** 30
"""Most bits (numerators plus denominators, 128 MiB) the exact values of one solve may hold in total."""

MAX_FILL = 3_000_000
"""Most non-zeros (original plus fill-in) the sparse elimination of one block may create."""

SparseRows = Sequence[Sequence[tuple[int, fmpq]]]
"""Row ``i`` as ``((j, A[i, j]), ...)`` over its non-zeros."""

ZERO = fmpq(0)


def transpose(rows: SparseRows, n: int) -> list[list[tuple[int, fmpq]]]:
    out: list[list[tuple[int, fmpq]]] = [[] for _ in range(n)]
    for i, row in enumerate(rows):
        for j, v in row:
            out[j].append((i, v))
    return out


def strongly_connected_blocks(rows: SparseRows) -> list[list[int]]:
    """Tarjan's components of ``i → j`` (``A[i, j] ≠ 0``, ``i ≠ j``), each after every block it reaches.

    Iterative, so a 100,000-state chain does not hit Python's recursion limit.
    """
    n = len(rows)
    index = [-1] * n
    low = [0] * n
    on_stack = [False] * n
    stack: list[int] = []
    blocks: list[list[int]] = []
    counter = 0
    for root in range(n):
        if index[root] >= 0:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack[root] = True
        while work:
            v, k = work[-1]
            row = rows[v]
            if k < len(row):
                work[-1] = (v, k + 1)
                w = row[k][0]
                if w == v:
                    continue
                if index[w] < 0:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack[w] = True
                    work.append((w, 0))
                elif on_stack[w] and index[w] < low[v]:
                    low[v] = index[w]
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                if low[v] < low[parent]:
                    low[parent] = low[v]
            if low[v] == index[v]:
                block = []
                while True:
                    w = stack.pop()
                    on_stack[w] = False
                    block.append(w)
                    if w == v:
                        break
                blocks.append(block)
    return blocks


def _pivot_order(pattern: dict[int, set[int]], limit: int) -> tuple[list[int], int]:
    """Diagonal pivot order by least Markowitz cost, simulated on the pattern, and the non-zeros it creates
    (original plus fill-in); refuse past ``limit`` non-zeros."""
    cols: dict[int, set[int]] = {j: set() for j in pattern}
    for i, row in pattern.items():
        for j in row:
            cols[j].add(i)
    nnz = sum(len(row) for row in pattern.values())
    heap = [((len(pattern[i]) - 1) * (len(cols[i]) - 1), i) for i in pattern]
    heapq.heapify(heap)
    done: set[int] = set()
    order = []
    while heap:
        cost, p = heapq.heappop(heap)
        if p in done:
            continue
        current = (len(pattern[p]) - 1) * (len(cols[p]) - 1)
        if current != cost:  # stale entry: its cost changed since it was pushed
            heapq.heappush(heap, (current, p))
            continue
        done.add(p)
        order.append(p)
        prow = pattern.pop(p)
        prow.discard(p)
        pcol = cols.pop(p)
        pcol.discard(p)
        for j in prow:
            cols[j].discard(p)
        touched = set(prow)
        for i in pcol:
            row = pattern[i]
            row.discard(p)
            before = len(row)
            row |= prow
            nnz += len(row) - before
            for j in prow:
                cols[j].add(i)
            touched.add(i)
        if nnz > limit:
            raise ResourceLimit(f"exact sparse elimination of a {len(order) + len(pattern)}-state block "
                                f"would create more than {limit:,} non-zeros; the model is too large "
                                "for exact evaluation on this machine")
        for i in touched:
            if i in pattern:
                heapq.heappush(heap, ((len(pattern[i]) - 1) * (len(cols[i]) - 1), i))
    return order, nnz


PRIMES = (4611686018427387847, 4611686018427387817, 4611686018427387787, 4611686018427387761)
"""The four largest primes below 2^62: the moduli of the p-adic solve (another is tried if a pivot vanishes)."""


class _Unlucky(Exception):
    """A pivot is divisible by the prime: try the next one (never happens in practice)."""


def _factor_mod(rows: dict[int, dict[int, int]], order: list[int], prime: int):
    """Sparse LU of an integer matrix modulo ``prime`` with diagonal pivots in ``order``."""
    pattern = {i: {j: v % prime for j, v in row.items() if v % prime} for i, row in rows.items()}
    cols: dict[int, set[int]] = {j: set() for j in pattern}
    for i, row in pattern.items():
        for j in row:
            cols[j].add(i)
    lower: list[list[tuple[int, int]]] = []
    upper: list[tuple[int, int, list[tuple[int, int]]]] = []
    for p in order:
        prow = pattern.pop(p)
        pivot = prow.pop(p, 0)
        if pivot == 0:
            raise _Unlucky
        inverse = pow(pivot, -1, prime)
        for j in prow:
            cols[j].discard(p)
        column = []
        for i in cols.pop(p):
            if i == p:
                continue
            row = pattern[i]
            factor = row.pop(p) * inverse % prime
            column.append((i, factor))
            for j, v in prow.items():
                value = (row.get(j, 0) - factor * v) % prime
                if value:
                    if j not in row:
                        cols[j].add(i)
                    row[j] = value
                elif j in row:
                    del row[j]
                    cols[j].discard(i)
        lower.append(column)
        upper.append((p, inverse, list(prow.items())))
    return lower, upper


def _solve_mod(lower, upper, order: list[int], rhs: list[int], prime: int) -> list[int]:
    r = [v % prime for v in rhs]
    for p, column in zip(order, lower):
        rp = r[p]
        if rp:
            for i, f in column:
                r[i] = (r[i] - f * rp) % prime
    z = [0] * len(r)
    for p, inverse, prow in reversed(upper):
        total = r[p]
        for j, v in prow:
            total -= v * z[j]
        z[p] = total * inverse % prime
    return z


def _reconstruct(a: int, modulus: int, bound: int) -> tuple[int, int] | None:
    """``(n, d)`` with ``n ≡ a·d (mod modulus)``, ``|n| ≤ bound``, ``0 < d ≤ bound`` (Wang), or None."""
    r0, r1, t0, t1 = modulus, a % modulus, 0, 1
    while r1 > bound:
        q = r0 // r1
        r0, r1 = r1, r0 - q * r1
        t0, t1 = t1, t0 - q * t1
    if t1 == 0 or abs(t1) > bound:
        return None
    if t1 < 0:
        r1, t1 = -r1, -t1
    return r1, t1


def _dixon(rows: dict[int, dict[int, fmpq]], rhs: list[fmpq], order: list[int]) -> list[fmpq]:
    """Exact solution by p-adic lifting (Dixon) over a sparse LU modulo one prime, then exact verification.

    The rows are scaled to integers; ``x`` is lifted digit by digit in base
    ``p`` and rebuilt by rational reconstruction with a common denominator.
    The candidate is accepted only if ``A x = b`` holds exactly, so the
    reconstruction's heuristics can cost time, never correctness; the
    Hadamard bound on the answer limits the number of lifting steps.
    """
    size = len(rhs)
    int_rows: dict[int, dict[int, int]] = {}
    int_rhs = []
    for i in range(size):
        row = rows[i]
        scale = 1
        for v in (*row.values(), rhs[i]):
            q = int(v.q)
            scale = scale * q // math.gcd(scale, q)
        int_rows[i] = {j: int(v.p) * (scale // int(v.q)) for j, v in row.items()}
        int_rhs.append(int(rhs[i].p) * (scale // int(rhs[i].q)))
    # Hadamard: |det A| and every Cramer numerator are at most H = Π_i max(‖row_i‖, |b_i|) (+1 for safety).
    log_h = sum(math.log2(1 + math.isqrt(sum(v * v for v in row.values()) + int_rhs[i] ** 2))
                for i, row in int_rows.items()) + 1
    for prime in PRIMES:
        try:
            lower, upper = _factor_mod(int_rows, order, prime)
        except _Unlucky:
            continue
        max_steps = int((2 * log_h + 2) / math.log2(prime)) + 2
        lifted, modulus, residual = [0] * size, 1, list(int_rhs)
        next_try, steps = 1, 0
        while steps < max_steps:
            z = _solve_mod(lower, upper, order, residual, prime)
            for i in range(size):
                if z[i]:
                    lifted[i] += z[i] * modulus
            modulus *= prime
            steps += 1
            for i, row in int_rows.items():
                total = residual[i]
                for j, v in row.items():
                    if z[j]:
                        total -= v * z[j]
                residual[i] = total // prime
            if steps >= next_try or steps == max_steps:
                next_try = steps + max(1, steps // 2)
                answer = _candidate(int_rows, int_rhs, lifted, modulus)
                if answer is not None:
                    return answer
        raise RewardcertError("internal error: p-adic lifting did not verify within the Hadamard bound")
    raise RewardcertError("internal error: every prime divides a pivot in an exact sparse solve")


def _candidate(int_rows, int_rhs, lifted: list[int], modulus: int) -> list[fmpq] | None:
    """Rebuild ``x`` from ``x mod modulus`` with one running common denominator; verify ``A x = b`` exactly."""
    bound = math.isqrt(modulus // 2)
    denominator = 1
    numerators = []
    for a in lifted:
        v = a * denominator % modulus
        if v <= bound:
            numerators.append(v)
            continue
        if modulus - v <= bound:
            numerators.append(v - modulus)
            continue
        found = _reconstruct(v, modulus, bound)
        if found is None:
            return None
        n, d = found
        if d * denominator > bound:
            return None
        numerators = [u * d for u in numerators]
        numerators.append(n)
        denominator *= d
    for i, row in int_rows.items():
        if sum(v * numerators[j] for j, v in row.items()) != denominator * int_rhs[i]:
            return None
    return [fmpq(u, denominator) for u in numerators]


def sparse_solve(rows: SparseRows, rhs: Sequence[fmpq], *, dense_block: int | None = None,
                 max_fill: int | None = None) -> list[fmpq]:
    """Exact ``x`` with ``A x = rhs`` for a strictly row-diagonally-dominant ``A`` given by sparse rows
    (or the transpose of one).  ``dense_block`` and ``max_fill`` default to the module's constants."""
    dense_block = DENSE_BLOCK if dense_block is None else dense_block
    max_fill = MAX_FILL if max_fill is None else max_fill
    n = len(rows)
    x: list[fmpq | None] = [None] * n
    answer_bits = 0

    def account(values) -> None:
        # Exact values can be far longer than the model (a chain's are γ^k); stop before they fill memory.
        nonlocal answer_bits
        answer_bits += sum(v.p.bit_length() + v.q.bit_length() for v in values)
        if answer_bits > MAX_ANSWER_BITS:
            raise ResourceLimit(f"the exact values of this {n}-state system need more than {MAX_ANSWER_BITS:,} "
                                "bits; the model is too large for exact evaluation on this machine")

    for block in strongly_connected_blocks(rows):
        if len(block) == 1:
            s = block[0]
            diagonal, total = ZERO, rhs[s]
            for t, v in rows[s]:
                if t == s:
                    diagonal = v
                else:
                    total -= v * x[t]
            if diagonal == 0:
                raise RewardcertError("internal error: zero pivot in an exact sparse solve")
            x[s] = total / diagonal
            account((x[s],))
            continue
        where = {s: k for k, s in enumerate(block)}
        local_rhs = []
        local_rows: dict[int, dict[int, fmpq]] = {}
        for s in block:
            total = rhs[s]
            row: dict[int, fmpq] = {}
            for t, v in rows[s]:
                k = where.get(t)
                if k is None:
                    total -= v * x[t]
                else:
                    row[k] = v
            local_rows[where[s]] = row
            local_rhs.append(total)
        size = len(block)
        order: list[int] = []
        if size > dense_block:
            pattern = {i: set(row) for i, row in local_rows.items()}
            if size <= DENSE_MAX:
                try:
                    order, nnz = _pivot_order(pattern, max(size * size // DENSE_FILL, 4 * size))
                except ResourceLimit:
                    pass  # the fill is dense: FLINT's dense solve is faster (and the block is small enough)
            else:
                order, nnz = _pivot_order(pattern, max_fill)
        if not order:
            entries = [ZERO] * (size * size)
            for i, row in local_rows.items():
                for k, v in row.items():
                    entries[i * size + k] = v
            try:
                solution = fmpq_mat(size, size, entries).solve(fmpq_mat(size, 1, local_rhs))
            except ZeroDivisionError:
                raise RewardcertError("internal error: singular block in an exact sparse solve") from None
            for k, s in enumerate(block):
                x[s] = solution[k, 0]
            account(x[s] for s in block)
            continue
        solution = _dixon(local_rows, local_rhs, order)
        for k, s in enumerate(block):
            x[s] = solution[k]
        account(solution)
    return x  # type: ignore[return-value]
