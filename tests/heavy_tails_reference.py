"""Independent references for the heavy-tail layer: mpmath at 50 digits and exact Fractions, written
here without calling the toolkit.

* ``tilt``: a tilt's gains and KL straight from the definitions (``p ∝ q e^{λT}``, ``Σ p log(p/q)``);
* ``budget_optimum``: the largest gain within ``KL ≤ E`` by a generic constrained optimiser (a
  log-barrier with exponentiated-gradient steps, in floats, assuming nothing about the optimum's
  form), then refined by Newton's method (``mpmath.findroot``) on the full KKT system in
  ``(log p, μ, ν)`` at 50 digits;
* the families of docs/heavy-tails.md, generated from their survival functions.

A context is ``(weight, V, U, Q)`` with lists of Fractions.
"""

from __future__ import annotations

import math
from fractions import Fraction

import mpmath

DIGITS = 50


def mp(q) -> mpmath.mpf:
    q = Fraction(q)
    return mpmath.mpf(q.numerator) / q.denominator


def _column(context, which):
    return context[1] if which == "true" else context[2]


def tilt(contexts, which: str, lam) -> tuple:
    """``(true gain, proxy gain, KL)`` of ``p(·|s) ∝ Q e^{λT}``, at 50 digits."""
    with mpmath.workdps(DIGITS + 10):
        lam = mp(lam)
        gv = gu = kl = mpmath.mpf(0)
        for weight, v, u, q in contexts:
            t = _column((weight, v, u, q), which)
            raw = [mp(qa) * mpmath.exp(lam * mp(ta)) for qa, ta in zip(q, t)]
            z = mpmath.fsum(raw)
            p = [r / z for r in raw]
            w = mp(weight)
            gv += w * mpmath.fsum(pa * mp(va) - mp(qa) * mp(va) for pa, qa, va in zip(p, q, v))
            gu += w * mpmath.fsum(pa * mp(ua) - mp(qa) * mp(ua) for pa, qa, ua in zip(p, q, u))
            kl += w * mpmath.fsum(pa * mpmath.log(pa / mp(qa)) for pa, qa in zip(p, q) if pa > 0)
        return +gv, +gu, +kl


def soft_optimum(contexts, beta) -> tuple:
    return tilt(contexts, "proxy", 1 / Fraction(beta))


def psi(contexts, lam) -> mpmath.mpf:
    """``Σ_s w_s log E_Q e^{λ(V − E_Q V)}``."""
    with mpmath.workdps(DIGITS + 10):
        total = mpmath.mpf(0)
        for weight, v, _, q in contexts:
            mean = mpmath.fsum(mp(qa) * mp(va) for qa, va in zip(q, v))
            total += mp(weight) * mpmath.log(mpmath.fsum(mp(qa) * mpmath.exp(mp(lam) * (mp(va) - mean))
                                                         for qa, va in zip(q, v)))
        return +total


def largest_gain(contexts, which) -> Fraction:
    return sum((Fraction(w) * (max(_column(c, which)) - sum(qa * ta for qa, ta in zip(c[3], _column(c, which))))
                for c in contexts for w in [c[0]]), Fraction(0))


def argmax_kl(contexts, which) -> mpmath.mpf:
    with mpmath.workdps(DIGITS + 10):
        total = mpmath.mpf(0)
        for c in contexts:
            t = _column(c, which)
            mass = sum(qa for qa, ta in zip(c[3], t) if ta == max(t))
            total += mp(c[0]) * -mpmath.log(mp(mass))
        return +total


# -- the constrained optimiser -------------------------------------------------------------------

def _kl_float(p, q, w):
    return sum(ws * sum(pa * math.log(pa / qa) for pa, qa in zip(ps, qs) if pa > 0) for ws, ps, qs in zip(w, p, q))


def _barrier_start(contexts, which, budget: float):
    """A feasible near-optimal point by a log barrier ``f + t log(E − KL)`` and exponentiated-gradient
    ascent with backtracking, ``t → 0``; floats, no assumption on the optimum's form."""
    w = [float(c[0]) for c in contexts]
    q = [[float(x) for x in c[3]] for c in contexts]
    T = [[float(x) for x in _column(c, which)] for c in contexts]
    p = [list(row) for row in q]

    def value(point, t):
        kl = _kl_float(point, q, w)
        if kl >= budget:
            return -math.inf
        return sum(ws * sum(pa * ta for pa, ta in zip(ps, ts)) for ws, ps, ts in zip(w, point, T)) + \
            t * math.log(budget - kl)

    t = 1.0
    for _ in range(40):
        step = 1.0
        for _ in range(300):
            kl = _kl_float(p, q, w)
            scale = t / (budget - kl)
            grads = [[ts[a] - scale * (math.log(ps[a] / qs[a]) + 1) for a in range(len(ps))]
                     for ps, qs, ts in zip(p, q, T)]
            current = value(p, t)
            while step > 1e-12:
                trial = []
                for ps, gs in zip(p, grads):
                    top = max(gs)
                    raw = [pa * math.exp(step * (g - top)) for pa, g in zip(ps, gs)]
                    total = sum(raw)
                    trial.append([r / total for r in raw])
                if value(trial, t) > current:
                    p = trial
                    step *= 1.5
                    break
                step /= 2
            else:
                break
        t /= 3
    return p


def budget_optimum(contexts, which: str, budget) -> mpmath.mpf:
    """``max {Σ_s w_s (E_P T − E_Q T) : Σ_s w_s KL(P_s ‖ Q_s) ≤ E}`` for a budget below the argmax's KL
    (an interior optimum): barrier start, then Newton on the KKT system
    ``w_s T_sa − μ w_s (y_sa − log q_sa + 1) − ν_s = 0``, ``Σ_a e^{y_sa} = 1``,
    ``Σ w_s Σ e^y (y − log q) = E``."""
    start = _barrier_start(contexts, which, float(budget))
    shape = [len(c[3]) for c in contexts]
    with mpmath.workdps(DIGITS + 20):
        w = [mp(c[0]) for c in contexts]
        logq = [[mpmath.log(mp(x)) for x in c[3]] for c in contexts]
        T = [[mp(x) for x in _column(c, which)] for c in contexts]
        y0 = [[mpmath.log(x) for x in row] for row in start]
        # μ from the stationarity differences, ν_s from one output of each context
        num = den = mpmath.mpf(0)
        for ys, lq, ts in zip(y0, logq, T):
            for a in range(1, len(ys)):
                dy = (ys[a] - lq[a]) - (ys[0] - lq[0])
                num += (ts[a] - ts[0]) * dy
                den += dy * dy
        mu0 = num / den
        nu0 = [ws * ts[0] - mu0 * ws * (ys[0] - lq[0] + 1) for ws, ys, lq, ts in zip(w, y0, logq, T)]
        x0 = [v for row in y0 for v in row] + [mu0] + nu0

        def equations(*x):
            out, k = [], 0
            ys = []
            for n in shape:
                ys.append(x[k:k + n])
                k += n
            mu, nus = x[k], x[k + 1:]
            kl = mpmath.mpf(0)
            for s, (row, lq, ts) in enumerate(zip(ys, logq, T)):
                for a in range(len(row)):
                    out.append(w[s] * ts[a] - mu * w[s] * (row[a] - lq[a] + 1) - nus[s])
                out.append(mpmath.fsum(mpmath.exp(v) for v in row) - 1)
                kl += w[s] * mpmath.fsum(mpmath.exp(v) * (v - lq[a]) for a, v in enumerate(row))
            out.append(kl - mp(budget))
            return out

        root = mpmath.findroot(equations, x0, tol=mpmath.mpf(10) ** (-(DIGITS + 10)), maxsteps=100)
        x = [root[i] for i in range(len(x0))]
        gain, k = mpmath.mpf(0), 0
        for s, (n, c) in enumerate(zip(shape, contexts)):
            t = _column(c, which)
            gain += w[s] * mpmath.fsum(mpmath.exp(x[k + a]) * mp(t[a]) - mp(c[3][a]) * mp(t[a]) for a in range(n))
            k += n
        return +gain


# -- the families, from their survival functions -----------------------------------------------

def rounded_power(alpha: Fraction, k: int) -> Fraction:
    """``k^{-α}`` rounded up to ``2^-e``, ``e = 64 + ⌈p·bitlen(k)/q⌉``, by a direct search with ``isqrt``
    (``q ≤ 2``) or exact integer powers."""
    p, q = alpha.numerator, alpha.denominator
    e = 64 + math.ceil(Fraction(p * k.bit_length(), q))
    if q == 1:
        return Fraction(-(-(2 ** e) // k ** p), 2 ** e)
    assert q == 2
    # smallest m with m^2 k^p >= 2^(2e)
    m = math.isqrt(2 ** (2 * e) // k ** p)
    while m * m * k ** p < 2 ** (2 * e):
        m += 1
    while m > 0 and (m - 1) ** 2 * k ** p >= 2 ** (2 * e):
        m -= 1
    return Fraction(m, 2 ** e)


def masses(survival, n: int) -> list[Fraction]:
    s = [survival(k) for k in range(1, n + 1)]
    return [s[k] - s[k + 1] for k in range(n - 1)] + [s[-1]]


def b2(survival, n: int) -> list[tuple]:
    half = Fraction(1, 2)
    q = masses(survival, n)
    V = [Fraction(0), Fraction(1)] + [half] * n
    U = [Fraction(0), Fraction(1)] + [half + k for k in range(1, n + 1)]
    Q = [Fraction(9, 20)] * 2 + [x / 10 for x in q]
    return [(Fraction(1), V, U, Q)]


def product(survival, n: int) -> list[tuple]:
    q = masses(survival, n)
    V = [Fraction(v) for v in (0, 1) for _ in range(n)]
    U = [Fraction(v + k) for v in (0, 1) for k in range(1, n + 1)]
    return [(Fraction(1), V, U, [x / 2 for _ in (0, 1) for x in q])]


def pareto(survival, n: int) -> list[tuple]:
    q = masses(survival, n)
    return [(Fraction(1), [Fraction(-k) for k in range(1, n + 1)], [Fraction(0)] * n, q)]


def subgauss(k: int) -> Fraction:
    return Fraction(1, 2 ** ((k - 1) ** 2))


def fraction(value: mpmath.mpf) -> Fraction:
    """The exact rational value of an mpf (its binary mantissa and exponent), for exact comparisons."""
    sign, man, exp, _ = value._mpf_
    return (-1) ** sign * Fraction(int(man)) * Fraction(2) ** int(exp)


def inside(enclosure, value: mpmath.mpf, slack: Fraction = Fraction(0)) -> bool:
    """``value`` (a 50-digit reference) lies in the enclosure, widened by ``slack``."""
    exact = fraction(value)
    return enclosure.lower - slack <= exact <= enclosure.upper + slack
