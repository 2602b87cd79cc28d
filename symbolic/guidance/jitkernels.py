"""The compiled loops behind ``symbolic/guidance/floatjit.py``: the only module that imports numba.

``floatjit.kernel()`` imports it lazily, and only once a search has run long enough for compiled
loops to pay off.  The functions are module-level (not closures), so numba's cache holds one
compiled version of each: a closure that calls another compiled function was compiled afresh in
every process.  ``error_model="numpy"``: a division by zero gives inf or nan, as in numpy, instead
of raising (every divisor here is tested non-zero first anyway).  See ``floatjit`` for what each
one mirrors and why only speed depends on them.
"""

from __future__ import annotations

import numba
import numpy as np

from .pivotstatus import AT_TARGET, GAVE_UP, OPTIMAL, SINGULAR


@numba.njit(cache=True, nogil=True, error_model="numpy")
def gauss_jordan(matrix):
    """Reduce the ``n × (n + k)`` augmented system ``matrix`` in place, with partial pivoting, so
    that its right block holds the solution; False if a pivot is exactly 0 (where numpy raises)."""
    n, width = matrix.shape
    for col in range(n):
        pivot, best = col, abs(matrix[col, col])
        for r in range(col + 1, n):
            if abs(matrix[r, col]) > best:
                pivot, best = r, abs(matrix[r, col])
        if not best > 0.0:
            return False
        if pivot != col:
            for j in range(col, width):
                matrix[col, j], matrix[pivot, j] = matrix[pivot, j], matrix[col, j]
        scale = 1.0 / matrix[col, col]
        for j in range(col, width):
            matrix[col, j] *= scale
        for r in range(n):
            if r != col:
                f = matrix[r, col]
                if f != 0.0:
                    for j in range(col, width):
                        matrix[r, j] -= f * matrix[col, j]
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def refactor(a, c, basis, y, binv, rhs):
    """``binv = a[:, basis]⁻¹``, then the basic values from the flow rows (every other
    variable where it is) and the value ``c·y``: ``(ok, value)``, ok False if singular."""
    n, width = a.shape
    matrix = np.zeros((n, 2 * n))          # [B | I], reduced to [I | B⁻¹]
    for i in range(n):
        for k in range(n):
            matrix[i, k] = a[i, basis[k]]
        matrix[i, n + i] = 1.0
    if not gauss_jordan(matrix):
        return False, 0.0
    for i in range(n):
        for j in range(n):
            binv[i, j] = matrix[i, n + j]
    for k in range(n):
        y[basis[k]] = 0.0
    rest = np.empty(n)
    for i in range(n):
        s = rhs[i]
        for x in range(width):
            if y[x] != 0.0:
                s -= a[i, x] * y[x]
        rest[i] = s
    for k in range(n):
        s = 0.0
        for j in range(n):
            s += binv[k, j] * rest[j]
        y[basis[k]] = s
    value = 0.0
    for x in range(width):
        value += c[x] * y[x]
    return True, value


@numba.njit(cache=True, nogil=True, error_model="numpy")
def eliminate(matrix, out):
    """``out`` solves the ``n × (n+1)`` augmented system ``matrix`` (overwritten); False if singular."""
    if not gauss_jordan(matrix):
        return False
    n = out.shape[0]
    for s in range(n):
        out[s] = matrix[s, n]
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def values(p, r, policy, out):
    """``out = (I − γP_π)⁻¹ R_π`` (``p`` holds ``γτ`` per pair); False if singular."""
    n = out.shape[0]
    m = p.shape[0] // n
    matrix = np.empty((n, n + 1))
    for s in range(n):
        x = s * m + policy[s]
        for t in range(n):
            matrix[s, t] = (1.0 if s == t else 0.0) - p[x, t]
        matrix[s, n] = r[x]
    return eliminate(matrix, out)


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pessimal(p, r, allowed, policy, mu0):
    """Float policy iteration towards the least return over the actions ``allowed[s, a]``
    from ``policy`` (changed in place), as ``FloatPessimal.pessimal``: ``(ok, return)``."""
    n, m = allowed.shape
    v = np.empty(n)
    for _ in range(100):
        if not values(p, r, policy, v):
            return False, 0.0
        changed = False
        for s in range(n):
            best_a, best_q, current = -1, np.inf, 0.0
            for a in range(m):
                x = s * m + a
                q = r[x]
                for t in range(n):
                    q += p[x, t] * v[t]
                if a == policy[s]:
                    current = q
                if allowed[s, a] and q < best_q:
                    best_a, best_q = a, q
            if best_q < current - 1e-12 * (1.0 + abs(current)):
                policy[s] = best_a
                changed = True
        if not changed:
            break
    total = 0.0
    for s in range(n):
        total += mu0[s] * v[s]
    return True, total


@numba.njit(cache=True, nogil=True, error_model="numpy")
def occupancy(P, gamma, allowed, policies, out):
    """For every target ``k``: float policy iteration towards the largest discounted occupancy
    of ``k`` over the actions ``allowed[s, a]``, from ``policies[k]`` (changed in place), with
    ``out[k] = V_k``, ``(I − γP_π) V_k = e_k``; as ``FamilyOccupancy.refine``'s numpy loop, one
    target at a time.  False if a system was singular."""
    n, m = allowed.shape
    matrix = np.empty((n, n + 1))
    v = np.empty(n)
    for k in range(n):
        for _ in range(100):
            for s in range(n):
                a = policies[k, s]
                for t in range(n):
                    matrix[s, t] = (1.0 if s == t else 0.0) - gamma * P[s, a, t]
                matrix[s, n] = 1.0 if s == k else 0.0
            if not eliminate(matrix, v):
                return False
            changed = False
            for u in range(n):
                current = policies[k, u]
                best_a, best_q, q_current = -1, -np.inf, 0.0
                for a in range(m):
                    q = 0.0
                    for t in range(n):
                        q += P[u, a, t] * v[t]
                    q = (1.0 if u == k else 0.0) + gamma * q
                    if a == current:
                        q_current = q
                    if allowed[u, a] and q > best_q:
                        best_a, best_q = a, q
                if best_q > q_current + 1e-12 * (1.0 + abs(q_current)):
                    policies[k, u] = best_a
                    changed = True
            if not changed:
                break
        for t in range(n):
            out[k, t] = v[t]
    return True


@numba.njit(cache=True, nogil=True, error_model="numpy")
def pivot_loop(at, a, c, upper, flower, basis, y, binv, rhs, up, down, c_basic, low_b, up_b, value,
               target, has_target, max_pivots, pivots, since, n_pairs, tol, above_tol, tie, pivot_tol,
               refactor_every):
    """``FloatFamilyLP.solve``'s loop on its arrays, changed in place (``low_b``, ``up_b``: the basic
    variables' bounds; ``since``: pivots since the last refactorisation, which it does itself every
    ``refactor_every``): ``(status, pivots, since, value)``, the status one of ``floatjit``'s."""
    n = binv.shape[0]
    width = at.shape[0]
    inf = np.inf
    mult = np.empty(n)
    d = np.empty(width)
    scores = np.empty(width)
    w = np.empty(n)
    wd = np.empty(n)
    ratios = np.empty(n)
    degenerate = 0
    while True:
        if has_target and value >= target:
            return AT_TARGET, pivots, since, value
        if pivots >= max_pivots:
            return GAVE_UP, pivots, since, value
        # d = c − Aᵀ (c_B B⁻¹), and the pricing score max(d·up, d·down) (a NaN never wins)
        for j in range(n):
            mult[j] = 0.0
        for i in range(n):
            ci = c_basic[i]
            if ci != 0.0:
                for j in range(n):
                    mult[j] += ci * binv[i, j]
        best = -inf
        for x in range(width):
            s = 0.0
            for j in range(n):
                s += at[x, j] * mult[j]
            dx = c[x] - s
            d[x] = dx
            a1 = dx * up[x]
            a2 = dx * down[x]
            score = a1 if a1 >= a2 or a2 != a2 else a2
            scores[x] = score
            if score == score and score > best:
                best = score
        if not best > tol:
            return OPTIMAL, pivots, since, value
        entering = -1
        if degenerate:
            for x in range(width):          # Bland: the first eligible
                if scores[x] > tol:
                    entering = x
                    break
        else:
            # The largest |d|, ties (within rounding) to the first, as the exact simplex does.
            cut = best * (1 - tie)
            if not cut > tol:
                cut = above_tol
            for x in range(width):
                if scores[x] >= cut:
                    entering = x
                    break
        rising = d[entering] > 0.0
        largest = 1.0
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += binv[i, j] * at[entering, j]
            w[i] = s
            wd[i] = s if rising else -s
            if abs(s) > largest:
                largest = abs(s)
        if rising:
            theta = upper[entering] - y[entering]
        else:
            theta = y[entering] - flower[entering]
        ptol = pivot_tol * largest
        least = inf
        for i in range(n):
            # A basic variable falling (wd > 0) may go down to its lower bound, a rising one up to
            # its upper bound; the others (|wd| within the pivot tolerance) do not limit the step.
            v = wd[i]
            if v > ptol:
                ratios[i] = (y[basis[i]] - low_b[i]) / v
            elif v < -ptol:
                ratios[i] = (up_b[i] - y[basis[i]]) / -v
            else:
                ratios[i] = inf
            if ratios[i] < least:
                least = ratios[i]
        if least < inf and least < 0.0:
            least = 0.0
        leave = -1
        if not least >= theta * (1 - tie):
            # The least ratio, ties (within rounding) to the smallest variable index.
            cutoff = least * (1 + tie) + 1e-300
            for i in range(n):
                if ratios[i] <= cutoff and (leave < 0 or basis[i] < basis[leave]):
                    leave = i
            theta = least
        pivots += 1
        if theta > 0:
            y[entering] += theta if rising else -theta
            for i in range(n):
                y[basis[i]] -= theta * wd[i]
            degenerate = 0
        else:
            degenerate += 1
        if leave < 0:
            # The entering variable went from one bound to the other: snap it exactly.
            y[entering] = upper[entering] if rising else flower[entering]
            up[entering] = 1.0 if y[entering] < upper[entering] else 0.0
            down[entering] = -1.0 if y[entering] > flower[entering] else 0.0
        else:
            leaving = basis[leave]
            yl = low_b[leave] if wd[leave] > 0 else up_b[leave]
            y[leaving] = yl
            pivot = w[leave]
            for j in range(n):
                binv[leave, j] /= pivot
            for i in range(n):
                if i != leave:
                    f = w[i]
                    if f != 0.0:
                        for j in range(n):
                            binv[i, j] -= f * binv[leave, j]
            basis[leave] = entering
            c_basic[leave] = c[entering]
            low_b[leave] = flower[entering]
            up_b[leave] = upper[entering]
            up[entering] = 0.0
            down[entering] = 0.0
            if leaving < n_pairs:          # a pair, not a logical: it may enter again
                up[leaving] = 1.0 if yl < upper[leaving] else 0.0
                down[leaving] = -1.0 if yl > flower[leaving] else 0.0
            since += 1
            if since >= refactor_every:
                ok, value = refactor(a, c, basis, y, binv, rhs)
                if not ok:
                    return SINGULAR, pivots, since, value
                since = 0
                continue
        s = 0.0
        for x in range(width):
            s += c[x] * y[x]
        value = s
