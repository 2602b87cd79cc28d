"""Independent high-precision references for the regularised layer: mpmath at 60+ digits.

Soft value iteration to convergence (no Newton, no arb, no rationalisation), the soft optimum
``π̂``, its return under ``R`` by an mpmath linear solve, and its regret.  Nothing here calls the
toolkit beyond reading the MDP's fields.
"""

from __future__ import annotations

import mpmath

DIGITS = 70


def mp(q):
    return mpmath.mpf(q.numerator) / q.denominator


def _succ(mdp, x):
    if mdp.transitions is None:
        return [(x // mdp.n_actions, 1)]
    return mdp.transitions[x]


def soft_optimum(mdp, reward, lam, reference):
    """``(W, π̂)`` by soft value iteration until the update is below 10^-(DIGITS-10)."""
    with mpmath.workdps(DIGITS):
        n, m = mdp.n_states, mdp.n_actions
        g = mp(mdp.gamma)
        lam = mp(lam)
        r = [mp(v) for v in reward]
        ref = [[mp(p) for p in row] for row in reference]
        W = [mpmath.mpf(0)] * n
        tol = mpmath.mpf(10) ** (-(DIGITS - 10))
        for _ in range(100_000):
            Q = [[r[s * m + a] + g * sum(mp(p) * W[t] for t, p in _succ(mdp, s * m + a)) if g else r[s * m + a]
                  for a in range(m)] for s in range(n)]
            new = []
            for s in range(n):
                top = max(Q[s])
                new.append(top + lam * mpmath.log(sum(ref[s][a] * mpmath.exp((Q[s][a] - top) / lam)
                                                      for a in range(m))))
            done = max(abs(a - b) for a, b in zip(new, W)) < tol
            W = new
            if done or not g:
                break
        Q = [[r[s * m + a] + g * sum(mp(p) * W[t] for t, p in _succ(mdp, s * m + a)) if g else r[s * m + a]
              for a in range(m)] for s in range(n)]
        pi = [[ref[s][a] * mpmath.exp((Q[s][a] - W[s]) / lam) for a in range(m)] for s in range(n)]
        return W, pi


def true_return(mdp, pi):
    """``J_R(π)`` by an mpmath solve of ``(I − γP_π) V = R_π``."""
    with mpmath.workdps(DIGITS):
        n, m = mdp.n_states, mdp.n_actions
        g = mp(mdp.gamma)
        A = mpmath.matrix(n, n)
        b = mpmath.matrix(n, 1)
        for s in range(n):
            A[s, s] += 1
            for a in range(m):
                x = s * m + a
                b[s] += pi[s][a] * mp(mdp.reward[x])
                if g:
                    for t, p in _succ(mdp, x):
                        A[s, t] -= g * pi[s][a] * mp(p)
        V = mpmath.lu_solve(A, b)
        return sum(mp(mdp.initial[s]) * V[s] for s in range(n))


def regret(mdp, pi, j_star, j_min):
    with mpmath.workdps(DIGITS):
        return (mp(j_star) - true_return(mdp, pi)) / (mp(j_star) - mp(j_min))
